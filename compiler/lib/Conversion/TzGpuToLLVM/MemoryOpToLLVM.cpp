//===- MemoryOpToLLVM.cpp - addptr, masked loads/stores, atomics ---------===//
//
// Each register of a pointer tile is a global address; a masked access is a
// branch around the access (ptxas turns it into a predicated instruction).
// Side effects happen once per element: registers and threads that hold a
// copy of an element (zero bases of the layout) do not write it, and a
// scalar store or atomic is done by thread 0 alone.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

// Memory holds i1 as a byte.
Type memoryType(Type elem) {
  return elem.isInteger(1) ? IntegerType::get(elem.getContext(), 8) : elem;
}


int numRegistersOf(Type t) {
  auto tile = dyn_cast<RankedTensorType>(t);
  return tile ? layoutOf(tile).numRegisters() : 1;
}

// Where this thread must not perform a side effect on register `reg` of a
// value of type `t` (a copy of an element another thread or register
// handles). nullptr: no predicate needed.
Value ownerPredicate(OpBuilder &b, Location loc, Type t) {
  auto tile = dyn_cast<RankedTensorType>(t);
  if (!tile)
    return isFirstThread(b, loc);
  LinearLayout layout = layoutOf(tile);
  if (layout.zeroBits(LinearLayout::InDim::Lane).empty() && layout.zeroBits(LinearLayout::InDim::Warp).empty())
    return {};
  return isCanonicalThread(b, loc, layout, threadIds(b, loc));
}

bool skipsRegister(Type t, int reg) {
  auto tile = dyn_cast<RankedTensorType>(t);
  return tile && !isCanonicalRegister(layoutOf(tile), reg);
}

Value andOpt(OpBuilder &b, Location loc, Value a, Value c) {
  if (!a)
    return c;
  if (!c)
    return a;
  return arith::AndIOp::create(b, loc, a, c);
}

Value loadValue(OpBuilder &b, Location loc, Value ptr, Type elem) {
  Value v = LLVM::LoadOp::create(b, loc, memoryType(elem), ptr);
  if (elem.isInteger(1))
    v = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, arith::ConstantIntOp::create(b, loc, 0, 8));
  return v;
}

void storeValue(OpBuilder &b, Location loc, Value ptr, Value v) {
  if (v.getType().isInteger(1))
    v = arith::ExtUIOp::create(b, loc, b.getI8Type(), v);
  LLVM::StoreOp::create(b, loc, v, ptr);
}

Value zeroOf(OpBuilder &b, Location loc, Type type) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, 0.0));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, 0));
}

struct AddPtrOpLowering : OpConversionPattern<tz::AddPtrOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::AddPtrOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elem = memoryType(pointeeOf(op.getType()));
    auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext(), kGlobalAddressSpace);
    SmallVector<Value> values;
    for (auto [p, o] : llvm::zip_equal(adaptor.getPtr(), adaptor.getOffset()))
      values.push_back(LLVM::GEPOp::create(rewriter, loc, ptrType, elem, p, ValueRange{o}));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct LoadOpLowering : OpConversionPattern<tz::LoadOp> {
  LoadOpLowering(TypeConverter &tc, MLIRContext *ctx, const AxisInfoAnalysis &axis)
      : OpConversionPattern(tc, ctx), axis(axis) {}
  const AxisInfoAnalysis &axis;

  LogicalResult matchAndRewrite(tz::LoadOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elem = tz::getElementTypeOrSelf(op.getType());
    int n = numRegistersOf(op.getType());
    int width = vectorWidth(op.getPtr().getType(), op.getPtr(), op.getMask(), axis);
    SmallVector<Value> values;
    for (int r = 0; r < n; r += width) {
      Value ptr = adaptor.getPtr()[r];
      Value mask = op.getMask() ? adaptor.getMask()[r] : Value();
      if (width == 1) {
        Value other = op.getOther() ? adaptor.getOther()[r] : Value();
        if (mask && !other)
          other = zeroOf(rewriter, loc, elem);
        values.push_back(guarded(
            rewriter, loc, mask, elem, [&](OpBuilder &b) { return loadValue(b, loc, ptr, elem); }, other));
        continue;
      }
      auto vecType = VectorType::get({width}, elem);
      Value other;
      if (mask) {
        SmallVector<Value> others;
        for (int i = 0; i < width; ++i)
          others.push_back(op.getOther() ? adaptor.getOther()[r + i] : zeroOf(rewriter, loc, elem));
        other = buildVector(rewriter, loc, vecType, others);
      }
      unsigned align = width * std::max<unsigned>(1, elem.getIntOrFloatBitWidth() / 8);
      Value vec = guarded(
          rewriter, loc, mask, vecType,
          [&](OpBuilder &b) -> Value { return LLVM::LoadOp::create(b, loc, vecType, ptr, align); }, other);
      for (int i = 0; i < width; ++i)
        values.push_back(LLVM::ExtractElementOp::create(rewriter, loc, vec, i32Const(rewriter, loc, i)));
    }
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct StoreOpLowering : OpConversionPattern<tz::StoreOp> {
  StoreOpLowering(TypeConverter &tc, MLIRContext *ctx, const AxisInfoAnalysis &axis)
      : OpConversionPattern(tc, ctx), axis(axis) {}
  const AxisInfoAnalysis &axis;

  LogicalResult matchAndRewrite(tz::StoreOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getValue().getType();
    Value owner = ownerPredicate(rewriter, loc, type);
    int n = numRegistersOf(type);
    int width = vectorWidth(op.getPtr().getType(), op.getPtr(), op.getMask(), axis);
    for (int r = 0; r < n; r += width) {
      if (skipsRegister(type, r))
        continue;
      Value cond = andOpt(rewriter, loc, owner, op.getMask() ? adaptor.getMask()[r] : Value());
      Value ptr = adaptor.getPtr()[r];
      if (width == 1) {
        Value value = adaptor.getValue()[r];
        guardedEffect(rewriter, loc, cond, [&](OpBuilder &b) { storeValue(b, loc, ptr, value); });
        continue;
      }
      Type elem = adaptor.getValue()[r].getType();
      auto vecType = VectorType::get({width}, elem);
      Value vec = buildVector(rewriter, loc, vecType, adaptor.getValue().slice(r, width));
      unsigned align = width * std::max<unsigned>(1, elem.getIntOrFloatBitWidth() / 8);
      guardedEffect(rewriter, loc, cond, [&](OpBuilder &b) { LLVM::StoreOp::create(b, loc, vec, ptr, align); });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

FailureOr<LLVM::AtomicBinOp> atomicBinOp(tz::AtomicKind kind, Type elem) {
  bool isFloat = isa<FloatType>(elem);
  switch (kind) {
  case tz::AtomicKind::Add: return isFloat ? LLVM::AtomicBinOp::fadd : LLVM::AtomicBinOp::add;
  case tz::AtomicKind::Max: return isFloat ? LLVM::AtomicBinOp::fmax : LLVM::AtomicBinOp::max;
  case tz::AtomicKind::Min: return isFloat ? LLVM::AtomicBinOp::fmin : LLVM::AtomicBinOp::min;
  case tz::AtomicKind::Xchg: return LLVM::AtomicBinOp::xchg;
  case tz::AtomicKind::And: if (!isFloat) return LLVM::AtomicBinOp::_and; break;
  case tz::AtomicKind::Or: if (!isFloat) return LLVM::AtomicBinOp::_or; break;
  case tz::AtomicKind::Xor: if (!isFloat) return LLVM::AtomicBinOp::_xor; break;
  }
  return failure();
}

// Atomics return the old value to every copy of the element: the owner
// performs the operation and the result reaches the copies through shared
// memory when the layout has copies (scalars: all threads).
struct AtomicRMWOpLowering : OpConversionPattern<tz::AtomicRMWOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::AtomicRMWOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getValue().getType();
    Type elem = tz::getElementTypeOrSelf(type);
    auto bin = atomicBinOp(op.getKind(), elem);
    if (failed(bin) || elem.isInteger(1))
      return rewriter.notifyMatchFailure(op, "atomic kind not supported for this element type");
    Value owner = ownerPredicate(rewriter, loc, type);
    int n = numRegistersOf(type);
    SmallVector<Value> values;
    for (int r = 0; r < n; ++r) {
      Value cond = andOpt(rewriter, loc, skipsRegister(type, r) ? boolConst(rewriter, loc, false) : owner,
                          op.getMask() ? adaptor.getMask()[r] : Value());
      Value ptr = adaptor.getPtr()[r], value = adaptor.getValue()[r];
      values.push_back(guarded(
          rewriter, loc, cond, elem,
          [&](OpBuilder &b) -> Value {
            return LLVM::AtomicRMWOp::create(b, loc, *bin, ptr, value, LLVM::AtomicOrdering::acq_rel);
          },
          zeroOf(rewriter, loc, elem)));
    }
    rewriter.replaceOpWithMultiple(op, {shareWithCopies(rewriter, loc, op, type, values)});
    return success();
  }

  // Results held by the owners handed to the copies.
  static SmallVector<Value> shareWithCopies(OpBuilder &b, Location loc, Operation *op, Type type,
                                            SmallVector<Value> values) {
    auto tile = dyn_cast<RankedTensorType>(type);
    if (!tile) {
      requireSharedBytes(op, sharedStorageBytes(values[0].getType()));
      Value base = sharedBase(b, loc, op);
      guardedEffect(b, loc, isFirstThread(b, loc),
                    [&](OpBuilder &ib) { storeShared(ib, loc, base, i32Const(ib, loc, 0), values[0]); });
      barrier(b, loc);
      Value v = loadShared(b, loc, base, i32Const(b, loc, 0), values[0].getType());
      barrier(b, loc);
      return {v};
    }
    LinearLayout layout = layoutOf(tile);
    bool hasCopies = !layout.zeroBits(LinearLayout::InDim::Lane).empty() ||
                     !layout.zeroBits(LinearLayout::InDim::Warp).empty() ||
                     !layout.zeroBits(LinearLayout::InDim::Register).empty();
    if (!hasCopies)
      return values;
    // Only canonical registers of canonical threads hold real results:
    // store those, read every register back.
    requireSharedBytes(op, layout.numElements() * sharedStorageBytes(values[0].getType()));
    Value base = sharedBase(b, loc, op);
    ThreadIds ids = threadIds(b, loc);
    storeTileShared(b, loc, base, layout, values, ids, isCanonicalThread(b, loc, layout, ids));
    barrier(b, loc);
    ThreadCoords tc = threadCoords(b, loc, layout, ids);
    SmallVector<Value> out;
    for (int r = 0; r < layout.numRegisters(); ++r)
      out.push_back(loadShared(b, loc, base, linearIndex(b, loc, layout.shape(), registerCoord(b, loc, tc, r)),
                               values[0].getType()));
    barrier(b, loc);
    return out;
  }
};

struct AtomicCASOpLowering : OpConversionPattern<tz::AtomicCASOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::AtomicCASOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getValue().getType();
    Type elem = tz::getElementTypeOrSelf(type);
    if (!elem.isInteger(32) && !elem.isInteger(64))
      return rewriter.notifyMatchFailure(op, "atomic_cas lowers for i32 and i64");
    Value owner = ownerPredicate(rewriter, loc, type);
    int n = numRegistersOf(type);
    SmallVector<Value> values;
    for (int r = 0; r < n; ++r) {
      Value cond = skipsRegister(type, r) ? boolConst(rewriter, loc, false) : owner;
      Value ptr = adaptor.getPtr()[r], cmp = adaptor.getCmp()[r], value = adaptor.getValue()[r];
      values.push_back(guarded(
          rewriter, loc, cond, elem,
          [&](OpBuilder &b) -> Value {
            auto pair = LLVM::AtomicCmpXchgOp::create(b, loc, ptr, cmp, value, LLVM::AtomicOrdering::acq_rel,
                                                      LLVM::AtomicOrdering::monotonic);
            return LLVM::ExtractValueOp::create(b, loc, pair, 0);
          },
          zeroOf(rewriter, loc, elem)));
    }
    rewriter.replaceOpWithMultiple(op, {AtomicRMWOpLowering::shareWithCopies(rewriter, loc, op, type, values)});
    return success();
  }
};

} // namespace

void populateMemoryPatterns(TypeConverter &tc, RewritePatternSet &patterns, const AxisInfoAnalysis &axis) {
  patterns.add<AddPtrOpLowering, AtomicRMWOpLowering, AtomicCASOpLowering>(tc, patterns.getContext());
  patterns.add<LoadOpLowering, StoreOpLowering>(tc, patterns.getContext(), axis);
}

} // namespace terrazzo::tzgpu::lowering
