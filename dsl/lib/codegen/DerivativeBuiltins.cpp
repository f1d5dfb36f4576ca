// tz.derivative and tz.add_load_gradients: derivatives of a jit function,
// taken by generating the function inline and differentiating the ops it
// produced (tz::buildForwardDerivative, forward mode). The attention
// backward uses them for d score_mod / d score and for the gradients of the
// tensors a score_mod reads.
#include "BuiltinBinder.h"
#include "CompositeBuiltins.h"
#include "terrazzo/Dialect/Tz/Transforms/ForwardDerivative.h"

#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace terrazzo::dsl {

namespace {

// One inlined call of a function with one argument replaced by a fresh SSA
// value (so that differentiating with respect to it does not also move other
// arguments that happen to be the same value), and the ops it generated.
struct TracedCall {
  Value seed;            // the fresh value standing for argument `argnum`
  Value original;        // what the caller passed
  Operation *placeholder = nullptr;
  SmallVector<Operation *> ops;
  CgValue result;

  // Puts the caller's value back in place of the fresh one.
  void release() {
    seed.replaceAllUsesWith(original);
    placeholder->erase();
  }
};

TracedCall traceCall(KernelBuilder &kb, const JitFunction &fn, CallArgs &args, int64_t argnum, Value original,
                     SourceLoc loc) {
  TracedCall t;
  t.original = original;
  auto cast = kb.builder().create<UnrealizedConversionCastOp>(kb.location(loc), original.getType(), original);
  t.placeholder = cast;
  t.seed = cast.getResult(0);
  args.positional[argnum] = CgValue::fromIr(t.seed);
  t.result = kb.inlineCall(fn, args, loc);
  Block *block = kb.builder().getInsertionBlock();
  for (auto it = std::next(Block::iterator(cast.getOperation())); it != kb.builder().getInsertionPoint() && it != block->end(); ++it)
    t.ops.push_back(&*it);
  return t;
}

// "argument 5 ('table')"
std::string argName(int64_t argnum, const JitFunction &fn) {
  std::string name = argnum < (int64_t)fn.numParams() ? " ('" + fn.param(argnum).name + "')" : "";
  return "argument " + std::to_string(argnum) + name;
}
std::string ordinal(int64_t argnum, const JitFunction &fn) { return argName(argnum, fn) + " of '" + fn.name() + "'"; }

// The function's result as a floating-point value, or null when it is a
// number (a constant, whose derivative is zero).
Value floatResult(KernelBuilder &kb, const TracedCall &t, const JitFunction &fn, SourceLoc loc) {
  if (t.result.isNumber())
    return Value();
  if (!t.result.isIr() || !isa<FloatType>(tz::getElementTypeOrSelf(t.result.ir.getType())))
    kb.fail(loc, "cannot differentiate '" + fn.name() + "': it returns " + kb.describe(t.result) +
                     ", not a floating-point value");
  return t.result.ir;
}

} // namespace

void KernelBuilder::failAt(Location at, SourceLoc fallback, const std::string &message) const {
  if (auto fused = dyn_cast<FusedLoc>(at))
    if (!fused.getLocations().empty())
      at = fused.getLocations().front();
  if (auto fl = dyn_cast<FileLineColLoc>(at)) {
    SourceLoc where{(int)fl.getLine(), (int)fl.getColumn()};
    for (auto &src : sources_)
      if (src->filename() == fl.getFilename().str() && !src->lineText(where.line).empty())
        throw DslError(src.get(), where, message);
  }
  fail(fallback, message);
}

CgValue KernelBuilder::callDerivative(const CgValue &d, CallArgs &args, SourceLoc loc) {
  const JitFunction &fn = *d.function;
  int64_t argnum = d.intValue;
  if (argnum >= (int64_t)args.positional.size())
    fail(loc, "tz.derivative of '" + fn.name() + "' with respect to argument " + std::to_string(argnum) +
                  ": pass that argument by position (" + std::to_string(args.positional.size()) + " given)");
  CgValue x = args.positional[argnum];
  Value xv;
  if (x.isNumber())
    xv = materializeAs(x, builder_.getF32Type(), loc);
  else if (x.isIr())
    xv = x.ir;
  if (!xv || !isa<FloatType>(tz::getElementTypeOrSelf(xv.getType())))
    fail(loc, "tz.derivative differentiates with respect to a floating-point value, but " + ordinal(argnum, fn) +
                  " is " + describe(x));
  TracedCall t = traceCall(*this, fn, args, argnum, xv, loc);
  Value out = floatResult(*this, t, fn, loc);
  if (!out) {
    t.release();
    return CgValue::floating(0.0);
  }
  tz::DerivativeFailure why;
  FailureOr<Value> tangent = tz::buildForwardDerivative(builder_, t.ops, t.seed, out, why);
  if (failed(tangent))
    failAt(why.op ? why.op->getLoc() : location(loc), loc,
           why.reason + " (in the derivative of '" + fn.name() + "' with respect to its " + argName(argnum, fn) + ")");
  t.release();
  return CgValue::fromIr(*tangent);
}

void KernelBuilder::addLoadGradients(const JitFunction &fn, CallArgs &args, int64_t argnum, Value gradPtr,
                                     const CgValue &cotangent, SourceLoc loc) {
  if (argnum < 0 || argnum >= (int64_t)args.positional.size())
    fail(loc, "tz.add_load_gradients: argnum " + std::to_string(argnum) + " is out of range for " +
                  std::to_string(args.positional.size()) + " arguments");
  const CgValue &p = args.positional[argnum];
  if (!p.isIr() || !isa<tz::PointerType>(p.ir.getType()))
    fail(loc, "tz.add_load_gradients: " + ordinal(argnum, fn) + " must be a pointer (a tensor argument), not " +
                  describe(p));
  auto gradType = dyn_cast<tz::PointerType>(gradPtr.getType());
  if (!gradType || !isa<FloatType>(gradType.getPointeeType()))
    fail(loc, "tz.add_load_gradients: grad_ptr must be a pointer to floating-point memory, not " +
                  typeName(gradPtr.getType()));
  TracedCall t = traceCall(*this, fn, args, argnum, p.ir, loc);
  Value out = floatResult(*this, t, fn, loc);

  // Pointers computed from the argument, and the loads through them.
  llvm::DenseSet<Value> derived = {t.seed};
  SmallVector<Operation *> pointerOps;
  SmallVector<tz::LoadOp> loads;
  for (Operation *op : t.ops) {
    bool fromArg = llvm::any_of(op->getOperands(), [&](Value v) { return derived.contains(v); });
    if (!fromArg)
      continue;
    if (auto load = dyn_cast<tz::LoadOp>(op)) {
      if (derived.contains(load.getPtr()))
        loads.push_back(load);
      continue;
    }
    if (op->getNumResults() == 1 && isa<tz::PointerType>(tz::getElementTypeOrSelf(op->getResult(0).getType()))) {
      pointerOps.push_back(op);
      derived.insert(op->getResult(0));
      continue;
    }
    failAt(op->getLoc(), loc,
           "tz.add_load_gradients: '" + op->getName().getStringRef().str() + "' uses " + ordinal(argnum, fn) +
               " other than to compute addresses to load from");
  }
  if (!out || loads.empty()) {
    t.release();
    return;
  }

  // The same addresses in the gradient buffer: the pointer arithmetic again,
  // from grad_ptr, with the gradient's element type.
  IRMapping gradAddress;
  gradAddress.map(t.seed, gradPtr);
  for (Operation *op : pointerOps) {
    Operation *copy = builder_.clone(*op, gradAddress);
    copy->getResult(0).setType(tz::replaceElementType(op->getResult(0).getType(), gradType));
  }

  auto outShape = [&](Value v) {
    auto tile = dyn_cast<RankedTensorType>(v.getType());
    return tile ? std::vector<int64_t>(tile.getShape().begin(), tile.getShape().end()) : std::vector<int64_t>{};
  };
  for (tz::LoadOp load : loads) {
    tz::DerivativeFailure why;
    FailureOr<Value> tangent = tz::buildForwardDerivative(builder_, t.ops, load.getResult(), out, why);
    if (failed(tangent))
      failAt(why.op ? why.op->getLoc() : location(loc), loc,
             why.reason + " (in the derivative of '" + fn.name() + "' with respect to what it loads through its " +
                 argName(argnum, fn) + ")");
    // cotangent * d out / d loaded, summed over the elements that share a
    // loaded value (its broadcast dimensions), then added where it was read.
    CgValue contribution = binaryOp(BinOpKind::Mul, cotangent, CgValue::fromIr(*tangent), loc);
    std::vector<int64_t> from = outShape(requireIr(contribution, loc, "the gradient"));
    std::vector<int64_t> to = outShape(load.getResult());
    if (to.empty()) {
      CallArgs sum;
      sum.positional = {contribution};
      contribution = callBuiltin("sum", sum, loc);
    } else {
      if (to.size() != from.size())
        failAt(load.getLoc(), loc,
               "tz.add_load_gradients: a load of " + typeName(load.getResult().getType()) +
                   " in a function returning " + typeName(contribution.ir.getType()) +
                   ": its gradient has no place to go (load tiles of the result's rank, or scalars)");
      for (size_t axis = 0; axis < to.size(); ++axis) {
        if (to[axis] == from[axis])
          continue;
        if (to[axis] != 1)
          failAt(load.getLoc(), loc,
                 "tz.add_load_gradients: the load of " + typeName(load.getResult().getType()) +
                     " does not broadcast to the result " + typeName(contribution.ir.getType()));
        CallArgs sum;
        sum.positional = {contribution, CgValue::integer(axis)};
        sum.keywords = {{"keep_dims", CgValue::boolean(true)}};
        contribution = callBuiltin("sum", sum, loc);
      }
    }
    CallArgs add;
    add.positional = {CgValue::fromIr(gradAddress.lookup(load.getPtr())), contribution};
    if (load.getMask())
      add.keywords = {{"mask", CgValue::fromIr(load.getMask())}};
    callBuiltin("atomic_add", add, loc);
  }
  t.release();
}

void addDerivativeBuiltins(BuiltinTable &t) {
  t["derivative"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "derivative", args, loc, {"fn", "argnum="});
    CgValue fn = b.get("fn");
    if (fn.kind != CgValue::Kind::Function)
      kb.fail(loc, "tz.derivative needs a @jit function, not " + kb.describe(fn));
    int64_t argnum = b.has("argnum") ? b.integer("argnum") : 0;
    if (argnum < 0 || argnum >= (int64_t)fn.function->numParams())
      kb.fail(loc, "tz.derivative: argnum " + std::to_string(argnum) + " is out of range for '" +
                       fn.function->name() + "', which takes " + std::to_string(fn.function->numParams()) +
                       " arguments");
    CgValue d;
    d.kind = CgValue::Kind::Derivative;
    d.function = fn.function;
    d.intValue = argnum;
    return d;
  };
  t["add_load_gradients"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "add_load_gradients", args, loc, {"fn", "args", "argnum", "grad_ptr", "cotangent"});
    CgValue fn = b.get("fn");
    if (fn.kind != CgValue::Kind::Function)
      kb.fail(loc, "tz.add_load_gradients needs a @jit function, not " + kb.describe(fn));
    CgValue fnArgs = b.get("args");
    if (fnArgs.kind != CgValue::Kind::Tuple)
      kb.fail(loc, "tz.add_load_gradients: args must be a tuple of the function's arguments, not " +
                       kb.describe(fnArgs));
    if (!b.has("grad_ptr"))
      return CgValue::none(); // no gradient wanted
    CallArgs call;
    call.positional = fnArgs.elems;
    call.positionalLocs.assign(call.positional.size(), loc);
    kb.addLoadGradients(*fn.function, call, b.integer("argnum"), b.ir("grad_ptr"), b.get("cotangent"), loc);
    return CgValue::none();
  };
}

} // namespace terrazzo::dsl
