// Code generation for statements and control flow. Compile-time conditions
// and static_range are resolved while generating; run-time if/for/while
// become scf.if/scf.for/scf.while whose results are the variables the
// branches or the loop body rebind.
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>
#include <set>

using namespace mlir;

namespace terrazzo::dsl {

KernelBuilder::KernelBuilder(MLIRContext &context, ModuleOp module)
    : context_(context), module_(module), builder_(&context) {}

void KernelBuilder::fail(SourceLoc loc, const std::string &message) const {
  const SourceFile *file = currentFunction() ? &currentFunction()->source() : nullptr;
  throw DslError(file, loc, message);
}

Location KernelBuilder::location(SourceLoc loc) const {
  const std::string &file = currentFunction()->source().filename();
  return FileLineColLoc::get(const_cast<MLIRContext *>(&context_), file, loc.line, loc.col);
}

void KernelBuilder::generateKernelBody(const JitFunction &fn, func::FuncOp func,
                                       std::vector<CgValue> params) {
  noteSource(fn);
  Frame f;
  f.fn = &fn;
  for (size_t i = 0; i < fn.numParams(); ++i)
    f.vars[fn.param(i).name] = params[i];
  frames_.push_back(std::move(f));
  builder_.setInsertionPointToEnd(&func.getBody().front());
  genBlock(fn.definition().body);
  if (frame().returnValue && frame().returnValue->kind != CgValue::Kind::None)
    fail(fn.definition().loc, "a kernel cannot return a value");
  builder_.create<func::ReturnOp>(location(fn.definition().loc));
  frames_.pop_back();
}

void KernelBuilder::noteSource(const JitFunction &fn) {
  for (auto &s : sources_)
    if (s == fn.sourcePtr())
      return;
  sources_.push_back(fn.sourcePtr());
}

void collectAssignedNames(const std::vector<StmtPtr> &stmts, std::vector<std::string> &names) {
  auto add = [&](const std::string &n) {
    if (std::find(names.begin(), names.end(), n) == names.end())
      names.push_back(n);
  };
  std::function<void(const Expr &)> addTarget = [&](const Expr &t) {
    if (t.kind == ExprKind::Name)
      add(t.name);
    else if (t.kind == ExprKind::Tuple || t.kind == ExprKind::List)
      for (auto &e : t.operands)
        addTarget(*e);
  };
  for (auto &s : stmts) {
    switch (s->kind) {
    case StmtKind::Assign: case StmtKind::AugAssign: case StmtKind::AnnAssign: case StmtKind::For:
      for (auto &t : s->targets)
        addTarget(*t);
      break;
    default:
      break;
    }
    collectAssignedNames(s->body, names);
    collectAssignedNames(s->orelse, names);
  }
}

void KernelBuilder::genBlock(const std::vector<StmtPtr> &stmts) {
  for (auto &s : stmts) {
    if (frame().returnValue)
      return; // code after a return is dead
    genStmt(*s);
  }
}

void KernelBuilder::assignTarget(const Expr &target, const CgValue &value) {
  if (target.kind == ExprKind::Name) {
    frame().vars[target.name] = value;
    return;
  }
  if (target.kind == ExprKind::Tuple || target.kind == ExprKind::List) {
    if (value.kind != CgValue::Kind::Tuple)
      fail(target.loc, "cannot unpack " + describe(value));
    if (value.elems.size() != target.operands.size())
      fail(target.loc, "cannot unpack a tuple of " + std::to_string(value.elems.size()) + " into " +
                           std::to_string(target.operands.size()) + " names");
    for (size_t i = 0; i < value.elems.size(); ++i)
      assignTarget(*target.operands[i], value.elems[i]);
    return;
  }
  fail(target.loc, "can only assign to names (use tz.store to write memory)");
}

void KernelBuilder::genStmt(const Stmt &s) {
  switch (s.kind) {
  case StmtKind::Expr:
    eval(*s.value);
    return;
  case StmtKind::Assign: {
    CgValue v = eval(*s.value);
    for (auto &t : s.targets)
      assignTarget(*t, v);
    return;
  }
  case StmtKind::AnnAssign:
    if (s.value)
      assignTarget(*s.targets[0], eval(*s.value));
    return;
  case StmtKind::AugAssign: {
    if (s.targets[0]->kind != ExprKind::Name)
      fail(s.loc, "augmented assignment needs a name on the left");
    CgValue cur = lookupName(s.targets[0]->name, s.targets[0]->loc);
    frame().vars[s.targets[0]->name] = binaryOp(s.augOp, cur, eval(*s.value), s.loc);
    return;
  }
  case StmtKind::If:
    genIf(s);
    return;
  case StmtKind::For:
    genFor(s);
    return;
  case StmtKind::While:
    genWhile(s);
    return;
  case StmtKind::Return:
    if (frame().loopDepth > 0)
      fail(s.loc, "'return' inside a loop is not supported");
    if (frame().dynamicIfDepth > 0)
      fail(s.loc, "'return' inside an if with a run-time condition is not supported; "
                  "assign the result to a variable and return it after the if");
    frame().returnValue = s.value ? eval(*s.value) : CgValue::none();
    return;
  case StmtKind::Pass:
    return;
  case StmtKind::Break:
    fail(s.loc, "'break' is not supported in kernels");
  case StmtKind::Continue:
    fail(s.loc, "'continue' is not supported in kernels");
  case StmtKind::Assert: {
    CgValue cond = eval(*s.value);
    std::string msg = s.msg ? eval(*s.msg).text : "assertion failed";
    if (cond.isConstexpr()) {
      if (unaryOp(UnaryOpKind::Not, cond, s.loc).boolValue)
        fail(s.loc, "assertion failed: " + msg);
      return;
    }
    Value c = castTo(materialize(cond, s.loc), builder_.getI1Type(), s.loc);
    builder_.create<tz::AssertOp>(location(s.loc), c, builder_.getStringAttr(msg));
    return;
  }
  case StmtKind::FunctionDef:
    fail(s.loc, "functions cannot be defined inside a kernel; define '" + s.name + "' at module level with @tz.jit");
  case StmtKind::Import:
    fail(s.loc, "'import' is not allowed inside a kernel");
  }
}

//===----------------------------------------------------------------------===//
// if
//===----------------------------------------------------------------------===//

void KernelBuilder::genIf(const Stmt &s) {
  CgValue cond = eval(*s.value);
  if (cond.isConstexpr()) {
    bool truth = !unaryOp(UnaryOpKind::Not, cond, s.loc).boolValue;
    genBlock(truth ? s.body : s.orelse);
    return;
  }
  Value c = toCondition(cond, s.value->loc);
  Location l = location(s.loc);
  std::map<std::string, CgValue> before = frame().vars;

  // Generate both branches into a result-less scf.if, then rebuild it with
  // the variables the branches rebind as results.
  auto ifOp = builder_.create<scf::IfOp>(l, TypeRange{}, c, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(builder_);
  auto genBranch = [&](Block *block, const std::vector<StmtPtr> &stmts) {
    frame().vars = before;
    builder_.setInsertionPoint(block->getTerminator());
    ++frame().dynamicIfDepth;
    genBlock(stmts);
    --frame().dynamicIfDepth;
    return frame().vars;
  };
  auto thenVars = genBranch(ifOp.thenBlock(), s.body);
  auto elseVars = genBranch(ifOp.elseBlock(), s.orelse);

  std::map<std::string, CgValue> merged;
  std::vector<std::string> yieldNames;
  std::set<std::string> names;
  for (auto &kv : thenVars) names.insert(kv.first);
  for (auto &kv : elseVars) names.insert(kv.first);
  for (const std::string &name : names) {
    auto t = thenVars.find(name), e = elseVars.find(name);
    if (t == thenVars.end() || e == elseVars.end()) {
      merged[name] = CgValue::undefined(
          "'" + name + "' is defined in only one branch of the if at line " + std::to_string(s.loc.line) +
          "; define it before the if or in both branches");
      continue;
    }
    if (t->second.sameAs(e->second)) {
      merged[name] = t->second;
      continue;
    }
    std::vector<CgValue> leaves;
    flattenLeaves(t->second, leaves);
    if (!sameStructure(t->second, e->second) || leaves.empty()) {
      merged[name] = CgValue::undefined("'" + name + "' holds different compile-time values after the if at line " +
                                        std::to_string(s.loc.line));
      continue;
    }
    yieldNames.push_back(name);
  }

  // Result types, leaf by leaf: a run-time value fixes the type; two numbers
  // take their common type.
  SmallVector<Type> resultTypes;
  builder_.setInsertionPoint(ifOp);
  for (auto &name : yieldNames) {
    std::vector<CgValue> tl, el;
    flattenLeaves(thenVars[name], tl);
    flattenLeaves(elseVars[name], el);
    for (size_t k = 0; k < tl.size(); ++k) {
      const CgValue &tv = tl[k], &ev = el[k];
      Type type;
      if (tv.isIr() && ev.isIr()) {
        if (tv.ir.getType() != ev.ir.getType())
          fail(s.loc, "'" + name + "' is a " + typeName(tv.ir.getType()) + " in the if branch but a " +
                          typeName(ev.ir.getType()) + " in the else branch");
        type = tv.ir.getType();
      } else if (tv.isIr() || ev.isIr()) {
        type = (tv.isIr() ? tv : ev).ir.getType();
      } else {
        type = commonElementType(tv, ev, s.loc);
      }
      resultTypes.push_back(type);
    }
  }
  auto yieldIn = [&](Block *block, std::map<std::string, CgValue> &vars) {
    Operation *term = block->getTerminator();
    builder_.setInsertionPoint(term);
    SmallVector<Value> values;
    for (auto &name : yieldNames) {
      std::vector<CgValue> leaves;
      flattenLeaves(vars[name], leaves);
      for (auto &leaf : leaves)
        values.push_back(materializeAs(leaf, resultTypes[values.size()], s.loc));
    }
    builder_.create<scf::YieldOp>(term->getLoc(), values);
    term->erase();
  };
  yieldIn(ifOp.thenBlock(), thenVars);
  yieldIn(ifOp.elseBlock(), elseVars);

  builder_.setInsertionPoint(ifOp);
  auto newIf = builder_.create<scf::IfOp>(l, resultTypes, c, /*withElseRegion=*/true);
  newIf.getThenRegion().front().erase();
  newIf.getElseRegion().front().erase();
  newIf.getThenRegion().takeBody(ifOp.getThenRegion());
  newIf.getElseRegion().takeBody(ifOp.getElseRegion());
  ifOp.erase();
  SmallVector<Value> results(newIf.getResults().begin(), newIf.getResults().end());
  size_t pos = 0;
  for (auto &name : yieldNames)
    merged[name] = rebuildFromLeaves(thenVars[name], results, pos);
  frame().vars = merged;
  builder_.setInsertionPointAfter(newIf);
}

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

std::vector<std::string> KernelBuilder::loopCarriedNames(const Stmt &loop) const {
  std::vector<std::string> assigned, carried;
  collectAssignedNames(loop.body, assigned);
  for (auto &name : assigned) {
    auto it = frame().vars.find(name);
    if (it == frame().vars.end())
      continue;
    std::vector<CgValue> leaves;
    flattenLeaves(it->second, leaves);
    if (!leaves.empty())
      carried.push_back(name);
  }
  return carried;
}

KernelBuilder::Carried KernelBuilder::collectCarried(const Stmt &loop) {
  Carried c;
  c.names = loopCarriedNames(loop);
  for (auto &name : c.names) {
    c.before.push_back(frame().vars[name]);
    std::vector<CgValue> leaves;
    flattenLeaves(c.before.back(), leaves);
    for (auto &leaf : leaves)
      c.leafTypes.push_back(leaf.isIr() ? leaf.ir.getType() : Type());
  }
  return c;
}

SmallVector<Value> KernelBuilder::carriedInits(Carried &c, SourceLoc loc) {
  SmallVector<Value> inits;
  for (auto &v : c.before) {
    std::vector<CgValue> leaves;
    flattenLeaves(v, leaves);
    for (auto &leaf : leaves) {
      Type &type = c.leafTypes[inits.size()];
      Value init = type ? materializeAs(leaf, type, loc) : materialize(leaf, loc);
      type = init.getType();
      inits.push_back(init);
    }
  }
  return inits;
}

void KernelBuilder::bindCarried(const Carried &c, ValueRange values) {
  SmallVector<Value> leaves(values.begin(), values.end());
  size_t pos = 0;
  for (size_t i = 0; i < c.names.size(); ++i)
    frame().vars[c.names[i]] = rebuildFromLeaves(c.before[i], leaves, pos);
}

std::optional<SmallVector<Value>> KernelBuilder::carriedYields(Carried &c, bool firstAttempt, SourceLoc loc) {
  SmallVector<Value> yields;
  bool retype = false;
  size_t leafIndex = 0;
  for (size_t i = 0; i < c.names.size(); ++i) {
    const std::string &name = c.names[i];
    const CgValue &now = frame().vars[name];
    if (now.kind == CgValue::Kind::Undefined)
      fail(loc, now.text);
    if (!sameStructure(c.before[i], now))
      fail(loc, "loop-carried value '" + name + "' changes from " + describe(c.before[i]) + " to " +
                    describe(now) + " in the loop body");
    std::vector<CgValue> beforeLeaves, leaves;
    flattenLeaves(c.before[i], beforeLeaves);
    flattenLeaves(now, leaves);
    for (size_t k = 0; k < leaves.size(); ++k, ++leafIndex) {
      Type &type = c.leafTypes[leafIndex];
      const CgValue &leaf = leaves[k];
      if (leaf.isIr() && leaf.ir.getType() != type) {
        // A number may take the type the body gives it (acc = 0.0, then
        // acc += tile); a run-time value must keep its type.
        if (beforeLeaves[k].isIr() || !firstAttempt)
          fail(loc, "loop-carried value '" + name + "' changes type from " + typeName(type) + " to " +
                        typeName(leaf.ir.getType()) + " in the loop body");
        type = leaf.ir.getType();
        retype = true;
        continue;
      }
      if (leaf.isNumber() && beforeLeaves[k].isNumber() && firstAttempt) {
        // x = 0 before the loop and x = 2.5 in it: carry a float.
        Type common = commonElementType(beforeLeaves[k], leaf, loc);
        if (common != type) {
          type = common;
          retype = true;
          continue;
        }
      }
      if (!retype)
        yields.push_back(leaf.isIr() ? leaf.ir : materializeAs(leaf, type, loc));
    }
  }
  if (retype)
    return std::nullopt;
  return yields;
}

void KernelBuilder::finishLoopScope(const Carried &c, const std::map<std::string, CgValue> &before,
                                    ValueRange results, int line) {
  auto after = frame().vars;
  frame().vars = before;
  // Names first defined inside the body do not leak out of it.
  for (auto &kv : after)
    if (!before.count(kv.first))
      frame().vars[kv.first] = CgValue::undefined("'" + kv.first + "' is defined inside the loop at line " +
                                                  std::to_string(line) + " and cannot be used after it");
  bindCarried(c, results);
}

void KernelBuilder::genFor(const Stmt &s) {
  const Expr &iter = *s.value;
  CgValue callee = iter.kind == ExprKind::Call ? eval(*iter.value) : CgValue::none();
  bool isRange = callee.kind == CgValue::Kind::Builtin &&
                 (callee.text == "py.range" || callee.text == "range" || callee.text == "static_range");
  if (!isRange)
    fail(iter.loc, "a for loop must iterate over range(...) or tz.static_range(...)");
  CallArgs args;
  for (auto &a : iter.operands)
    args.positional.push_back(eval(*a));
  std::optional<bool> warpSpecializeHint;
  // tz.range/tz.static_range take Triton's keywords: `step` (static_range's
  // and range's), and range's scheduling hints, which are accepted and not
  // used (the GPU pipeliner decides the stages of each loop itself), except
  // `warp_specialize`: True or False becomes the loop's tz.warp_specialize
  // attribute, which tzgpu-pipeline follows over the launch option.
  static const char *const kRangeHints[] = {"num_stages", "loop_unroll_factor", "disallow_acc_multi_buffer",
                                            "flatten", "warp_specialize", "disable_licm"};
  for (auto &kw : iter.keywords) {
    bool hint = std::find(std::begin(kRangeHints), std::end(kRangeHints), kw.name) != std::end(kRangeHints);
    if (callee.text == "py.range" || (kw.name != "step" && (callee.text == "static_range" || !hint)))
      fail(kw.loc, std::string(callee.text == "py.range" ? "range" : "tz." + callee.text) +
                       "() got an unexpected keyword argument '" + kw.name + "'");
    CgValue value = eval(*kw.value);
    if (kw.name == "warp_specialize" && value.kind == CgValue::Kind::Bool)
      warpSpecializeHint = value.boolValue;
    else if (kw.name == "warp_specialize" && value.kind != CgValue::Kind::None)
      fail(kw.loc, "warp_specialize must be True, False or None, not " + describe(value));
    if (kw.name == "step") {
      if (args.positional.size() == 3)
        fail(kw.loc, "range() got multiple values for argument 'step'");
      if (args.positional.size() == 1)
        args.positional.insert(args.positional.begin(), CgValue::integer(0));
      args.positional.push_back(value);
    } else if (!value.isConstexpr()) {
      fail(kw.loc, "the range hint '" + kw.name + "' must be a compile-time value");
    }
  }
  if (args.positional.empty() || args.positional.size() > 3)
    fail(iter.loc, "range takes 1 to 3 positional arguments");
  if (s.targets[0]->kind != ExprKind::Name)
    fail(s.targets[0]->loc, "the loop variable must be a name");
  if (!s.orelse.empty())
    fail(s.loc, "'for ... else' is not supported in kernels");
  if (callee.text == "static_range") {
    genStaticFor(s, args);
    return;
  }
  CgValue start = args.positional.size() > 1 ? args.positional[0] : CgValue::integer(0);
  CgValue stop = args.positional.size() > 1 ? args.positional[1] : args.positional[0];
  CgValue step = args.positional.size() > 2 ? args.positional[2] : CgValue::integer(1);
  if (step.isConstexpr() && requireInt(step, iter.loc, "range step") <= 0)
    fail(iter.loc, "range steps must be positive");
  Location l = location(s.loc);
  // The induction variable has the widest integer type of the bounds.
  Type ivType = builder_.getI32Type();
  for (auto *v : {&start, &stop, &step}) {
    if (v->isIr()) {
      Type t = v->ir.getType();
      if (!isa<IntegerType>(t) || t.isInteger(1))
        fail(iter.loc, "range bounds must be integer scalars, not " + typeName(t));
      if (t.getIntOrFloatBitWidth() > ivType.getIntOrFloatBitWidth())
        ivType = t;
    } else if (v->kind != CgValue::Kind::Int) {
      fail(iter.loc, "range bounds must be integers, not " + describe(*v));
    }
  }
  Value lb = materializeAs(start, ivType, iter.loc);
  Value ub = materializeAs(stop, ivType, iter.loc);
  Value st = materializeAs(step, ivType, iter.loc);

  Carried carried = collectCarried(s);
  std::map<std::string, CgValue> before = frame().vars;
  for (int attempt = 0;; ++attempt) {
    auto forOp = builder_.create<scf::ForOp>(l, lb, ub, st, carriedInits(carried, s.loc));
    if (warpSpecializeHint)
      forOp->setAttr(tz::kWarpSpecializeAttrName, builder_.getBoolAttr(*warpSpecializeHint));
    OpBuilder::InsertionGuard guard(builder_);
    Block *body = forOp.getBody();
    if (body->mightHaveTerminator())
      body->getTerminator()->erase();
    builder_.setInsertionPointToEnd(body);
    frame().vars = before;
    frame().vars[s.targets[0]->name] = CgValue::fromIr(forOp.getInductionVar());
    bindCarried(carried, forOp.getRegionIterArgs());
    ++frame().loopDepth;
    genBlock(s.body);
    --frame().loopDepth;
    auto yields = carriedYields(carried, attempt == 0, s.loc);
    if (!yields) {
      forOp.erase();
      frame().vars = before;
      continue;
    }
    builder_.create<scf::YieldOp>(l, *yields);
    finishLoopScope(carried, before, forOp.getResults(), s.loc.line);
    return; // the guard puts the insertion point back after the loop
  }
}

void KernelBuilder::genStaticFor(const Stmt &s, CallArgs &args) {
  std::vector<int64_t> bounds;
  for (auto &a : args.positional)
    bounds.push_back(requireInt(a, s.value->loc, "static_range bound"));
  int64_t start = bounds.size() > 1 ? bounds[0] : 0;
  int64_t stop = bounds.size() > 1 ? bounds[1] : bounds[0];
  int64_t step = bounds.size() > 2 ? bounds[2] : 1;
  if (step == 0)
    fail(s.value->loc, "static_range step cannot be zero");
  // The trip count in 128 bits: near the int64 limits neither stop - start
  // nor i += step may overflow.
  __int128 span = (__int128)stop - start, count = 0;
  if (step > 0 && span > 0)
    count = (span + step - 1) / step;
  else if (step < 0 && span < 0)
    count = (span + step + 1) / step;
  if (count > 4096)
    fail(s.value->loc, "static_range unrolls at most 4096 iterations");
  ++frame().loopDepth;
  for (int64_t n = 0; n < (int64_t)count; ++n) {
    frame().vars[s.targets[0]->name] = CgValue::integer((int64_t)(start + (__int128)n * step));
    genBlock(s.body);
  }
  --frame().loopDepth;
}

void KernelBuilder::genWhile(const Stmt &s) {
  if (!s.orelse.empty())
    fail(s.loc, "'while ... else' is not supported in kernels");
  Carried carried = collectCarried(s);
  std::map<std::string, CgValue> before = frame().vars;
  Location l = location(s.loc);
  for (int attempt = 0;; ++attempt) {
    SmallVector<Value> inits = carriedInits(carried, s.loc);
    SmallVector<Type> types;
    for (Value v : inits)
      types.push_back(v.getType());
    auto whileOp = builder_.create<scf::WhileOp>(l, types, inits);
    OpBuilder::InsertionGuard guard(builder_);
    SmallVector<Location> locs(types.size(), l);
    Block *beforeBlock = builder_.createBlock(&whileOp.getBefore(), {}, types, locs);
    frame().vars = before;
    bindCarried(carried, beforeBlock->getArguments());
    CgValue cond = eval(*s.value);
    if (cond.isConstexpr())
      fail(s.value->loc, "a while loop needs a run-time condition (break is not supported)");
    Value c = toCondition(cond, s.value->loc);
    builder_.create<scf::ConditionOp>(l, c, beforeBlock->getArguments());

    Block *afterBlock = builder_.createBlock(&whileOp.getAfter(), {}, types, locs);
    frame().vars = before;
    bindCarried(carried, afterBlock->getArguments());
    ++frame().loopDepth;
    genBlock(s.body);
    --frame().loopDepth;
    auto yields = carriedYields(carried, attempt == 0, s.loc);
    if (!yields) {
      whileOp.erase();
      frame().vars = before;
      continue;
    }
    builder_.create<scf::YieldOp>(l, *yields);
    finishLoopScope(carried, before, whileOp.getResults(), s.loc.line);
    return; // the guard puts the insertion point back after the loop
  }
}

} // namespace terrazzo::dsl
