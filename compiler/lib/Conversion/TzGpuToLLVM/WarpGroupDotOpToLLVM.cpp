//===- WarpGroupDotOpToLLVM.cpp - tzgpu.warp_group_dot as wgmma (sm_90a) --===//
//
// The accumulator of a warpgroup dot is in LinearLayout::mmaAccumulator with
// M a multiple of 16 * numWarps: warp w holds rows 16 w + 16 numWarps i, so
// the warpgroup g = w / 4 owns the 64-row blocks starting at 64 g + 16
// numWarps i, and a thread's registers of block i are consecutive, in the
// order of wgmma's D fragment. Per k step of 16 and per block, one
// wgmma.mma_async m64nNk16 reads B, and A unless it is in registers
// (LinearLayout::mmaOperandA, whose per-warp fragments are mma.sync's),
// from buffers in the 128-byte swizzle (swizzledByteOffset) through matrix
// descriptors. The MMAs of one op form one commit group;
// tzgpu.warp_group_dot_wait retires it.
#include "DotOperands.h"
#include "Patterns.h"
#include "Utility.h"

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

struct WarpGroupDotOpLowering : OpConversionPattern<WarpGroupDotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WarpGroupDotOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    auto cType = cast<RankedTensorType>(op.getC().getType());
    LinearLayout cLayout = layoutOf(cType);
    int64_t N = cType.getShape()[1];
    MemDescType bType = op.getB().getType();
    bool bKMajor = op.getBKMajor();
    int64_t K = bKMajor ? bType.getShape()[1] : bType.getShape()[0];
    bool bf16 = bType.getElementType().isBF16();
    int numWarps = cLayout.numWarps();
    auto aTensor = dyn_cast<RankedTensorType>(op.getA().getType());
    bool aInRegisters = aTensor != nullptr;
    ThreadIds ids = threadIds(b, loc);

    OperandTile bTile{adaptor.getB().front(), bKMajor ? N : K, bKMajor};
    Value bDesc = bTile.descriptor(b, loc);
    OperandTile aTile{Value(), cType.getShape()[0], true};
    Value aDesc;
    if (!aInRegisters) {
      // This warpgroup's A rows start 64 g rows into the tile.
      Value group = arith::ShRUIOp::create(b, loc, ids.warp, i32Const(b, loc, 2));
      aTile.base = sharedByteAddress(b, loc, adaptor.getA().front(),
                                     arith::MulIOp::create(b, loc, group, i32Const(b, loc, 64 * 128)));
      aDesc = aTile.descriptor(b, loc);
    }

    ValueRange aVals = adaptor.getA();
    int perBlock = N / 2; // accumulator registers of one m64nN block
    int blocks = cLayout.numRegisters() / perBlock;
    SmallVector<Value> acc(adaptor.getC().begin(), adaptor.getC().end());
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      Value bStep = advanced(b, loc, bDesc, bTile.offsetOf(0, k0));
      for (int blk = 0; blk < blocks; ++blk) {
        int32_t row = blk * 16 * numWarps; // the register part of the block's rows
        SmallVector<Value> a;
        if (aInRegisters) {
          for (Value v : fragmentFromRegisters(b, loc, aVals, layoutOf(aTensor), row, k0))
            a.push_back(v.getType().isInteger(32) ? v
                                                  : LLVM::BitcastOp::create(b, loc, b.getI32Type(), v).getResult());
        } else {
          a.push_back(advanced(b, loc, aDesc, aTile.offsetOf(row, k0)));
        }
        ArrayRef<Value> blockAcc(acc.begin() + blk * perBlock, perBlock);
        SmallVector<Value> d = issueWgmma(b, loc, blockAcc, a, bStep, bf16, /*bNMajor=*/!bKMajor);
        llvm::copy(d, acc.begin() + blk * perBlock);
      }
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    b.replaceOpWithMultiple(op, {acc});
    return success();
  }
};

// wgmma.wait_group N, with every retired accumulator register passed
// through the same inline assembly: a read of the registers cannot be
// scheduled before the wait (the MMAs write them asynchronously).
struct WarpGroupDotWaitOpLowering : OpConversionPattern<WarpGroupDotWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WarpGroupDotWaitOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &b) const override {
    Location loc = op.getLoc();
    SmallVector<Value> values;
    for (ValueRange input : adaptor.getInputs())
      values.append(input.begin(), input.end());
    std::string text = "wgmma.wait_group.sync.aligned " + std::to_string(op.getPending()) + ";";
    if (values.empty()) {
      NVVM::WgmmaWaitGroupSyncOp::create(b, loc, op.getPending());
      b.eraseOp(op);
      return success();
    }
    std::string constraints;
    SmallVector<Type> types;
    for (Value v : values) {
      types.push_back(v.getType());
      constraints += std::string(constraints.empty() ? "" : ",") + (v.getType().isF32() ? "=f" : "=r");
    }
    for (size_t i = 0; i < values.size(); ++i)
      constraints += "," + std::to_string(i);
    auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), types);
    auto asmOp = LLVM::InlineAsmOp::create(b, loc, resultType, values, text, constraints, /*has_side_effects=*/true,
                                           /*is_align_stack=*/false, LLVM::tailcallkind::TailCallKind::None,
                                           LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
                                           /*operand_attrs=*/ArrayAttr());
    SmallVector<SmallVector<Value>> results;
    size_t next = 0;
    for (ValueRange input : adaptor.getInputs()) {
      SmallVector<Value> out;
      for (size_t i = 0; i < input.size(); ++i)
        out.push_back(LLVM::ExtractValueOp::create(b, loc, asmOp.getResult(0), next++));
      results.push_back(std::move(out));
    }
    b.replaceOpWithMultiple(op, results);
    return success();
  }
};

} // namespace

void populateWarpGroupDotPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<WarpGroupDotOpLowering, WarpGroupDotWaitOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
