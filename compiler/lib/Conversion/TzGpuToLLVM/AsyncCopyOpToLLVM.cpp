//===- AsyncCopyOpToLLVM.cpp - buffers in shared memory -------------------===//
//
// A !tzgpu.memdesc becomes the !llvm.ptr<3> of its first byte:
// tzgpu.local_alloc is the kernel's shared memory plus the offset
// tzgpu-allocate-shared-memory chose, tzgpu.memdesc_index steps whole
// tiles. tzgpu.async_copy: each thread copies the chunks of consecutive
// registers its layout gives it (the width the axis analysis allows, up to
// 16 bytes) with cp.async, zero-filling masked chunks; chunks under 4 bytes
// (below cp.async's smallest) are loaded and stored synchronously instead.
// tzgpu.local_load and tzgpu.local_store read and write a tile element by
// element (a dot reading a buffer uses ldmatrix or wgmma descriptors
// instead, see DotOpToLLVM.cpp). Where each element lives is the buffer
// type's encoding: padded rows or the swizzle.
#include "Patterns.h"
#include "DotOperands.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

BufferAddresses::BufferAddresses(OpBuilder &b, Location loc, Value base, MemDescType buffer,
                                 const LinearLayout &layout)
    : base(base), buffer(buffer) {
  ThreadIds ids = threadIds(b, loc);
  if (buffer.getEncoding().isSwizzled())
    swizzle.emplace(b, loc, layout, ids, /*transposed=*/false, buffer.elementBytes());
  else
    coords = threadCoords(b, loc, layout, ids);
}

Value BufferAddresses::of(OpBuilder &b, Location loc, int reg) const {
  if (swizzle)
    return sharedByteAddress(b, loc, base, swizzle->byteOffset(b, loc, reg));
  SmallVector<Value> c = registerCoord(b, loc, *coords, reg);
  Value index =
      arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, c[0], i32Const(b, loc, buffer.rowStride())), c[1]);
  auto ptr3 = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
  return LLVM::GEPOp::create(b, loc, ptr3, buffer.getElementType(), base, ValueRange{index});
}

namespace {

// Only the 128-byte swizzle has a register placement (SwizzledPlacement).
LogicalResult checkEncodingLowered(Operation *op, MemDescType buffer, ConversionPatternRewriter &rewriter) {
  unsigned swizzle = buffer.getEncoding().getSwizzle();
  if (swizzle != 0 && swizzle != 128)
    return rewriter.notifyMatchFailure(op, "only the 128-byte swizzle is lowered");
  return success();
}

struct LocalAllocOpLowering : OpConversionPattern<LocalAllocOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LocalAllocOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
    std::optional<int64_t> offset = op.getOffset();
    if (!offset)
      return op.emitError("buffer has no offset: run tzgpu-allocate-shared-memory first");
    Location loc = op.getLoc();
    Value base = sharedMemoryBase(rewriter, loc, op);
    rewriter.replaceOp(op, *offset ? sharedByteAddress(rewriter, loc, base, i32Const(rewriter, loc, *offset)) : base);
    return success();
  }
};

struct MemDescIndexOpLowering : OpConversionPattern<MemDescIndexOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MemDescIndexOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MemDescType src = op.getSrc().getType();
    // Tiles of the leading dimension are whole multiples of one tile.
    int64_t step = src.tileBytes() * (src.numTiles() / src.getShape().front());
    Value bytes = arith::MulIOp::create(rewriter, loc, adaptor.getIndex(), i32Const(rewriter, loc, step));
    rewriter.replaceOp(op, sharedByteAddress(rewriter, loc, adaptor.getSrc(), bytes));
    return success();
  }
};

struct AsyncCopyOpLowering : OpConversionPattern<AsyncCopyOp> {
  AsyncCopyOpLowering(TypeConverter &tc, MLIRContext *ctx, const AxisInfoAnalysis &axis)
      : OpConversionPattern(tc, ctx), axis(axis) {}
  const AxisInfoAnalysis &axis;

  LogicalResult matchAndRewrite(AsyncCopyOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MemDescType buffer = op.getDst().getType();
    if (failed(checkEncodingLowered(op, buffer, rewriter)))
      return failure();
    auto ptrType = cast<RankedTensorType>(op.getPtr().getType());
    Type elem = pointeeOf(ptrType);
    LinearLayout layout = layoutOf(ptrType);
    int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
    int width = vectorWidth(ptrType, op.getPtr(), op.getMask(), axis);
    int64_t chunkBytes = width * elemBytes;
    BufferAddresses addresses(rewriter, loc, adaptor.getDst().front(), buffer, layout);
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
  LogicalResult matchAndRewrite(AsyncWaitOp op, OneToNOpAdaptor, ConversionPatternRewriter &rewriter) const override {
    NVVM::CpAsyncWaitGroupOp::create(rewriter, op.getLoc(), op.getPending());
    if (op->getParentOfType<ModuleOp>()->hasAttr(kWgmmaAttrName))
      fenceProxyAsync(rewriter, op.getLoc());
    barrier(rewriter, op.getLoc());
    rewriter.eraseOp(op);
    return success();
  }
};

struct BarrierOpLowering : OpConversionPattern<BarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BarrierOp op, OpAdaptor, ConversionPatternRewriter &rewriter) const override {
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
    MemDescType buffer = op.getSrc().getType();
    if (failed(checkEncodingLowered(op, buffer, rewriter)))
      return failure();
    auto tile = cast<RankedTensorType>(op.getType());
    LinearLayout layout = layoutOf(tile);
    BufferAddresses addresses(rewriter, loc, adaptor.getSrc().front(), buffer, layout);
    SmallVector<Value> values;
    for (int r = 0; r < layout.numRegisters(); ++r)
      values.push_back(LLVM::LoadOp::create(rewriter, loc, tile.getElementType(), addresses.of(rewriter, loc, r)));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct LocalStoreOpLowering : OpConversionPattern<LocalStoreOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(LocalStoreOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MemDescType buffer = op.getDst().getType();
    if (failed(checkEncodingLowered(op, buffer, rewriter)))
      return failure();
    LinearLayout layout = layoutOf(op.getValue().getType());
    ValueRange values = adaptor.getValue();
    Value base = adaptor.getDst().front();
    if (buffer.getEncoding().isSwizzled()) {
      // Runs of registers along a row stay within a 16-byte chunk of the
      // swizzle: one vector store each.
      ThreadIds ids = threadIds(rewriter, loc);
      SwizzledPlacement place(rewriter, loc, layout, ids, /*transposed=*/false, buffer.elementBytes());
      storeTileRuns(rewriter, loc, layout, values, /*transposed=*/false, 16 / buffer.elementBytes(), [&](int r) {
        return sharedByteAddress(rewriter, loc, base, place.byteOffset(rewriter, loc, r));
      });
      fenceProxyAsync(rewriter, loc); // wgmma (the async proxy) may read it next
    } else {
      BufferAddresses addresses(rewriter, loc, base, buffer, layout);
      // Copies of an element (zero register bases) are written once.
      for (int r = 0; r < layout.numRegisters(); ++r)
        if (isCanonicalRegister(layout, r))
          LLVM::StoreOp::create(rewriter, loc, values[r], addresses.of(rewriter, loc, r));
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void populateAsyncCopyPatterns(TypeConverter &tc, RewritePatternSet &patterns, const AxisInfoAnalysis &axis) {
  patterns.add<AsyncCopyOpLowering>(tc, patterns.getContext(), axis);
  patterns.add<LocalAllocOpLowering, MemDescIndexOpLowering, AsyncCommitOpLowering, AsyncWaitOpLowering,
               BarrierOpLowering, LocalLoadOpLowering, LocalStoreOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
