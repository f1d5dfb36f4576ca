//===- RemoveLayoutConversions.cpp - fewer trips through shared memory ---===//
//
// After tzgpu-assign-layouts every tile has the default blocked layout of its
// shape, and tzgpu-accelerate-dot puts each tensor-core dot in the mma
// layout with a conversion back. Left so, the softmax of an attention block
// would go through shared memory several times per iteration. This pass
// moves conversions to where they are free or rare, repeating until nothing
// changes:
//
//  - sinking: a conversion to a default layout carries no preference, so
//    its elementwise users and reductions in the same block compute in the
//    source layout instead (a reduction then yields the source layout with
//    the axis dropped), when at most one other operand would need a real
//    conversion;
//  - hoisting: a conversion to a chosen layout of a value made by cheap ops
//    rebuilds them in that layout (LayoutRematerialization.h); one of a
//    single-use elementwise or shape op moves to its operands under the same
//    rule;
//  - loop-carried tiles: an scf.for argument that is only ever converted to
//    one layout, and yielded from it, is carried in that layout;
//  - dots: operand conversions are dropped where the dot lowering accepts
//    any layout (B, and A through shared memory); A is put in the mma
//    operand layout when that is free (a previous dot's result) or happens
//    once (a tile defined outside the loop of the dot).
//
// tz.trans results take the permuted layout of their source, which costs
// nothing, so a transposed tile feeding a dot never moves.
#include "LayoutRematerialization.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUREMOVELAYOUTCONVERSIONS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// Rounds of sinking and hoisting; each round only moves conversions toward
// cheaper places, so a few suffice and the bound only guards against a
// cycle.
constexpr int kMaxRounds = 16;

LinearLayout layoutOf(Value v) { return getLayout(cast<RankedTensorType>(v.getType())); }

bool isTile(Value v) { return isa<RankedTensorType>(v.getType()); }

struct Rewriter {
  int numWarps;
  TileRebuilder rebuilder;

  bool isDefault(Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return getLayout(type) == LinearLayout::blocked(type.getShape(), numWarps);
  }

  // `v` in `layout` just before `user`: rebuilt when that is cheap, else a
  // conversion.
  Value inLayout(Value v, const LinearLayout &layout, Operation *user) {
    if (rebuilder.canRebuild(v, layout))
      return rebuilder.rebuild(v, layout);
    OpBuilder b(user);
    return ConvertLayoutOp::create(b, user->getLoc(), retyped(v, layout), v);
  }

  // Operands of `op` other than `except` that would need a real conversion
  // to `layout`.
  int costlyOperands(Operation *op, Value except, const LinearLayout &layout) {
    int n = 0;
    for (Value operand : op->getOperands())
      if (isTile(operand) && operand != except && !rebuilder.canRebuild(operand, layout))
        ++n;
    return n;
  }

  // Gives `result` the type `type` and converts it back for its users.
  static void retypeResult(Value result, RankedTensorType type) {
    Type old = result.getType();
    result.setType(type);
    OpBuilder b(result.getContext());
    b.setInsertionPointAfterValue(result);
    auto back = ConvertLayoutOp::create(b, result.getLoc(), old, result);
    result.replaceAllUsesExcept(back, back);
  }

  // Sinking (see the file comment). Returns whether anything changed.
  bool sink(ConvertLayoutOp cvt) {
    Value src = cvt.getSrc();
    LinearLayout layout = layoutOf(src);
    if (!isDefault(cvt.getResult()) || layout == layoutOf(cvt.getResult()))
      return false;
    rebuilder = TileRebuilder();
    bool changed = false;
    // Users are collected first: rewriting one changes the use list.
    llvm::SetVector<Operation *> users(cvt.getResult().getUsers().begin(), cvt.getResult().getUsers().end());
    for (Operation *user : users) {
      // A user in a nested region (a loop body) would trade one conversion
      // here for conversions of its other operands on every iteration.
      if (user->getBlock() != cvt->getBlock())
        continue;
      if (isElementwise(user)) {
        if (costlyOperands(user, cvt.getResult(), layout) > 1)
          continue;
        for (OpOperand &operand : user->getOpOperands()) {
          if (operand.get() == cvt.getResult())
            operand.set(src);
          else if (isTile(operand.get()))
            operand.set(inLayout(operand.get(), layout, user));
        }
        retypeResult(user->getResult(0), retyped(user->getResult(0), layout));
        changed = true;
      } else if (auto reduce = dyn_cast<tz::ReduceOp>(user)) {
        if (!layout.basesAreAxisAligned())
          continue;
        reduce.getSrcMutable().assign(src);
        if (auto type = dyn_cast<RankedTensorType>(reduce.getType()))
          retypeResult(reduce.getResult(), withLayout(type, layout.dropDim(reduce.getAxis())));
        changed = true;
      }
    }
    if (cvt.use_empty())
      cvt.erase();
    return changed;
  }

  // Hoisting (see the file comment).
  bool hoist(ConvertLayoutOp cvt) {
    Value src = cvt.getSrc();
    LinearLayout layout = layoutOf(cvt.getResult());
    // Conversions within each thread's registers cost nothing where they are.
    if (isDefault(cvt.getResult()) || registerOnlyRemap(layoutOf(src), layout))
      return false;
    rebuilder = TileRebuilder();
    if (rebuilder.canRebuild(src, layout)) {
      Value rebuilt = rebuilder.rebuild(src, layout);
      if (rebuilt == cvt.getResult())
        return false;
      cvt.getResult().replaceAllUsesWith(rebuilt);
      cvt.erase();
      return true;
    }
    Operation *def = src.getDefiningOp();
    if (!def || !src.hasOneUse() || def->getBlock() != cvt->getBlock())
      return false;
    if (isElementwise(def)) {
      if (costlyOperands(def, Value(), layout) > 1)
        return false;
      for (OpOperand &operand : def->getOpOperands())
        if (isTile(operand.get()))
          operand.set(inLayout(operand.get(), layout, def));
    } else if (isa<tz::BroadcastOp, tz::ExpandDimsOp, tz::TransOp>(def)) {
      std::optional<LinearLayout> operandLayout = operandLayoutFor(def, layout);
      if (!operandLayout)
        return false;
      def->setOperand(0, inLayout(def->getOperand(0), *operandLayout, def));
    } else {
      return false;
    }
    src.setType(cvt.getType());
    cvt.getResult().replaceAllUsesWith(src);
    cvt.erase();
    return true;
  }

  // The layout every use of `arg` converts it to, if they all agree.
  static std::optional<RankedTensorType> uniformConvertTarget(Value arg) {
    std::optional<RankedTensorType> target;
    for (Operation *user : arg.getUsers()) {
      auto cvt = dyn_cast<ConvertLayoutOp>(user);
      if (!cvt || (target && *target != cvt.getType()))
        return std::nullopt;
      target = cast<RankedTensorType>(cvt.getType());
    }
    return target;
  }

  // Carries iter_arg `i` of `loop` in `type`: converts the init before the
  // loop, the result after it, and lets the body use the argument directly.
  static void retypeIterArg(scf::ForOp loop, unsigned i, RankedTensorType type, Value yielded) {
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    OpOperand &init = loop.getInitArgsMutable()[i];
    auto oldType = cast<RankedTensorType>(init.get().getType());
    init.set(ConvertLayoutOp::create(b, loc, type, init.get()));
    BlockArgument arg = loop.getRegionIterArgs()[i];
    arg.setType(type);
    // A tile passed through unchanged yields one of the conversions about
    // to be erased: it yields the argument itself instead.
    if (auto cvt = yielded.getDefiningOp<ConvertLayoutOp>(); cvt && cvt.getSrc() == arg)
      yielded = arg;
    for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
      user->getResult(0).replaceAllUsesWith(arg);
      user->erase();
    }
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    yield->setOperand(i, yielded);
    Value result = loop.getResult(i);
    result.setType(type);
    b.setInsertionPointAfter(loop);
    auto back = ConvertLayoutOp::create(b, loc, oldType, result);
    result.replaceAllUsesExcept(back, back);
  }

  bool retypeIterArgs(scf::ForOp loop) {
    bool changed = false;
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    for (unsigned i = 0; i < loop.getNumRegionIterArgs(); ++i) {
      Value arg = loop.getRegionIterArgs()[i];
      if (!isTile(arg) || arg.use_empty())
        continue;
      auto target = uniformConvertTarget(arg);
      if (!target || *target == arg.getType())
        continue;
      // The yielded value must come from the target layout.
      auto back = yield.getOperand(i).getDefiningOp<ConvertLayoutOp>();
      if (!back || back.getSrc().getType() != *target)
        continue;
      retypeIterArg(loop, i, *target, back.getSrc());
      changed = true;
    }
    return changed;
  }

  // tz.trans computes in the permuted layout of its source.
  void permuteTransposes(ModuleOp module) {
    module.walk([&](tz::TransOp trans) {
      auto type = withLayout(trans.getType(), layoutOf(trans.getSrc()).permuted(trans.getOrder()));
      if (type != trans.getType())
        retypeResult(trans.getResult(), type);
    });
  }

  // Dot operands (see the file comment).
  void placeDotOperands(ModuleOp module) {
    auto strip = [](Value v) {
      while (auto cvt = v.getDefiningOp<ConvertLayoutOp>())
        v = cvt.getSrc();
      return v;
    };
    module.walk([&](tz::DotOp dot) {
      rebuilder = TileRebuilder();
      auto c = cast<RankedTensorType>(dot.getType());
      if (c.getRank() != 2)
        return;
      dot.getBMutable().assign(strip(dot.getB()));
      Value a = strip(dot.getA());
      auto aType = cast<RankedTensorType>(a.getType());
      bool onMma = c.getShape()[0] % 16 == 0 && c.getShape()[1] % 8 == 0 && aType.getShape()[1] % 16 == 0 &&
                   getLayout(c) == LinearLayout::mmaAccumulator(c.getShape(), numWarps);
      if (onMma) {
        LinearLayout operandA = LinearLayout::mmaOperandA(aType.getShape(), numWarps);
        auto loop = dot->getParentOfType<scf::ForOp>();
        bool invariant = loop && !loop->isAncestor(a.getParentBlock()->getParentOp());
        if (getLayout(aType) != operandA && (invariant || rebuilder.canRebuild(a, operandA))) {
          OpBuilder b(dot);
          if (Operation *def = a.getDefiningOp(); invariant && def)
            b.setInsertionPointAfter(def);
          else if (invariant)
            b.setInsertionPointToStart(a.getParentBlock());
          a = rebuilder.canRebuild(a, operandA) ? rebuilder.rebuild(a, operandA)
                                                : ConvertLayoutOp::create(b, dot.getLoc(), retyped(a, operandA), a);
        }
      }
      dot.getAMutable().assign(a);
    });
  }

  void run(ModuleOp module) {
    permuteTransposes(module);
    for (int round = 0; round < kMaxRounds; ++round) {
      bool changed = false;
      SmallVector<ConvertLayoutOp> cvts;
      module.walk([&](ConvertLayoutOp cvt) { cvts.push_back(cvt); });
      for (ConvertLayoutOp cvt : cvts)
        changed |= sink(cvt);
      cvts.clear();
      module.walk([&](ConvertLayoutOp cvt) { cvts.push_back(cvt); });
      for (ConvertLayoutOp cvt : cvts)
        changed |= hoist(cvt);
      module.walk([&](scf::ForOp loop) { changed |= retypeIterArgs(loop); });
      if (!changed)
        break;
    }
    placeDotOperands(module);
  }
};

struct RemoveLayoutConversions : impl::TzGpuRemoveLayoutConversionsBase<RemoveLayoutConversions> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Rewriter{moduleNumWarps(module), {}}.run(module);
    RewritePatternSet patterns(&getContext());
    ConvertLayoutOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace terrazzo::tzgpu
