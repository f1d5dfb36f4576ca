//===- WarpGroupDotOpToLLVM.cpp - tz.dot as wgmma (sm_90a) ----------------===//
//
// A dot marked tzgpu.wgmma by tzgpu-accelerate-dot runs as warpgroup MMAs.
// Its accumulator is in LinearLayout::mmaAccumulator with M a multiple of
// 16 * numWarps: warp w holds rows 16 w + 16 numWarps i, so the warpgroup
// g = w / 4 owns the 64-row blocks starting at 64 g + 16 numWarps i, and a
// thread's registers of block i are consecutive, in the order of wgmma's
// D fragment. Per k step of 16 and per block, one wgmma.mma_async
// m64nNk16 reads B, and A unless it is in registers (LinearLayout::
// mmaOperandA, whose per-warp fragments are mma.sync's), from shared memory
// in the 128-byte swizzle (swizzledByteOffset) through matrix descriptors.
// Operands already in a swizzled tzgpu-pipeline slot are read there; others
// are written to scratch first, then made visible to the tensor cores by a
// proxy fence and a barrier. All MMAs of the dot form one group, waited for
// before the accumulator is used.
#include "DotOperands.h"
#include "WarpGroupDot.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

// A swizzled tile in shared memory that one operand is read from.
struct OperandTile {
  Value base;   // !llvm.ptr<3>, 1024-byte aligned
  int64_t rows; // stored rows
  bool kMajor;  // K runs along the stored rows (else M or N does)

  // Byte offset of the sub-matrix whose first M or N index is `mn0` (a
  // multiple of 64) and first K index `k0` (a multiple of 16).
  int64_t offsetOf(int64_t mn0, int64_t k0) const {
    return kMajor ? swizzledByteOffset(mn0, k0, rows, 2) : swizzledByteOffset(k0, mn0, rows, 2);
  }

  // The matrix descriptor of the tile's start (PTX ISA, "matrix
  // descriptor"): address >> 4 in bits 0-13, leading byte offset >> 4 in
  // 16-29, stride byte offset >> 4 in 32-45, swizzle mode in 62-63 (1: 128
  // bytes). The stride is 1024 bytes from one group of 8 rows to the next
  // (8 rows along M/N for K-major, along K for M/N-major); the leading
  // offset, from one 64-element block of M/N to the next, is only used
  // M/N-major (K-major swizzled tiles take it as 1).
  Value descriptor(OpBuilder &b, Location loc) const {
    int64_t leading = kMajor ? 16 : rows * 128, stride = 1024;
    uint64_t fields = uint64_t(leading >> 4) << 16 | uint64_t(stride >> 4) << 32 | uint64_t(1) << 62;
    Value addr = LLVM::PtrToIntOp::create(b, loc, b.getI64Type(), base);
    Value start = arith::ShRUIOp::create(b, loc, arith::AndIOp::create(b, loc, addr, i64Const(b, loc, 0x3FFFF)),
                                         i64Const(b, loc, 4));
    return arith::OrIOp::create(b, loc, start, i64Const(b, loc, (int64_t)fields));
  }
};

// `desc` moved `bytes` further (a multiple of 16; no carry out of the
// 14-bit address field, as shared memory is below 256 KB).
Value advanced(OpBuilder &b, Location loc, Value desc, int64_t bytes) {
  return bytes ? arith::AddIOp::create(b, loc, desc, i64Const(b, loc, bytes >> 4)).getResult() : desc;
}

// Writes a tile swizzled, row-major or (with `transposed`) as its
// transpose, in runs of up to 16 bytes.
void writeSwizzled(OpBuilder &b, Location loc, Value base, const LinearLayout &layout, ValueRange values,
                   const ThreadIds &ids, bool transposed) {
  SwizzledPlacement place(b, loc, layout, ids, transposed, 2);
  storeTileRuns(b, loc, layout, values, transposed, 8,
                [&](int r) { return sharedByteAddress(b, loc, base, place.byteOffset(b, loc, r)); });
}

// One wgmma.mma_async m64nNk16 with f32 accumulators `acc` (N / 2 per
// thread): A is a descriptor or four packed registers, B a descriptor,
// read N-major when `bNMajor`.
SmallVector<Value> issueWgmma(OpBuilder &b, Location loc, ArrayRef<Value> acc, ArrayRef<Value> a, Value bDesc,
                              bool bf16, bool bNMajor) {
  int n = acc.size();
  int aFirst = n, bIndex = n + (int)a.size(), scaleIndex = bIndex + 1;
  const char *type = bf16 ? "bf16" : "f16";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "{\n.reg .pred p;\nsetp.ne.b32 p, $" << scaleIndex << ", 0;\n";
  os << "wgmma.mma_async.sync.aligned.m64n" << 2 * n << "k16.f32." << type << "." << type << " {";
  for (int i = 0; i < n; ++i)
    os << (i ? ", $" : "$") << i;
  os << "}, ";
  if (a.size() == 4)
    os << "{$" << aFirst << ", $" << aFirst + 1 << ", $" << aFirst + 2 << ", $" << aFirst + 3 << "}";
  else
    os << "$" << aFirst;
  // scale-d p (accumulate), scale-a 1, scale-b 1, then transpose-a (only
  // for A in shared memory; ours is K-major) and transpose-b.
  os << ", $" << bIndex << ", p, 1, 1" << (a.size() == 4 ? "" : ", 0") << ", " << (bNMajor ? 1 : 0) << ";\n}";

  std::string constraints;
  llvm::raw_string_ostream cs(constraints);
  for (int i = 0; i < n; ++i)
    cs << "=f,";
  for (size_t i = 0; i < a.size(); ++i)
    cs << (a.size() == 4 ? "r," : "l,");
  cs << "l,r";
  for (int i = 0; i < n; ++i)
    cs << "," << i;

  SmallVector<Value> operands(a.begin(), a.end());
  operands.push_back(bDesc);
  operands.push_back(i32Const(b, loc, 1));
  operands.append(acc.begin(), acc.end());
  SmallVector<Type> f32s(n, b.getF32Type());
  auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), f32s);
  auto asmOp = LLVM::InlineAsmOp::create(b, loc, resultType, operands, text, constraints, /*has_side_effects=*/true,
                                         /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
                                         LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                                         /*operand_attrs=*/ArrayAttr());
  SmallVector<Value> out;
  for (int i = 0; i < n; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, asmOp.getResult(0), i));
  return out;
}

} // namespace

SmallVector<Value> lowerWithWgmma(ConversionPatternRewriter &b, tz::DotOp op, ValueRange aVals, ValueRange bVals,
                                  ValueRange accVals, const LinearLayout &aLayout, const LinearLayout &bLayout,
                                  const LinearLayout &cLayout) {
  Location loc = op.getLoc();
  auto aType = cast<RankedTensorType>(op.getA().getType());
  int64_t M = aType.getShape()[0], K = aType.getShape()[1], N = cLayout.shape()[1];
  bool bf16 = aType.getElementType().isBF16();
  int numWarps = cLayout.numWarps();
  DotPlan plan = planDot(op);
  bool aInRegisters = plan.aInRegisters;
  bool aScratch = plan.aScratchBytes > 0, bScratch = plan.bScratchBytes > 0;
  // B is stored [N, K] (K-major) when a buffer holds it transposed or its
  // registers run down K, else [K, N].
  bool bKMajor = plan.bKMajor;
  OperandTile aTile{Value(), M, true}, bTile{Value(), bKMajor ? N : K, bKMajor};
  ThreadIds ids = threadIds(b, loc);
  if (aScratch || bScratch) {
    requireSharedBytes(op, plan.scratchBytes());
    Value base = sharedBase(b, loc, op);
    if (aScratch) {
      aTile.base = base;
      writeSwizzled(b, loc, base, aLayout, aVals, ids, /*transposed=*/false);
    }
    if (bScratch) {
      bTile.base = sharedByteAddress(b, loc, base, i32Const(b, loc, plan.aScratchBytes));
      writeSwizzled(b, loc, bTile.base, bLayout, bVals, ids, /*transposed=*/bKMajor);
    }
    fenceProxyAsync(b, loc);
    barrier(b, loc);
  }
  if (plan.aBuffer)
    aTile.base = bufferBase(b, *plan.aBuffer);
  if (plan.bBuffer)
    bTile.base = bufferBase(b, *plan.bBuffer);

  // This warpgroup's A rows start 64 g rows into the tile.
  Value aDesc, bDesc = bTile.descriptor(b, loc);
  if (!aInRegisters) {
    Value group = arith::ShRUIOp::create(b, loc, ids.warp, i32Const(b, loc, 2));
    aTile.base = sharedByteAddress(b, loc, aTile.base,
                                   arith::MulIOp::create(b, loc, group, i32Const(b, loc, 64 * 128)));
    aDesc = aTile.descriptor(b, loc);
  }

  int perBlock = N / 2; // accumulator registers of one m64nN block
  int blocks = cLayout.numRegisters() / perBlock;
  SmallVector<Value> acc(accVals.begin(), accVals.end());
  NVVM::WgmmaFenceAlignedOp::create(b, loc);
  for (int64_t k0 = 0; k0 < K; k0 += 16) {
    Value bStep = advanced(b, loc, bDesc, bTile.offsetOf(0, k0));
    for (int blk = 0; blk < blocks; ++blk) {
      int32_t row = blk * 16 * numWarps; // the register part of the block's rows
      SmallVector<Value> a;
      if (aInRegisters) {
        for (Value v : fragmentFromRegisters(b, loc, aVals, aLayout, row, k0))
          a.push_back(v.getType().isInteger(32) ? v : LLVM::BitcastOp::create(b, loc, b.getI32Type(), v).getResult());
      } else {
        a.push_back(advanced(b, loc, aDesc, aTile.offsetOf(row, k0)));
      }
      ArrayRef<Value> blockAcc(acc.begin() + blk * perBlock, perBlock);
      SmallVector<Value> d = issueWgmma(b, loc, blockAcc, a, bStep, bf16, /*bNMajor=*/!bKMajor);
      llvm::copy(d, acc.begin() + blk * perBlock);
    }
  }
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  // The next user of the scratch space must not overwrite it while a
  // slower warpgroup's MMAs still read it.
  if (aScratch || bScratch)
    barrier(b, loc);
  return acc;
}

} // namespace terrazzo::tzgpu::lowering
