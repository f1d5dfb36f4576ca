//===- AxisInfo.cpp - contiguity, divisibility and constancy of tiles ----===//
#include "terrazzo/Analysis/AxisInfo.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>

using namespace mlir;

namespace terrazzo {

namespace {
constexpr int64_t kMaxDivisibility = int64_t(1) << 30;

int rankOf(Type t) {
  auto tile = dyn_cast<RankedTensorType>(t);
  return tile ? tile.getRank() : 0;
}

SmallVector<int64_t, 2> shapeOf(Type t) {
  auto tile = dyn_cast<RankedTensorType>(t);
  return tile ? SmallVector<int64_t, 2>(tile.getShape()) : SmallVector<int64_t, 2>();
}

// The largest power of two dividing v (0 is divisible by everything).
int64_t powerOfTwoDividing(int64_t v) {
  if (v == 0)
    return kMaxDivisibility;
  return std::min<int64_t>(kMaxDivisibility, int64_t(1) << llvm::countr_zero(uint64_t(v)));
}

int64_t gcd2(int64_t a, int64_t b) { return std::min(a, b); } // of powers of two

int64_t elementBytes(Type ptrLike) {
  Type pointee = cast<tz::PointerType>(tz::getElementTypeOrSelf(ptrLike)).getPointeeType();
  return pointee.isInteger(1) ? 1 : std::max<unsigned>(1, pointee.getIntOrFloatBitWidth() / 8);
}

// A constant operand (scalar or splat): its value.
std::optional<int64_t> constantValue(Value v) {
  APInt value;
  if (matchPattern(v, m_ConstantInt(&value)))
    return value.getSExtValue();
  if (auto splat = v.getDefiningOp<tz::SplatOp>())
    return constantValue(splat.getSrc());
  return std::nullopt;
}
} // namespace

AxisInfo AxisInfo::unknown(int rank) {
  AxisInfo a;
  a.contiguity.assign(rank, 1);
  a.constancy.assign(rank, 1);
  a.divisibility.assign(std::max(rank, 1), 1);
  return a;
}

namespace {
// `a`'s divisibility along d where the result's runs are out.contiguity[d]
// long: when a's runs are longer, the result's runs also start inside
// them, at a's run start + a multiple of the result's run length.
int64_t runStartDivisibility(const AxisInfo &a, const AxisInfo &out, int d) {
  int64_t div = a.div(d);
  if (a.rank() && a.contiguity[d] > out.contiguity[d])
    div = gcd2(div, out.contiguity[d]);
  return div;
}

// The divisibility of every element of `a`: a dimension of size one (what
// expand_dims adds, what broadcast repeats) has runs of one element, so
// every element starts a run there. Inside a run longer than one,
// neighbouring elements differ by one: only 1 divides them all.
int64_t everyElementDivisibility(const AxisInfo &a) {
  int64_t div = a.div(0);
  for (int d = 0; d < a.rank(); ++d)
    div = gcd2(div, a.contiguity[d] > 1 ? 1 : a.div(d));
  return div;
}
} // namespace

AxisInfoAnalysis::AxisInfoAnalysis(Operation *root) {
  root->walk([&](func::FuncOp f) {
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      AxisInfo a = AxisInfo::unknown(0);
      if (auto div = f.getArgAttrOfType<IntegerAttr>(i, "tz.divisibility"))
        a.divisibility[0] = div.getInt();
      info_[f.getArgument(i)] = a;
    }
  });
  // Twice: a loop-carried pointer's facts (visit of scf.for) need those of
  // its increment, computed inside the body after the loop op is visited.
  // The second walk sees them and redoes everything after.
  for (int pass = 0; pass < 2; ++pass)
    root->walk<WalkOrder::PreOrder>([&](Operation *op) { visit(op); });
}

AxisInfo AxisInfoAnalysis::get(Value v) const {
  auto it = info_.find(v);
  return it != info_.end() ? it->second : AxisInfo::unknown(rankOf(v.getType()));
}

void AxisInfoAnalysis::visit(Operation *op) {
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    AxisInfo iv = AxisInfo::unknown(0);
    iv.divisibility[0] = gcd2(get(loop.getLowerBound()).div(0), get(loop.getStep()).div(0));
    info_[loop.getInductionVar()] = iv;
    // A pointer tile advanced each iteration by the same amount in every
    // element (`p += BLOCK_K * stride`): contiguous where its start is, and
    // aligned to what both its start and the step are aligned to.
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
      auto advance = yield.getOperand(i).getDefiningOp<tz::AddPtrOp>();
      if (!advance || advance.getPtr() != arg)
        continue;
      AxisInfo step = get(advance.getOffset()), start = get(loop.getInitArgs()[i]);
      SmallVector<int64_t, 2> shape = shapeOf(arg.getType());
      if (step.rank() != start.rank() || step.constancy != shape)
        continue;
      AxisInfo a = start;
      for (size_t d = 0; d < a.divisibility.size(); ++d)
        a.divisibility[d] = gcd2(start.div(d), step.div(d) * elementBytes(arg.getType()));
      info_[arg] = a;
    }
    return;
  }
  if (op->getNumResults() != 1)
    return;
  Value result = op->getResult(0);
  Type type = result.getType();
  int rank = rankOf(type);
  SmallVector<int64_t, 2> shape = shapeOf(type);
  AxisInfo out = AxisInfo::unknown(rank);
  auto operand = [&](unsigned i) { return get(op->getOperand(i)); };
  auto setDivisibility = [&](int64_t div) { out.divisibility.assign(out.divisibility.size(), div); };

  if (auto c = constantValue(result); c && (isa<arith::ConstantOp>(op) || isa<tz::SplatOp>(op))) {
    setDivisibility(powerOfTwoDividing(*c));
    out.constancy = shape;
  } else if (auto range = dyn_cast<tz::MakeRangeOp>(op)) {
    out.contiguity = shape;
    out.divisibility[0] = powerOfTwoDividing(range.getStart());
  } else if (auto splat = dyn_cast<tz::SplatOp>(op)) {
    setDivisibility(get(splat.getSrc()).div(0));
    out.constancy = shape;
  } else if (isa<arith::AddIOp, tz::AddPtrOp>(op)) {
    AxisInfo a = operand(0), b = operand(1);
    int64_t scale = isa<tz::AddPtrOp>(op) ? elementBytes(type) : 1;
    for (int d = 0; d < rank; ++d) {
      int64_t ca = a.rank() ? a.contiguity[d] : 1, cb = b.rank() ? b.contiguity[d] : 1;
      int64_t ka = a.rank() ? a.constancy[d] : shape[d], kb = b.rank() ? b.constancy[d] : shape[d];
      out.contiguity[d] = std::max(std::min(ca, kb), std::min(cb, ka));
      out.constancy[d] = std::min(ka, kb);
    }
    for (size_t d = 0; d < out.divisibility.size(); ++d)
      out.divisibility[d] =
          gcd2(runStartDivisibility(a, out, d), std::min(kMaxDivisibility, runStartDivisibility(b, out, d) * scale));
  } else if (isa<arith::SubIOp>(op)) {
    // a - b: contiguous where a is and b is constant (not the other way:
    // c - range steps down); divisible by what divides both.
    AxisInfo a = operand(0), b = operand(1);
    for (int d = 0; d < rank; ++d) {
      int64_t ca = a.rank() ? a.contiguity[d] : 1;
      int64_t ka = a.rank() ? a.constancy[d] : shape[d], kb = b.rank() ? b.constancy[d] : shape[d];
      out.contiguity[d] = std::min(ca, kb);
      out.constancy[d] = std::min(ka, kb);
    }
    for (size_t d = 0; d < out.divisibility.size(); ++d)
      out.divisibility[d] = gcd2(runStartDivisibility(a, out, d), runStartDivisibility(b, out, d));
  } else if (isa<arith::RemSIOp, arith::RemUIOp>(op)) {
    // x % n with x in contiguous runs starting at multiples of L and n (the
    // same over the run) a multiple of L: no run of L crosses a multiple of
    // n, so the result stays contiguous over it (`(pid * BLOCK + range) % N`).
    AxisInfo a = operand(0), b = operand(1);
    for (int d = 0; d < rank; ++d) {
      int64_t ca = a.rank() ? a.contiguity[d] : 1;
      int64_t ka = a.rank() ? a.constancy[d] : shape[d], kb = b.rank() ? b.constancy[d] : shape[d];
      out.constancy[d] = std::min(ka, kb);
      if (kb == shape[d])
        out.contiguity[d] = std::max<int64_t>(1, std::min({ca, a.div(d), everyElementDivisibility(b)}));
    }
    for (size_t d = 0; d < out.divisibility.size(); ++d)
      out.divisibility[d] = gcd2(runStartDivisibility(a, out, d), everyElementDivisibility(b));
  } else if (isa<arith::MulIOp>(op)) {
    AxisInfo a = operand(0), b = operand(1);
    auto ca = constantValue(op->getOperand(0)), cb = constantValue(op->getOperand(1));
    if (cb && *cb == 1) {
      out = a.rank() == rank ? a : out;
    } else if (ca && *ca == 1) {
      out = b.rank() == rank ? b : out;
    } else {
      // Contiguity is lost (x * c steps by c): every element starts a run.
      for (int d = 0; d < rank; ++d) {
        int64_t ka = a.rank() ? a.constancy[d] : shape[d], kb = b.rank() ? b.constancy[d] : shape[d];
        out.constancy[d] = std::min(ka, kb);
      }
      for (size_t d = 0; d < out.divisibility.size(); ++d)
        out.divisibility[d] =
            std::min(kMaxDivisibility, runStartDivisibility(a, out, d) * runStartDivisibility(b, out, d));
    }
  } else if (isa<arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp>(op)) {
    // Scalars too: strides widened to i64 keep their divisibility (a
    // truncation to 32 bits keeps divisibility by powers of two up to 2^32).
    out = operand(0);
  } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    // x < n with x in aligned contiguous runs and n a multiple of the run
    // alignment: the result is constant over each aligned run.
    AxisInfo a = operand(0), b = operand(1);
    for (int d = 0; d < rank; ++d) {
      int64_t ka = a.rank() ? a.constancy[d] : shape[d], kb = b.rank() ? b.constancy[d] : shape[d];
      int64_t k = std::min(ka, kb);
      if (kb == shape[d] && a.rank())
        k = std::max(k, std::min({a.contiguity[d], a.div(d), b.div(d)}));
      out.constancy[d] = k;
    }
  } else if (isa<arith::AndIOp, arith::OrIOp, arith::SelectOp>(op)) {
    out.constancy.assign(shape.begin(), shape.end());
    for (Value v : op->getOperands()) {
      AxisInfo a = get(v);
      for (int d = 0; d < rank; ++d)
        out.constancy[d] = std::min(out.constancy[d], a.rank() ? a.constancy[d] : shape[d]);
    }
  } else if (auto expand = dyn_cast<tz::ExpandDimsOp>(op)) {
    AxisInfo a = operand(0);
    int axis = expand.getAxis();
    for (int d = 0, s = 0; d < rank; ++d) {
      if (d == axis) {
        out.divisibility[d] = everyElementDivisibility(a);
        continue;
      }
      out.contiguity[d] = a.contiguity[s];
      out.constancy[d] = a.constancy[s];
      out.divisibility[d] = a.div(s);
      ++s;
    }
  } else if (isa<tz::BroadcastOp>(op)) {
    // A broadcast dimension had size one: its divisibility already holds for
    // every element, and stays so.
    AxisInfo a = operand(0);
    SmallVector<int64_t, 2> srcShape = shapeOf(op->getOperand(0).getType());
    for (int d = 0; d < rank; ++d) {
      bool broadcast = srcShape[d] == 1 && shape[d] != 1;
      out.contiguity[d] = broadcast ? 1 : a.contiguity[d];
      out.constancy[d] = broadcast ? shape[d] : a.constancy[d];
      out.divisibility[d] = a.div(d);
    }
  } else if (op->getName().getStringRef() == "tzgpu.convert_layout") {
    out = operand(0); // the same tile
  }
  info_[result] = out;
}

} // namespace terrazzo
