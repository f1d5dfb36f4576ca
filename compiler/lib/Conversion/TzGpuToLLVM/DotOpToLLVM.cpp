//===- DotOpToLLVM.cpp - tz.dot on CUDA cores ----------------------------===//
//
// The general lowering of a dot, for any layouts and float types: a and b go
// to shared memory, then one loop over k updates every accumulator register
// with fused multiply-adds in the accumulator's type. Rows of a and columns
// of b shared by several registers are loaded once per k. Tensor-core
// lowerings (mma.sync, wgmma) replace this where the shapes and types allow;
// this one is the fallback that always applies.
#include "DotOperands.h"
#include "Patterns.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "llvm/Support/MathExtras.h"

#include <map>

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

using D = LinearLayout::InDim;

Value widen(OpBuilder &b, Location loc, Value v, Type to) {
  if (v.getType() == to)
    return v;
  if (v.getType().getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

// Writes a tile into shared memory with `rowStride` elements per stored
// row (padding rows by 16 bytes keeps ldmatrix free of bank conflicts):
// row-major, or with `transposed` column-major (element (i, j) at
// j * rowStride + i), whichever keeps the registers a thread holds
// consecutive in memory. Such registers are written as one vector of up to
// 16 bytes.
void writeTilePadded(OpBuilder &b, Location loc, Value base, const LinearLayout &layout, ValueRange values,
                     const ThreadIds &ids, int64_t rowStride, bool transposed) {
  int64_t bytes = values.front().getType().getIntOrFloatBitWidth() / 8;
  int maxRun = 1;
  while (2 * maxRun <= 16 / bytes && rowStride % (2 * maxRun) == 0)
    maxRun *= 2;
  auto ptr3 = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
  ThreadCoords tc = threadCoords(b, loc, layout, ids);
  int outer = transposed ? 1 : 0;
  storeTileRuns(b, loc, layout, values, transposed, maxRun, [&](int r) -> Value {
    SmallVector<Value> c = registerCoord(b, loc, tc, r);
    Value index = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, c[outer], i32Const(b, loc, rowStride)), c[1 - outer]);
    return LLVM::GEPOp::create(b, loc, ptr3, values.front().getType(), base, ValueRange{index});
  });
}

// ldmatrix .x4 (or .x2) of b16 8x8 matrices at the address each lane gives;
// `transpose` for the B operand, stored K-major.
SmallVector<Value> loadMatrices(OpBuilder &b, Location loc, Value addr, int count, bool transpose) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Type> i32s(count, b.getI32Type());
  auto type = LLVM::LLVMStructType::getLiteral(ctx, i32s);
  auto layout = NVVM::MMALayoutAttr::get(ctx, transpose ? NVVM::MMALayout::col : NVVM::MMALayout::row);
  auto shape = NVVM::LdStMatrixShapeAttr::get(ctx, 8, 8);
  auto elt = NVVM::LdStMatrixEltTypeAttr::get(ctx, NVVM::LdStMatrixEltType::B16);
  Value m = NVVM::LdMatrixOp::create(b, loc, type, addr, b.getI32IntegerAttr(count), layout, shape, elt);
  SmallVector<Value> out;
  for (int i = 0; i < count; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, m, i));
  return out;
}

// The dot on tensor cores: the result is in LinearLayout::mmaAccumulator,
// so register r holds element r % 4 of the warp's 16x8 block r / 4. A comes
// straight from registers when it is in LinearLayout::mmaOperandA (a
// previous dot's result, or a loop-invariant tile converted once), else
// through padded shared memory and ldmatrix; B always goes through shared
// memory, row-major (ldmatrix.trans) or, when its registers run down K as
// after a transpose, column-major (plain ldmatrix). Each k step of 16 takes
// the A fragments of each 16-row block and the B fragments of each pair of
// 8-column blocks, then issues one mma.sync m16n8k16 per block.
SmallVector<Value> lowerWithMma(ConversionPatternRewriter &b, tz::DotOp op, ValueRange aVals, ValueRange bVals,
                                ValueRange accVals, const LinearLayout &aLayout, const LinearLayout &bLayout,
                                const LinearLayout &cLayout) {
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  auto aType = cast<RankedTensorType>(op.getA().getType());
  int64_t M = aType.getShape()[0], K = aType.getShape()[1], N = cLayout.shape()[1];
  bool isBF16 = aType.getElementType().isBF16();
  DotPlan plan = planDot(op);
  bool aInRegisters = plan.aInRegisters;
  bool bTransposed = plan.bKMajor;
  // Elements per stored row: padded by 8 halves in scratch, and whatever
  // the buffer's encoding says when read from a buffer.
  int64_t strideA = plan.aBuffer ? plan.aBuffer->type().rowStride() : K + 8;
  int64_t strideB = plan.bBuffer ? plan.bBuffer->type().rowStride() : (bTransposed ? K : N) + 8;
  bool aScratch = plan.aScratchBytes > 0, bScratch = plan.bScratchBytes > 0;
  ThreadIds ids = threadIds(b, loc);
  auto ptr3 = LLVM::LLVMPointerType::get(ctx, kSharedAddressSpace);
  Value base, bBase;
  if (aScratch || bScratch) {
    requireSharedBytes(op, plan.scratchBytes());
    base = sharedBase(b, loc, op);
    bBase = sharedByteAddress(b, loc, base, i32Const(b, loc, plan.aScratchBytes));
  }
  if (aScratch)
    writeTilePadded(b, loc, base, aLayout, aVals, ids, strideA, /*transposed=*/false);
  else if (plan.aBuffer)
    base = bufferBase(b, *plan.aBuffer);
  if (bScratch)
    writeTilePadded(b, loc, bBase, bLayout, bVals, ids, strideB, bTransposed);
  else
    bBase = bufferBase(b, *plan.bBuffer);
  if (aScratch || bScratch)
    barrier(b, loc);

  // This warp's block origin (the warp part of the layout), and the
  // ldmatrix row / column each lane addresses.
  using D = LinearLayout::InDim;
  Value warpRow = i32Const(b, loc, 0), warpCol = i32Const(b, loc, 0);
  const auto &warpBases = cLayout.bases(D::Warp);
  for (size_t bit = 0; bit < warpBases.size(); ++bit) {
    Value set = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, ids.warp, i32Const(b, loc, bit)),
                                      i32Const(b, loc, 1));
    warpRow = arith::XOrIOp::create(b, loc, warpRow, arith::MulIOp::create(b, loc, set, i32Const(b, loc, warpBases[bit][0])));
    warpCol = arith::XOrIOp::create(b, loc, warpCol, arith::MulIOp::create(b, loc, set, i32Const(b, loc, warpBases[bit][1])));
  }
  Value laneRow = arith::AndIOp::create(b, loc, ids.lane, i32Const(b, loc, 15));
  Value laneCol = arith::MulIOp::create(b, loc, arith::ShRUIOp::create(b, loc, ids.lane, i32Const(b, loc, 4)),
                                        i32Const(b, loc, 8));

  // Blocks of this warp: block index -> (row, col) offsets (compile time).
  int numBlocks = cLayout.numRegisters() / 4;
  SmallVector<int32_t> rowOffsets, colOffsets;
  for (int blk = 0; blk < numBlocks; ++blk) {
    Coord c = cLayout.applyPart(D::Register, blk * 4);
    if (!llvm::is_contained(rowOffsets, c[0]))
      rowOffsets.push_back(c[0]);
    if (!llvm::is_contained(colOffsets, c[1]))
      colOffsets.push_back(c[1]);
  }
  llvm::sort(rowOffsets);
  llvm::sort(colOffsets);

  auto addressOf = [&](Value tileBase, Value row, Value col, int64_t stride) {
    Value index = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, row, i32Const(b, loc, stride)), col);
    return LLVM::GEPOp::create(b, loc, ptr3, b.getI16Type(), tileBase, ValueRange{index}).getResult();
  };
  auto packedType = isBF16 ? Type(b.getI32Type()) : Type(VectorType::get({2}, b.getF16Type()));
  auto asOperand = [&](Value v) -> Value {
    return isBF16 ? v : LLVM::BitcastOp::create(b, loc, packedType, v).getResult();
  };
  auto f32 = b.getF32Type();
  auto accStruct = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  auto ptxType = isBF16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;

  SmallVector<Value> acc(accVals.begin(), accVals.end());
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    // A fragments per 16-row block.
    std::map<int32_t, SmallVector<Value>> aFrag;
    for (int32_t row : rowOffsets) {
      if (aInRegisters) {
        aFrag[row] = fragmentFromRegisters(b, loc, aVals, aLayout, row, k0);
        continue;
      }
      Value r = arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, warpRow, i32Const(b, loc, row)), laneRow);
      Value c = arith::AddIOp::create(b, loc, laneCol, i32Const(b, loc, k0));
      for (Value m : loadMatrices(b, loc, addressOf(base, r, c, strideA), 4, false))
        aFrag[row].push_back(asOperand(m));
    }
    // B fragments per 8-column block, loaded two blocks at a time: matrices
    // (k0, col), (k0 + 8, col), then the same at col + 8. Row-major B has
    // k along rows (ldmatrix.trans); column-major B has col along rows.
    std::map<int32_t, SmallVector<Value>> bFrag;
    for (size_t j = 0; j < colOffsets.size(); ++j) {
      int32_t col = colOffsets[j];
      if (bFrag.count(col))
        continue;
      bool pair = j + 1 < colOffsets.size() && colOffsets[j + 1] == col + 8;
      Value nBase = arith::AddIOp::create(b, loc, warpCol, i32Const(b, loc, col));
      Value addr;
      if (bTransposed) {
        // Lane l addresses row n = col + (l & 7) + 8 * (l >> 4) at k0 + 8 * ((l >> 3) & 1).
        Value n = arith::AddIOp::create(
            b, loc, nBase,
            arith::AddIOp::create(b, loc, arith::AndIOp::create(b, loc, ids.lane, i32Const(b, loc, 7)), laneCol));
        Value k = arith::AddIOp::create(
            b, loc, i32Const(b, loc, k0),
            arith::AndIOp::create(b, loc, ids.lane, i32Const(b, loc, 8)));
        addr = addressOf(bBase, n, k, strideB);
      } else {
        Value r = arith::AddIOp::create(b, loc, laneRow, i32Const(b, loc, k0));
        addr = addressOf(bBase, r, arith::AddIOp::create(b, loc, nBase, laneCol), strideB);
      }
      SmallVector<Value> m = loadMatrices(b, loc, addr, pair ? 4 : 2, !bTransposed);
      bFrag[col] = {m[0], m[1]};
      if (pair)
        bFrag[col + 8] = {m[2], m[3]};
    }
    for (int blk = 0; blk < numBlocks; ++blk) {
      Coord c = cLayout.applyPart(D::Register, blk * 4);
      SmallVector<Value> av, bv;
      for (Value v : aFrag[c[0]])
        av.push_back(v);
      for (Value v : bFrag[c[1]])
        bv.push_back(asOperand(v));
      SmallVector<Value> cv(acc.begin() + blk * 4, acc.begin() + blk * 4 + 4);
      Value d = NVVM::MmaOp::create(b, loc, accStruct, av, bv, cv, {16, 8, 16}, std::nullopt, std::nullopt,
                                    std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
                                    std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
      for (int i = 0; i < 4; ++i)
        acc[blk * 4 + i] = LLVM::ExtractValueOp::create(b, loc, d, i);
    }
  }
  // The next user of the scratch space must not overwrite it under the
  // ldmatrix of a slower warp.
  if (aScratch || bScratch)
    barrier(b, loc);
  return acc;
}

struct DotOpLowering : OpConversionPattern<tz::DotOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(tz::DotOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto aType = cast<RankedTensorType>(op.getA().getType());
    auto bType = cast<RankedTensorType>(op.getB().getType());
    auto cType = cast<RankedTensorType>(op.getType());
    if (aType.getRank() != 2)
      return rewriter.notifyMatchFailure(op, "batched dots are not lowered");
    LinearLayout aLayout = layoutOf(aType), bLayout = layoutOf(bType), cLayout = layoutOf(cType);
    int64_t M = aType.getShape()[0], K = aType.getShape()[1], N = bType.getShape()[1];
    Type aElem = adaptor.getA().front().getType(), bElem = adaptor.getB().front().getType();
    Type accElem = adaptor.getAcc().front().getType();
    MmaUnit unit = planDot(op).unit;
    if (unit == MmaUnit::Wgmma)
      return op.emitError("a warpgroup MMA reaches the lowering as tzgpu.warp_group_dot: run "
                          "tzgpu-lower-warp-group-dots first");
    if (unit == MmaUnit::MmaSync) {
      rewriter.replaceOpWithMultiple(
          op, {lowerWithMma(rewriter, op, adaptor.getA(), adaptor.getB(), adaptor.getAcc(), aLayout, bLayout, cLayout)});
      return success();
    }

    // a at offset 0, b after it (16-byte aligned).
    int64_t aBytes = (M * K * sharedStorageBytes(aElem) + 15) / 16 * 16;
    requireSharedBytes(op, aBytes + K * N * sharedStorageBytes(bElem));
    Value base = sharedBase(rewriter, loc, op);
    Value bBase = sharedByteAddress(rewriter, loc, base, i32Const(rewriter, loc, aBytes));
    ThreadIds ids = threadIds(rewriter, loc);
    storeTileShared(rewriter, loc, base, aLayout, adaptor.getA(), ids);
    storeTileShared(rewriter, loc, bBase, bLayout, adaptor.getB(), ids);
    barrier(rewriter, loc);

    // Each accumulator register's row (m) and column (n); registers with the
    // same compile-time part share a load.
    ThreadCoords tc = threadCoords(rewriter, loc, cLayout, ids);
    std::map<int32_t, int> rowSlot, colSlot;
    SmallVector<Value> rows, cols;
    SmallVector<int> regRow, regCol;
    for (int r = 0; r < cLayout.numRegisters(); ++r) {
      Coord part = cLayout.applyPart(D::Register, r);
      SmallVector<Value> coord = registerCoord(rewriter, loc, tc, r);
      auto [ri, newRow] = rowSlot.try_emplace(part[0], (int)rows.size());
      if (newRow)
        rows.push_back(arith::MulIOp::create(rewriter, loc, coord[0], i32Const(rewriter, loc, K)));
      auto [ci, newCol] = colSlot.try_emplace(part[1], (int)cols.size());
      if (newCol)
        cols.push_back(coord[1]);
      regRow.push_back(ri->second);
      regCol.push_back(ci->second);
    }

    auto loop = scf::ForOp::create(rewriter, loc, i32Const(rewriter, loc, 0), i32Const(rewriter, loc, K),
                                   i32Const(rewriter, loc, 1), adaptor.getAcc());
    {
      OpBuilder::InsertionGuard g(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      Value k = loop.getInductionVar();
      Value kRow = arith::MulIOp::create(rewriter, loc, k, i32Const(rewriter, loc, N));
      SmallVector<Value> aVals, bVals;
      for (Value row : rows)
        aVals.push_back(widen(rewriter, loc,
                              loadShared(rewriter, loc, base, arith::AddIOp::create(rewriter, loc, row, k), aElem),
                              accElem));
      for (Value col : cols)
        bVals.push_back(widen(rewriter, loc,
                              loadShared(rewriter, loc, bBase, arith::AddIOp::create(rewriter, loc, kRow, col), bElem),
                              accElem));
      SmallVector<Value> next;
      for (int r = 0; r < cLayout.numRegisters(); ++r)
        next.push_back(math::FmaOp::create(rewriter, loc, aVals[regRow[r]], bVals[regCol[r]],
                                           loop.getRegionIterArgs()[r]));
      scf::YieldOp::create(rewriter, loc, next);
    }
    barrier(rewriter, loc);
    rewriter.replaceOpWithMultiple(op, {SmallVector<Value>(loop.getResults())});
    return success();
  }
};

} // namespace

void populateDotPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<DotOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
