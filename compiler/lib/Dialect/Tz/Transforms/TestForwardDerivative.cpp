//===- TestForwardDerivative.cpp - lit access to buildForwardDerivative ---===//
//
// For every func.func with the integer attribute `tz.test.wrt` (an argument
// index), differentiates the first returned value with respect to that
// argument through the body, and returns the derivative as an extra result.
// A failure is reported at the op that could not be differentiated, so lit
// tests check it with --verify-diagnostics.
//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/Tz/Transforms/ForwardDerivative.h"
#include "terrazzo/Dialect/Tz/Transforms/TestPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace terrazzo::tz {

namespace {
struct TestForwardDerivativePass
    : public PassWrapper<TestForwardDerivativePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestForwardDerivativePass)

  StringRef getArgument() const final { return "tz-test-forward-derivative"; }
  StringRef getDescription() const final {
    return "Return the derivative of each tz.test.wrt function's result with respect to that argument";
  }

  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp fn) {
      auto wrt = fn->getAttrOfType<IntegerAttr>("tz.test.wrt");
      if (!wrt)
        return;
      Block &body = fn.getBody().front();
      auto ret = cast<func::ReturnOp>(body.getTerminator());
      SmallVector<Operation *> ops;
      for (Operation &op : body.without_terminator())
        ops.push_back(&op);
      OpBuilder builder(ret);
      DerivativeFailure why;
      FailureOr<Value> d =
          buildForwardDerivative(builder, ops, body.getArgument(wrt.getInt()), ret.getOperand(0), why);
      if (failed(d)) {
        (why.op ? why.op->emitError(why.reason) : fn.emitError(why.reason));
        return signalPassFailure();
      }
      ret->insertOperands(ret.getNumOperands(), *d);
      SmallVector<Type> results(fn.getResultTypes());
      results.push_back(d->getType());
      fn.setType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(), results));
    });
  }
};
} // namespace

void registerTestForwardDerivativePass() { PassRegistration<TestForwardDerivativePass>(); }

} // namespace terrazzo::tz
