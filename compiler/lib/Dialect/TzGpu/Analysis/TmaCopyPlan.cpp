//===- TmaCopyPlan.cpp - which tile loads may be TMA copies --------------===//
//
// Addresses and masks are rewritten as integer polynomials over atoms, with
// two extra atoms for a tile element's row and column index; the pointer
// must then be affine in those two with the shape TmaCopyPlan.h describes,
// and each mask condition must compare one of them against a value the host
// knows. Everything else (the coordinates) stays a polynomial the pipeliner
// evaluates for the iteration a copy is issued for.
#include "terrazzo/Dialect/TzGpu/Analysis/TmaCopyPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::tzgpu {

//===----------------------------------------------------------------------===//
// IndexPolynomial
//===----------------------------------------------------------------------===//

IndexPolynomial IndexPolynomial::constant(int64_t c) {
  IndexPolynomial p;
  if (c != 0)
    p.terms[{}] = c;
  return p;
}

IndexPolynomial IndexPolynomial::atom(const void *a) {
  IndexPolynomial p;
  p.terms[{a}] = 1;
  return p;
}

namespace {
void accumulate(std::map<IndexPolynomial::Monomial, int64_t> &terms, const IndexPolynomial::Monomial &m, int64_t c) {
  int64_t &slot = terms[m];
  slot += c;
  if (slot == 0)
    terms.erase(m);
}
} // namespace

IndexPolynomial IndexPolynomial::operator+(const IndexPolynomial &o) const {
  IndexPolynomial r = *this;
  for (const auto &[m, c] : o.terms)
    accumulate(r.terms, m, c);
  return r;
}

IndexPolynomial IndexPolynomial::operator-(const IndexPolynomial &o) const {
  return *this + o * constant(-1);
}

IndexPolynomial IndexPolynomial::operator*(const IndexPolynomial &o) const {
  IndexPolynomial r;
  for (const auto &[m1, c1] : terms)
    for (const auto &[m2, c2] : o.terms) {
      Monomial m = m1;
      m.insert(m.end(), m2.begin(), m2.end());
      std::sort(m.begin(), m.end());
      accumulate(r.terms, m, c1 * c2);
    }
  return r;
}

std::optional<int64_t> IndexPolynomial::asConstant() const {
  if (terms.empty())
    return 0;
  if (terms.size() == 1 && terms.begin()->first.empty())
    return terms.begin()->second;
  return std::nullopt;
}

const void *IndexPolynomial::asAtom() const {
  if (terms.size() == 1 && terms.begin()->first.size() == 1 && terms.begin()->second == 1)
    return terms.begin()->first.front();
  return nullptr;
}

IndexPolynomial IndexPolynomial::substitute(const std::function<IndexPolynomial(const void *)> &to) const {
  IndexPolynomial r;
  for (const auto &[m, c] : terms) {
    IndexPolynomial product = constant(c);
    for (const void *a : m)
      product = product * to(a);
    r = r + product;
  }
  return r;
}

const void *iterationAtom(scf::ForOp loop) { return loop.getOperation(); }

namespace {

// The atoms of a tile element's row and column index.
const char kRowKey = 0, kColKey = 0;
const void *const kRow = &kRowKey;
const void *const kCol = &kColKey;

IndexPolynomial rowsToColumns(const IndexPolynomial &p) {
  return p.substitute([](const void *a) { return IndexPolynomial::atom(a == kRow ? kCol : a); });
}

// `m` without one occurrence of `a`.
IndexPolynomial::Monomial without(IndexPolynomial::Monomial m, const void *a) {
  m.erase(std::find(m.begin(), m.end(), a));
  return m;
}

IndexPolynomial term(const IndexPolynomial::Monomial &m, int64_t c) {
  IndexPolynomial p;
  if (c != 0)
    p.terms[m] = c;
  return p;
}

// Decomposes the integer and pointer values a load's address and mask are
// built from. A 1-D tile's elements are indexed by kRow; expand_dims at
// axis 0 makes that the column index.
struct Decomposer {
  scf::ForOp loop;
  func::FuncOp func;

  BlockArgument kernelArgument(const void *a) {
    if (!a || a == kRow || a == kCol || a == iterationAtom(loop))
      return {};
    auto arg = dyn_cast<BlockArgument>(Value::getFromOpaquePointer(a));
    if (!arg || arg.getOwner() != &func.getBody().front())
      return {};
    return arg;
  }

  // Divisibility (in elements for integers, bytes for pointers) the
  // specialization proved for a kernel argument, 1 if none.
  int64_t divisibility(BlockArgument arg) {
    auto div = func.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "tz.divisibility");
    return div ? div.getInt() : 1;
  }

  bool definedInLoop(const void *a) {
    if (a == kRow || a == kCol || a == iterationAtom(loop))
      return false;
    Value v = Value::getFromOpaquePointer(a);
    if (auto arg = dyn_cast<BlockArgument>(v))
      return loop->isAncestor(arg.getOwner()->getParentOp());
    return loop->isAncestor(v.getDefiningOp());
  }

  std::optional<IndexPolynomial> integer(Value v) {
    auto scalarAtom = [&]() -> std::optional<IndexPolynomial> {
      if (isa<RankedTensorType>(v.getType()) || !v.getType().isSignlessInteger())
        return std::nullopt;
      return IndexPolynomial::atom(v.getAsOpaquePointer());
    };
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      // A value the loop carries other than its index has no closed form.
      if (arg.getOwner() == loop.getBody() && arg != loop.getInductionVar())
        return std::nullopt;
      return scalarAtom();
    }
    Operation *def = v.getDefiningOp();
    if (auto cst = dyn_cast<arith::ConstantOp>(def)) {
      if (auto i = dyn_cast<IntegerAttr>(cst.getValue()))
        return IndexPolynomial::constant(i.getInt());
      if (auto dense = dyn_cast<DenseIntElementsAttr>(cst.getValue()); dense && dense.isSplat())
        return IndexPolynomial::constant(dense.getSplatValue<APInt>().getSExtValue());
      return std::nullopt;
    }
    if (auto range = dyn_cast<tz::MakeRangeOp>(def))
      return IndexPolynomial::constant(range.getStart()) + IndexPolynomial::atom(kRow);
    if (auto splat = dyn_cast<tz::SplatOp>(def))
      return integer(splat.getSrc());
    if (isa<tz::BroadcastOp, ConvertLayoutOp, arith::ExtSIOp, arith::TruncIOp>(def))
      return integer(def->getOperand(0));
    if (auto expand = dyn_cast<tz::ExpandDimsOp>(def)) {
      if (cast<RankedTensorType>(expand.getSrc().getType()).getRank() != 1)
        return std::nullopt;
      auto src = integer(expand.getSrc());
      if (!src || expand.getAxis() != 0)
        return src;
      return rowsToColumns(*src);
    }
    if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(def)) {
      auto lhs = integer(def->getOperand(0)), rhs = integer(def->getOperand(1));
      if (!lhs || !rhs)
        return std::nullopt;
      if (isa<arith::AddIOp>(def))
        return *lhs + *rhs;
      if (isa<arith::SubIOp>(def))
        return *lhs - *rhs;
      return *lhs * *rhs;
    }
    return scalarAtom();
  }

  // n * step for the iteration count n. With a constant loop step s that
  // divides every coefficient of `step` that is (index - lower bound) *
  // (step / s): in terms of the index, as masks written against the index
  // are (the bound `K - k * BLOCK_K` of Triton's matmul tutorial).
  IndexPolynomial iterations(const IndexPolynomial &step) {
    IntegerAttr s;
    auto lower = integer(loop.getLowerBound());
    if (lower && matchPattern(loop.getStep(), m_Constant(&s)) && s.getInt() > 0 &&
        llvm::all_of(step.terms, [&](const auto &t) { return t.second % s.getInt() == 0; })) {
      IndexPolynomial scaled;
      for (const auto &[m, c] : step.terms)
        scaled = scaled + term(m, c / s.getInt());
      return (IndexPolynomial::atom(loop.getInductionVar().getAsOpaquePointer()) - *lower) * scaled;
    }
    return IndexPolynomial::atom(iterationAtom(loop)) * step;
  }

  struct PointerForm {
    BlockArgument base;
    IndexPolynomial offset; // in elements
  };

  std::optional<PointerForm> pointer(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() == &func.getBody().front() && isa<tz::PointerType>(arg.getType()))
        return PointerForm{arg, {}};
      if (arg.getOwner() != loop.getBody() || arg == loop.getInductionVar())
        return std::nullopt;
      // p += step each iteration: at iteration n it is init + n * step.
      unsigned i = arg.getArgNumber() - loop.getNumInductionVars();
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      auto advance = yield.getOperand(i).getDefiningOp<tz::AddPtrOp>();
      if (!advance || advance.getPtr() != arg)
        return std::nullopt;
      auto init = pointer(loop.getInitArgs()[i]);
      auto step = integer(advance.getOffset());
      if (!init || !step)
        return std::nullopt;
      for (const auto &[m, c] : step->terms)
        if (llvm::any_of(m, [&](const void *a) { return definedInLoop(a); }))
          return std::nullopt;
      init->offset = init->offset + iterations(*step);
      return init;
    }
    Operation *def = v.getDefiningOp();
    if (auto splat = dyn_cast<tz::SplatOp>(def))
      return pointer(splat.getSrc());
    if (isa<tz::BroadcastOp, ConvertLayoutOp>(def))
      return pointer(def->getOperand(0));
    if (auto expand = dyn_cast<tz::ExpandDimsOp>(def)) {
      if (cast<RankedTensorType>(expand.getSrc().getType()).getRank() != 1)
        return std::nullopt;
      auto src = pointer(expand.getSrc());
      if (src && expand.getAxis() == 0)
        src->offset = rowsToColumns(src->offset);
      return src;
    }
    if (auto add = dyn_cast<tz::AddPtrOp>(def)) {
      auto p = pointer(add.getPtr());
      auto off = integer(add.getOffset());
      if (!p || !off)
        return std::nullopt;
      p->offset = p->offset + *off;
      return p;
    }
    return std::nullopt;
  }

  // The conditions of `mask` as polynomials that must be negative, if it is
  // a conjunction of signed comparisons.
  bool conditions(Value mask, SmallVectorImpl<IndexPolynomial> &out) {
    Operation *def = mask.getDefiningOp();
    if (!def)
      return false;
    if (isa<arith::AndIOp>(def))
      return conditions(def->getOperand(0), out) && conditions(def->getOperand(1), out);
    if (isa<tz::BroadcastOp, ConvertLayoutOp>(def))
      return conditions(def->getOperand(0), out);
    if (auto expand = dyn_cast<tz::ExpandDimsOp>(def)) {
      if (cast<RankedTensorType>(expand.getSrc().getType()).getRank() != 1)
        return false;
      size_t first = out.size();
      if (!conditions(expand.getSrc(), out))
        return false;
      if (expand.getAxis() == 0)
        for (size_t i = first; i < out.size(); ++i)
          out[i] = rowsToColumns(out[i]);
      return true;
    }
    auto cmp = dyn_cast<arith::CmpIOp>(def);
    if (!cmp)
      return false;
    auto lhs = integer(cmp.getLhs()), rhs = integer(cmp.getRhs());
    if (!lhs || !rhs)
      return false;
    switch (cmp.getPredicate()) {
    case arith::CmpIPredicate::slt: out.push_back(*lhs - *rhs); return true;
    case arith::CmpIPredicate::sle: out.push_back(*lhs - *rhs - IndexPolynomial::constant(1)); return true;
    case arith::CmpIPredicate::sgt: out.push_back(*rhs - *lhs); return true;
    case arith::CmpIPredicate::sge: out.push_back(*rhs - *lhs - IndexPolynomial::constant(1)); return true;
    default: return false;
    }
  }
};

bool isPositiveZero(Value other) {
  auto cst = other.getDefiningOp<arith::ConstantOp>();
  auto dense = cst ? dyn_cast<DenseFPElementsAttr>(cst.getValue()) : DenseFPElementsAttr();
  if (!dense || !dense.isSplat())
    return false;
  APFloat v = dense.getSplatValue<APFloat>();
  return v.isZero() && !v.isNegative();
}

} // namespace

std::optional<TmaCopyPlan> planTmaCopy(tz::LoadOp load, scf::ForOp loop) {
  auto tile = dyn_cast<RankedTensorType>(load.getType());
  if (!tile || tile.getRank() != 2 || !(tile.getElementType().isBF16() || tile.getElementType().isF16()))
    return std::nullopt;
  const int64_t elementBytes = 2, boxColumns = 128 / elementBytes;
  int64_t rows = tile.getShape()[0], cols = tile.getShape()[1];
  // Each 128-byte column block of the swizzled tile must start 1024-byte
  // aligned, where TMA's swizzle pattern repeats: rows a multiple of 8.
  if (rows > 256 || rows % 8 != 0 || cols % boxColumns != 0)
    return std::nullopt;
  if (load.getOther() && !isPositiveZero(load.getOther()))
    return std::nullopt;
  auto func = load->getParentOfType<func::FuncOp>();
  if (!func || func.getBody().empty())
    return std::nullopt;
  Decomposer d{loop, func};

  auto address = d.pointer(load.getPtr());
  if (!address || d.divisibility(address->base) % 16 != 0)
    return std::nullopt;

  // offset = rowCoef * row + colCoef * col + rest.
  IndexPolynomial rowCoef, colCoef, rest;
  for (const auto &[m, c] : address->offset.terms) {
    int64_t nRow = llvm::count(m, kRow), nCol = llvm::count(m, kCol);
    if (nRow == 1 && nCol == 0)
      rowCoef = rowCoef + term(without(m, kRow), c);
    else if (nCol == 1 && nRow == 0)
      colCoef = colCoef + term(without(m, kCol), c);
    else if (nRow == 0 && nCol == 0)
      rest = rest + term(m, c);
    else
      return std::nullopt;
  }
  if (colCoef.asConstant() != 1)
    return std::nullopt;
  int64_t rowStrideConst = 0;
  BlockArgument rowStrideArg;
  if (auto c = rowCoef.asConstant()) {
    if (*c <= 0 || (*c * elementBytes) % 16 != 0)
      return std::nullopt;
    rowStrideConst = *c;
  } else {
    rowStrideArg = d.kernelArgument(rowCoef.asAtom());
    if (!rowStrideArg || !rowStrideArg.getType().isSignlessInteger() ||
        (d.divisibility(rowStrideArg) * elementBytes) % 16 != 0)
      return std::nullopt;
  }

  // The rest of the offset: row and column starts, and further dimensions
  // (x * s for an argument s whose elements make whole 16 bytes).
  IndexPolynomial rowStart, colStart;
  std::vector<std::pair<BlockArgument, IndexPolynomial>> extra;
  for (const auto &[m, c] : rest.terms) {
    if (rowStrideArg && llvm::is_contained(m, rowStrideArg.getAsOpaquePointer())) {
      rowStart = rowStart + term(without(m, rowStrideArg.getAsOpaquePointer()), c);
      continue;
    }
    if (rowStrideConst && c % rowStrideConst == 0) {
      rowStart = rowStart + term(m, c / rowStrideConst);
      continue;
    }
    BlockArgument stride;
    for (const void *a : m) {
      BlockArgument arg = d.kernelArgument(a);
      if (arg && arg.getType().isSignlessInteger() && (d.divisibility(arg) * elementBytes) % 16 == 0 &&
          (!stride || arg.getArgNumber() < stride.getArgNumber()))
        stride = arg;
    }
    if (!stride) {
      colStart = colStart + term(m, c);
      continue;
    }
    auto it = llvm::find_if(extra, [&](const auto &e) { return e.first == stride; });
    if (it == extra.end()) {
      extra.emplace_back(stride, IndexPolynomial());
      it = std::prev(extra.end());
    }
    it->second = it->second + term(without(m, stride.getAsOpaquePointer()), c);
  }
  if (extra.size() > 3)
    return std::nullopt;

  // Mask conditions index < bound become extents: start + index < start +
  // (bound - other terms), which must be a positive constant or an argument.
  IndexPolynomial *starts[2] = {&colStart, &rowStart};
  std::optional<IndexPolynomial> extent[2];
  if (Value mask = load.getMask()) {
    SmallVector<IndexPolynomial> conds;
    if (!d.conditions(mask, conds))
      return std::nullopt;
    for (const IndexPolynomial &cond : conds) {
      int dim = -1;
      IndexPolynomial q;
      for (const auto &[m, c] : cond.terms) {
        bool isRow = m == IndexPolynomial::Monomial{kRow}, isCol = m == IndexPolynomial::Monomial{kCol};
        if ((isRow || isCol) && c == 1 && dim < 0) {
          dim = isRow ? 1 : 0;
          continue;
        }
        if (llvm::is_contained(m, kRow) || llvm::is_contained(m, kCol))
          return std::nullopt;
        q = q + term(m, c);
      }
      if (dim < 0)
        return std::nullopt;
      IndexPolynomial e = *starts[dim] - q;
      if (extent[dim] && !(*extent[dim] == e))
        return std::nullopt;
      extent[dim] = e;
    }
  }

  MLIRContext *ctx = load.getContext();
  SmallVector<int64_t> box{boxColumns, rows}, extentArgs, extents, strideArgs, strides;
  for (int dim = 0; dim < 2; ++dim) {
    if (!extent[dim]) {
      extentArgs.push_back(-1);
      extents.push_back(-1);
    } else if (auto c = extent[dim]->asConstant()) {
      if (*c < 1)
        return std::nullopt;
      extentArgs.push_back(-1);
      extents.push_back(*c);
    } else if (BlockArgument arg = d.kernelArgument(extent[dim]->asAtom());
               arg && arg.getType().isSignlessInteger()) {
      extentArgs.push_back(arg.getArgNumber());
      extents.push_back(0);
    } else {
      return std::nullopt;
    }
  }
  strideArgs.push_back(rowStrideArg ? int64_t(rowStrideArg.getArgNumber()) : -1);
  strides.push_back(rowStrideArg ? 0 : rowStrideConst);
  TmaCopyPlan plan;
  plan.coords = {colStart, rowStart};
  for (auto &[stride, coord] : extra) {
    box.push_back(1);
    extentArgs.push_back(-1);
    extents.push_back(-1);
    strideArgs.push_back(stride.getArgNumber());
    strides.push_back(0);
    plan.coords.push_back(coord);
  }
  plan.spec = TensorMapSpecAttr::get(ctx, address->base.getArgNumber(), tile.getElementType(), 128, box, extentArgs,
                                     extents, strideArgs, strides);
  return plan;
}

Value materialize(OpBuilder &b, Location loc, const IndexPolynomial &p,
                  const std::function<Value(const void *)> &atomValue) {
  auto i32 = b.getI32Type();
  auto asI32 = [&](Value v) -> Value {
    if (v.getType().isInteger(32))
      return v;
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, i32, v);
    if (v.getType().getIntOrFloatBitWidth() > 32)
      return arith::TruncIOp::create(b, loc, i32, v);
    return arith::ExtSIOp::create(b, loc, i32, v);
  };
  Value sum;
  for (const auto &[m, c] : p.terms) {
    Value product;
    for (const void *a : m) {
      Value v = asI32(atomValue(a));
      product = product ? arith::MulIOp::create(b, loc, product, v).getResult() : v;
    }
    if (!product)
      product = arith::ConstantIntOp::create(b, loc, c, 32);
    else if (c != 1)
      product = arith::MulIOp::create(b, loc, product, arith::ConstantIntOp::create(b, loc, c, 32));
    sum = sum ? arith::AddIOp::create(b, loc, sum, product).getResult() : product;
  }
  return sum ? sum : arith::ConstantIntOp::create(b, loc, 0, 32).getResult();
}

} // namespace terrazzo::tzgpu
