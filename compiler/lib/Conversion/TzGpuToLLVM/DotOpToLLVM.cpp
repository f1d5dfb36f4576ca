//===- DotOpToLLVM.cpp - tz.dot on CUDA cores ----------------------------===//
//
// The general lowering of a dot, for any layouts and float types: a and b go
// to shared memory, then one loop over k updates every accumulator register
// with fused multiply-adds in the accumulator's type. Rows of a and columns
// of b shared by several registers are loaded once per k. Tensor-core
// lowerings (mma.sync, wgmma) replace this where the shapes and types allow;
// this one is the fallback that always applies.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

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

    // a at offset 0, b after it (16-byte aligned).
    int64_t aBytes = (M * K * sharedStorageBytes(aElem) + 15) / 16 * 16;
    requireSharedBytes(op, aBytes + K * N * sharedStorageBytes(bElem));
    Value base = sharedBase(rewriter, loc, op);
    auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext(), kSharedAddressSpace);
    Value bBase = LLVM::GEPOp::create(rewriter, loc, ptrType, rewriter.getI8Type(), base,
                                      ValueRange{i32Const(rewriter, loc, aBytes)});
    ThreadIds ids = threadIds(rewriter, loc);
    auto writeTile = [&](Value tileBase, const LinearLayout &layout, ValueRange values) {
      ThreadCoords tc = threadCoords(rewriter, loc, layout, ids);
      for (int r = 0; r < layout.numRegisters(); ++r)
        if (isCanonicalRegister(layout, r))
          storeShared(rewriter, loc, tileBase, linearIndex(rewriter, loc, layout.shape(), registerCoord(rewriter, loc, tc, r)),
                      values[r]);
    };
    writeTile(base, aLayout, adaptor.getA());
    writeTile(bBase, bLayout, adaptor.getB());
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
