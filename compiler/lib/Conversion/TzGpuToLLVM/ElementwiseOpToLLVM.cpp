//===- ElementwiseOpToLLVM.cpp - per-register arith/math, constants, ids -===//
//
// An elementwise op on tiles becomes the same op on each register: the
// operands share the result's layout, so register i of every operand holds
// the element that register i of the result holds.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

bool hasTileTypes(Operation *op) {
  auto isTile = [](Type t) { return isa<RankedTensorType>(t); };
  return llvm::any_of(op->getOperandTypes(), isTile) || llvm::any_of(op->getResultTypes(), isTile);
}

struct ElementwiseOpLowering : ConversionPattern {
  ElementwiseOpLowering(TypeConverter &tc, MLIRContext *ctx)
      : ConversionPattern(tc, MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *op, ArrayRef<ValueRange> operands,
                                ConversionPatternRewriter &rewriter) const override {
    Dialect *dialect = op->getDialect();
    if (!dialect || !isa<arith::ArithDialect, math::MathDialect>(dialect) || isa<arith::ConstantOp>(op) ||
        op->getNumResults() == 0 || !hasTileTypes(op) || op->getNumRegions() != 0)
      return failure();
    auto resultType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "elementwise op with a scalar result");
    int numRegs = layoutOf(resultType).numRegisters();
    for (ValueRange v : operands)
      if ((int)v.size() != numRegs)
        return rewriter.notifyMatchFailure(op, "operands in a different layout than the result");
    SmallVector<Type> scalarTypes;
    for (Type t : op->getResultTypes())
      scalarTypes.push_back(getTypeConverter()->convertType(cast<RankedTensorType>(t).getElementType()));
    SmallVector<SmallVector<Value>> results(op->getNumResults());
    for (int r = 0; r < numRegs; ++r) {
      OperationState state(op->getLoc(), op->getName());
      for (ValueRange v : operands)
        state.addOperands(v[r]);
      state.addTypes(scalarTypes);
      state.addAttributes(op->getAttrs());
      Operation *scalar = rewriter.create(state);
      for (unsigned i = 0; i < scalar->getNumResults(); ++i)
        results[i].push_back(scalar->getResult(i));
    }
    rewriter.replaceOpWithMultiple(op, results);
    return success();
  }
};

struct ConstantOpLowering : OpConversionPattern<arith::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(arith::ConstantOp op, OneToNOpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type)
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!dense || !dense.isSplat())
      return rewriter.notifyMatchFailure(op, "only splat tile constants are lowered");
    auto scalar = arith::ConstantOp::create(rewriter, op.getLoc(), dense.getSplatValue<TypedAttr>());
    SmallVector<Value> values(layoutOf(type).numRegisters(), scalar);
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct SplatOpLowering : OpConversionPattern<tz::SplatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::SplatOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> values(layoutOf(op.getType()).numRegisters(), adaptor.getSrc().front());
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct MakeRangeOpLowering : OpConversionPattern<tz::MakeRangeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::MakeRangeOp op, OneToNOpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    LinearLayout layout = layoutOf(op.getType());
    ThreadCoords tc = threadCoords(rewriter, loc, layout, threadIds(rewriter, loc));
    Value start = i32Const(rewriter, loc, op.getStart());
    SmallVector<Value> values;
    for (int r = 0; r < layout.numRegisters(); ++r)
      values.push_back(arith::AddIOp::create(rewriter, loc, start, registerCoord(rewriter, loc, tc, r)[0]));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

template <typename SourceOp, typename X, typename Y, typename Z>
struct GridQueryLowering : OpConversionPattern<SourceOp> {
  using OpConversionPattern<SourceOp>::OpConversionPattern;
  LogicalResult matchAndRewrite(SourceOp op, typename SourceOp::Adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Type i32 = rewriter.getI32Type();
    Value v;
    switch (op.getAxis()) {
    case 0: v = X::create(rewriter, op.getLoc(), i32); break;
    case 1: v = Y::create(rewriter, op.getLoc(), i32); break;
    default: v = Z::create(rewriter, op.getLoc(), i32); break;
    }
    rewriter.replaceOp(op, v);
    return success();
  }
};

} // namespace

void populateElementwisePatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ElementwiseOpLowering>(tc, ctx);
  patterns.add<ConstantOpLowering, SplatOpLowering, MakeRangeOpLowering,
               GridQueryLowering<tz::ProgramIdOp, NVVM::BlockIdXOp, NVVM::BlockIdYOp, NVVM::BlockIdZOp>,
               GridQueryLowering<tz::NumProgramsOp, NVVM::GridDimXOp, NVVM::GridDimYOp, NVVM::GridDimZOp>>(tc,
                                                                                                          ctx);
}

} // namespace terrazzo::tzgpu::lowering
