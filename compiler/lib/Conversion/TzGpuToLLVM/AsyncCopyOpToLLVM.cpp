//===- AsyncCopyOpToLLVM.cpp - cp.async into pipelined buffers -----------===//
//
// tzgpu.async_copy: each thread copies the chunks of consecutive registers
// its layout gives it (the width the axis analysis allows, up to 16 bytes)
// with cp.async, zero-filling masked chunks; chunks under 4 bytes (below
// cp.async's smallest) are loaded and stored synchronously instead.
// tzgpu.local_load reads a slot element by element (a dot reading a slot
// uses ldmatrix instead, see DotOpToLLVM.cpp).
#include "Patterns.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

Value pipelinedSlot(OpBuilder &b, Location loc, Operation *user, RankedTensorType tile, int64_t offset,
                    Value slot, bool swizzled) {
  Value index = arith::AddIOp::create(
      b, loc, i32Const(b, loc, offset),
      arith::MulIOp::create(b, loc, slot, i32Const(b, loc, pipelinedSlotBytes(tile, swizzled))));
  return sharedByteAddress(b, loc, pipelinedBase(b, loc, user), index);
}

namespace {

// The address of each register's element in a slot: row-major with padded
// rows, or swizzled.
class SlotAddresses {
public:
  SlotAddresses(OpBuilder &b, Location loc, Value slot, RankedTensorType tile, const LinearLayout &layout,
                bool swizzled)
      : slot(slot), elem(tile.getElementType()), rowStride(pipelinedRowStride(tile)) {
    ThreadIds ids = threadIds(b, loc);
    if (swizzled)
      swizzle.emplace(b, loc, layout, ids, /*transposed=*/false, elem.getIntOrFloatBitWidth() / 8);
    else
      tc = threadCoords(b, loc, layout, ids);
  }
  Value of(OpBuilder &b, Location loc, int reg) const {
    if (swizzle)
      return sharedByteAddress(b, loc, slot, swizzle->byteOffset(b, loc, reg));
    SmallVector<Value> c = registerCoord(b, loc, *tc, reg);
    Value index = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, c[0], i32Const(b, loc, rowStride)), c[1]);
    auto ptr3 = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
    return LLVM::GEPOp::create(b, loc, ptr3, elem, slot, ValueRange{index});
  }

private:
  Value slot;
  Type elem;
  std::optional<ThreadCoords> tc;
  int64_t rowStride;
  std::optional<SwizzledPlacement> swizzle;
};

struct AsyncCopyOpLowering : OpConversionPattern<AsyncCopyOp> {
  AsyncCopyOpLowering(TypeConverter &tc, MLIRContext *ctx, const AxisInfoAnalysis &axis)
      : OpConversionPattern(tc, ctx), axis(axis) {}
  const AxisInfoAnalysis &axis;

  LogicalResult matchAndRewrite(AsyncCopyOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ptrType = cast<RankedTensorType>(op.getPtr().getType());
    Type elem = pointeeOf(ptrType);
    auto tile = RankedTensorType::get(ptrType.getShape(), elem, ptrType.getEncoding());
    LinearLayout layout = layoutOf(ptrType);
    int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
    int width = vectorWidth(ptrType, op.getPtr(), op.getMask(), axis);
    int64_t chunkBytes = width * elemBytes;
    Value slot =
        pipelinedSlot(rewriter, loc, op, tile, op.getOffset(), adaptor.getSlot().front(), op.getSwizzled());
    SlotAddresses addresses(rewriter, loc, slot, tile, layout, op.getSwizzled());
    for (int r = 0; r < layout.numRegisters(); r += width) {
      Value dst = addresses.of(rewriter, loc, r);
      Value src = adaptor.getPtr()[r];
      Value mask = op.getMask() ? adaptor.getMask()[r] : Value();
      if (chunkBytes >= 4) {
        Value srcBytes;
        if (mask)
          srcBytes = arith::SelectOp::create(rewriter, loc, mask, i32Const(rewriter, loc, chunkBytes),
                                             i32Const(rewriter, loc, 0));
        auto modifier = chunkBytes == 16 ? NVVM::LoadCacheModifierKind::CG : NVVM::LoadCacheModifierKind::CA;
        NVVM::CpAsyncOp::create(rewriter, loc, dst, src, rewriter.getI32IntegerAttr(chunkBytes),
                                NVVM::LoadCacheModifierKindAttr::get(rewriter.getContext(), modifier), srcBytes);
        continue;
      }
      // One element at a time, zero where masked.
      Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(elem));
      Value v = guarded(
          rewriter, loc, mask, elem,
          [&](OpBuilder &b) -> Value { return LLVM::LoadOp::create(b, loc, elem, src); }, zero);
      LLVM::StoreOp::create(rewriter, loc, v, dst);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct AsyncCommitOpLowering : OpConversionPattern<AsyncCommitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AsyncCommitOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
    NVVM::CpAsyncCommitGroupOp::create(rewriter, op.getLoc());
    rewriter.eraseOp(op);
    return success();
  }
};

// After the wait, wgmma (the async proxy) may read what cp.async wrote
// through the generic proxy: a proxy fence orders the two.
struct AsyncWaitOpLowering : OpConversionPattern<AsyncWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AsyncWaitOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
    NVVM::CpAsyncWaitGroupOp::create(rewriter, op.getLoc(), op.getPending());
    if (op->getParentOfType<ModuleOp>()->hasAttr(kWgmmaAttrName))
      fenceProxyAsync(rewriter, op.getLoc());
    barrier(rewriter, op.getLoc());
    rewriter.eraseOp(op);
    return success();
  }
};

struct LocalLoadOpLowering : OpConversionPattern<LocalLoadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LocalLoadOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto tile = cast<RankedTensorType>(op.getType());
    LinearLayout layout = layoutOf(tile);
    Value slot =
        pipelinedSlot(rewriter, loc, op, tile, op.getOffset(), adaptor.getSlot().front(), op.getSwizzled());
    SlotAddresses addresses(rewriter, loc, slot, tile, layout, op.getSwizzled());
    SmallVector<Value> values;
    for (int r = 0; r < layout.numRegisters(); ++r)
      values.push_back(LLVM::LoadOp::create(rewriter, loc, tile.getElementType(), addresses.of(rewriter, loc, r)));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

} // namespace

void populateAsyncCopyPatterns(TypeConverter &tc, RewritePatternSet &patterns, const AxisInfoAnalysis &axis) {
  patterns.add<AsyncCopyOpLowering>(tc, patterns.getContext(), axis);
  patterns.add<AsyncCommitOpLowering, AsyncWaitOpLowering, LocalLoadOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
