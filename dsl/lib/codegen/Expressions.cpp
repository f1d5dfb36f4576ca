// Code generation for expressions: names, attributes, calls (builtins and
// inlined jit functions), operators, subscripts and conditional expressions.
#include "CompositeBuiltins.h"
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace terrazzo::dsl {

namespace {
// Python builtins a kernel may call on compile-time values.
const char *const kPythonBuiltins[] = {"min", "max", "abs", "len", "int", "float", "bool",
                                       "print", "range", "isinstance"};
} // namespace

CgValue KernelBuilder::lookupName(const std::string &name, SourceLoc loc) {
  auto &vars = frame().vars;
  auto it = vars.find(name);
  if (it != vars.end()) {
    if (it->second.kind == CgValue::Kind::Undefined)
      fail(loc, it->second.text);
    return it->second;
  }
  if (auto global = frame().fn->resolver().lookup(name)) {
    bool seen = false;
    for (auto &g : globals_)
      seen |= g.name == name && g.resolver == frame().fn->resolverPtr();
    if (!seen)
      globals_.push_back({frame().fn->resolverPtr(), name, *global});
    return hostToCg(*global, loc, "global '" + name + "'");
  }
  for (const char *b : kPythonBuiltins)
    if (name == b)
      return CgValue::builtin(std::string("py.") + b);
  fail(loc, "unknown name '" + name + "'");
}

CgValue KernelBuilder::hostToCg(const HostValue &h, SourceLoc loc, const std::string &what) {
  using K = HostValue::Kind;
  switch (h.kind) {
  case K::Int: return CgValue::integer(h.intValue);
  case K::Float: return CgValue::floating(h.floatValue);
  case K::Bool: return CgValue::boolean(h.boolValue);
  case K::None: return CgValue::none();
  case K::String: return CgValue::string(h.text);
  case K::Dtype: {
    Type t = dtypeFromName(h.text);
    if (!t) {
      std::string why = unsupportedTritonName(h.text);
      fail(loc, what + (why.empty() ? " has unsupported dtype '" + h.text + "'" : ": " + why));
    }
    return CgValue::dtype(t);
  }
  case K::Function: {
    CgValue c;
    c.kind = CgValue::Kind::Function;
    c.function = h.function;
    return c;
  }
  case K::TerrazzoModule: {
    CgValue c;
    c.kind = CgValue::Kind::Module;
    return c;
  }
  case K::Pointer:
    fail(loc, what + " is a tensor, which can only be passed as a kernel argument");
  case K::Unsupported:
    fail(loc, what + " is a Python object of type '" + h.text + "', which cannot be used in a kernel");
  }
  fail(loc, what + " cannot be used in a kernel");
}

CgValue KernelBuilder::eval(const Expr &e) {
  switch (e.kind) {
  case ExprKind::Name:
    return lookupName(e.name, e.loc);
  case ExprKind::Int:
    return CgValue::integer(e.intValue);
  case ExprKind::Float:
    return CgValue::floating(e.floatValue);
  case ExprKind::Bool:
    return CgValue::boolean(e.boolValue);
  case ExprKind::None:
    return CgValue::none();
  case ExprKind::String:
    return CgValue::string(e.name);
  case ExprKind::Attribute:
    return attributeOf(eval(*e.value), e.name, e.loc);
  case ExprKind::Call:
    return evalCall(e);
  case ExprKind::BinOp: {
    // Left before right, as in Python (C++ leaves argument order open).
    CgValue lhs = eval(*e.operands[0]);
    CgValue rhs = eval(*e.operands[1]);
    return binaryOp(e.binOp, lhs, rhs, e.loc);
  }
  case ExprKind::UnaryOp:
    return unaryOp(e.unaryOp, eval(*e.operands[0]), e.loc);
  case ExprKind::Compare:
    return evalCompare(e);
  case ExprKind::BoolOp:
    return evalBoolOp(e);
  case ExprKind::Subscript:
    return evalSubscript(e);
  case ExprKind::Tuple:
  case ExprKind::List: {
    std::vector<CgValue> elems;
    for (auto &op : e.operands)
      elems.push_back(eval(*op));
    return CgValue::tuple(std::move(elems));
  }
  case ExprKind::IfExp:
    return evalIfExp(e);
  case ExprKind::Slice:
    fail(e.loc, "a slice can only appear inside [...]");
  }
  fail(e.loc, "unsupported expression");
}

CgValue KernelBuilder::evalCall(const Expr &e) {
  CgValue callee = eval(*e.value);
  CallArgs args;
  for (auto &a : e.operands) {
    args.positional.push_back(eval(*a));
    args.positionalLocs.push_back(a->loc);
  }
  for (auto &kw : e.keywords) {
    for (auto &seen : args.keywords)
      if (seen.first == kw.name)
        fail(kw.loc, "keyword argument '" + kw.name + "' given twice");
    args.keywords.emplace_back(kw.name, eval(*kw.value));
  }
  return callValue(callee, args, e.loc);
}

CgValue KernelBuilder::callValue(const CgValue &callee, CallArgs &args, SourceLoc loc) {
  switch (callee.kind) {
  case CgValue::Kind::Builtin:
    return callBuiltin(callee.text, args, loc);
  case CgValue::Kind::Method:
    args.positional.insert(args.positional.begin(), callee.elems[0]);
    args.positionalLocs.insert(args.positionalLocs.begin(), loc);
    return callBuiltin(callee.text, args, loc);
  case CgValue::Kind::Function:
    return inlineCall(*callee.function, args, loc);
  case CgValue::Kind::Derivative:
    return callDerivative(callee, args, loc);
  case CgValue::Kind::ConstexprClass:
    if (args.positional.size() != 1 || !args.keywords.empty())
      fail(loc, "tz.constexpr takes one argument");
    if (!args.positional[0].isConstexpr())
      fail(loc, "tz.constexpr needs a compile-time value, not " + describe(args.positional[0]));
    return args.positional[0];
  case CgValue::Kind::Dtype:
    fail(loc, "a dtype is not callable; use x.to(" + typeName(callee.type) + ")");
  default:
    fail(loc, describe(callee) + " is not callable");
  }
}

CgValue KernelBuilder::inlineCall(const JitFunction &fn, CallArgs &args, SourceLoc loc) {
  if (frames_.size() > 64)
    fail(loc, "calls nest too deeply (is '" + fn.name() + "' recursive?)");
  noteSource(fn);
  Frame callee;
  callee.fn = &fn;
  size_t n = fn.numParams();
  if (args.positional.size() > n)
    fail(loc, "'" + fn.name() + "' takes " + std::to_string(n) + " arguments but " +
                  std::to_string(args.positional.size()) + " were given");
  std::vector<std::optional<CgValue>> bound(n);
  for (size_t i = 0; i < args.positional.size(); ++i)
    bound[i] = args.positional[i];
  for (auto &[name, value] : args.keywords) {
    size_t i = 0;
    while (i < n && fn.param(i).name != name)
      ++i;
    if (i == n)
      fail(loc, "'" + fn.name() + "' has no parameter named '" + name + "'");
    if (bound[i])
      fail(loc, "'" + fn.name() + "' got more than one value for '" + name + "'");
    bound[i] = value;
  }
  // Defaults are evaluated in the callee's own module.
  frames_.push_back(std::move(callee));
  for (size_t i = 0; i < n; ++i) {
    const Param &p = fn.param(i);
    if (!bound[i]) {
      if (!p.defaultValue) {
        frames_.pop_back();
        fail(loc, "'" + fn.name() + "' is missing argument '" + p.name + "'");
      }
      bound[i] = eval(*p.defaultValue);
    }
    if (fn.isConstexprParam(i) && !bound[i]->isConstexpr()) {
      frames_.pop_back();
      fail(loc, "argument '" + p.name + "' of '" + fn.name() + "' must be a constexpr, but " +
                    describe(*bound[i]) + " was given");
    }
    frame().vars[p.name] = *bound[i];
  }
  genBlock(fn.definition().body);
  CgValue result = frame().returnValue.value_or(CgValue::none());
  frames_.pop_back();
  return result;
}

CgValue KernelBuilder::evalCompare(const Expr &e) {
  CgValue left = eval(*e.operands[0]);
  CgValue result;
  for (size_t i = 0; i < e.cmpOps.size(); ++i) {
    CgValue right = eval(*e.operands[i + 1]);
    CgValue r = compareOp(e.cmpOps[i], left, right, e.loc);
    result = i == 0 ? r : binaryOp(BinOpKind::BitAnd, result, r, e.loc);
    left = right;
  }
  return result;
}

CgValue KernelBuilder::evalBoolOp(const Expr &e) {
  // Compile-time operands short-circuit as in Python; run-time scalars are
  // combined with and/or on i1 (both sides are evaluated).
  CgValue acc = eval(*e.operands[0]);
  for (size_t i = 1; i < e.operands.size(); ++i) {
    if (acc.isConstexpr()) {
      bool truth = unaryOp(UnaryOpKind::Not, acc, e.loc).boolValue == false;
      bool decided = e.boolOp == BoolOpKind::And ? !truth : truth;
      if (decided)
        return acc;
      acc = eval(*e.operands[i]);
      continue;
    }
    CgValue rhs = eval(*e.operands[i]);
    Value a = toCondition(acc, e.loc);
    Value b = toCondition(rhs, e.operands[i]->loc);
    acc = e.boolOp == BoolOpKind::And ? CgValue::fromIr(builder_.create<arith::AndIOp>(location(e.loc), a, b))
                                      : CgValue::fromIr(builder_.create<arith::OrIOp>(location(e.loc), a, b));
  }
  return acc;
}

CgValue KernelBuilder::evalIfExp(const Expr &e) {
  CgValue cond = eval(*e.operands[0]);
  if (cond.isConstexpr()) {
    bool truth = !unaryOp(UnaryOpKind::Not, cond, e.loc).boolValue;
    return eval(*e.operands[truth ? 1 : 2]);
  }
  CgValue a = eval(*e.operands[1]), b = eval(*e.operands[2]);
  CallArgs args;
  args.positional = {cond, a, b};
  return callBuiltin("where", args, e.loc);
}

CgValue KernelBuilder::evalSubscript(const Expr &e) {
  CgValue base = eval(*e.value);
  if (base.kind == CgValue::Kind::Tuple) {
    if (e.operands.size() != 1 || e.operands[0]->kind == ExprKind::Slice)
      fail(e.loc, "a tuple takes one integer index");
    int64_t i = requireInt(eval(*e.operands[0]), e.operands[0]->loc, "tuple index");
    int64_t n = base.elems.size();
    if (i < 0)
      i += n;
    if (i < 0 || i >= n)
      fail(e.loc, "tuple index " + std::to_string(i) + " out of range for a tuple of " + std::to_string(n));
    return base.elems[i];
  }
  Value v = requireIr(base, e.loc, "the subscripted value");
  auto tile = dyn_cast<RankedTensorType>(v.getType());
  // x[:, None]: full slices keep a dimension, None inserts one of size 1.
  SmallVector<int64_t> shape;
  int64_t source = 0;
  int64_t rank = tile ? tile.getRank() : 0;
  std::vector<int64_t> newAxes;
  for (auto &idx : e.operands) {
    if (idx->kind == ExprKind::None) {
      newAxes.push_back(shape.size());
      shape.push_back(1);
      continue;
    }
    if (idx->kind == ExprKind::Slice &&
        !idx->operands[0] && !idx->operands[1] && !idx->operands[2]) {
      if (source >= rank)
        fail(idx->loc, "too many indices for a " + typeName(v.getType()));
      shape.push_back(tile.getDimSize(source++));
      continue;
    }
    fail(idx->loc, "tiles can only be indexed with ':' and None (to add a dimension)");
  }
  // Dimensions not named keep their place after the indexed ones, as in
  // numpy: on a 2-D tile, x[None] is x[None, :, :] and x[:, None] is x[:, None, :].
  for (; source < rank; ++source)
    shape.push_back(tile.getDimSize(source));
  Type elem = tz::getElementTypeOrSelf(v.getType());
  if (!tile) {
    // A scalar indexed with None becomes a tile of ones.
    return CgValue::fromIr(broadcastTo(v, shape, e.loc));
  }
  Value r = v;
  for (int64_t axis : newAxes) {
    SmallVector<int64_t> s(cast<RankedTensorType>(r.getType()).getShape());
    s.insert(s.begin() + axis, 1);
    r = builder_.create<tz::ExpandDimsOp>(location(e.loc), RankedTensorType::get(s, elem), r, axis);
  }
  return CgValue::fromIr(r);
}

} // namespace terrazzo::dsl
