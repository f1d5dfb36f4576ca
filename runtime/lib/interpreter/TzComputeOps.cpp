//===- TzComputeOps.cpp - tz.dot, tz.reduce, tz.scan ----------------------===//
//
// Sums and products are carried in double (wrapping int64 for integers) and
// rounded once per output element to the result type; max and min propagate
// NaN like numpy; argmax and argmin give the first extreme (a NaN counts as
// the extreme).
#include "Executor.h"
#include "FloatRounding.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace mlir;

namespace terrazzo::interp {
namespace {

//===----------------------------------------------------------------------===//
// tz.dot
//===----------------------------------------------------------------------===//

// c[i][j] for j in [j0, j0 + kDotBlock): acc[i][j] + the sum over p of
// a[i][p] * b[p][j], with the partial sums held in registers across the whole
// p loop. Every element adds acc first and then p = 0..k-1 in order, so the
// blocking does not change results.
constexpr int64_t kDotBlock = 8;

void dotRowBlock(const double *aRow, const double *b, const double *accRow, double *cRow,
                 int64_t k, int64_t n, int64_t j0) {
  double sums[kDotBlock];
  for (int64_t jj = 0; jj < kDotBlock; ++jj)
    sums[jj] = accRow[j0 + jj];
  for (int64_t p = 0; p < k; ++p) {
    double aip = aRow[p];
    const double *bRow = b + p * n + j0;
    for (int64_t jj = 0; jj < kDotBlock; ++jj)
      sums[jj] += aip * bRow[jj];
  }
  for (int64_t jj = 0; jj < kDotBlock; ++jj)
    cRow[j0 + jj] = sums[jj];
}

void runDot(Executor &ex, Operation *raw) {
  auto op = cast<tz::DotOp>(raw);
  const Tile &a = ex.get(op.getA()), &b = ex.get(op.getB()), &acc = ex.get(op.getAcc());
  Tile &out = ex.define(op.getResult());
  int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  int64_t blocked = n - n % kDotBlock;
  for (int64_t i = 0; i < m; ++i) {
    const double *aRow = a.f.data() + i * k;
    const double *accRow = acc.f.data() + i * n;
    double *cRow = out.f.data() + i * n;
    for (int64_t j0 = 0; j0 < blocked; j0 += kDotBlock)
      dotRowBlock(aRow, b.f.data(), accRow, cRow, k, n, j0);
    for (int64_t j = blocked; j < n; ++j) { // tiles narrower than a block
      double sum = accRow[j];
      for (int64_t p = 0; p < k; ++p)
        sum += aRow[p] * b.f[p * n + j];
      cRow[j] = sum;
    }
  }
  roundAllToKind(out.f, out.kind);
}

//===----------------------------------------------------------------------===//
// Axis view shared by reduce and scan
//===----------------------------------------------------------------------===//

// A tile seen as [outer][length][inner] around the reduced axis, so the
// innermost loops run over contiguous elements.
struct AxisView {
  int64_t outer = 1, length = 1, inner = 1;
  int64_t at(int64_t o, int64_t a) const { return (o * length + a) * inner; }
};

AxisView viewAround(ArrayRef<int64_t> shape, int64_t axis) {
  AxisView view;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < axis)
      view.outer *= shape[d];
    else if (d == axis)
      view.length = shape[d];
    else
      view.inner *= shape[d];
  }
  return view;
}

// NaN-propagating max and min (numpy semantics).
double maxPropagatingNaN(double acc, double x) {
  if (std::isnan(acc) || std::isnan(x))
    return std::isnan(acc) ? acc : x;
  return x > acc ? x : acc;
}
double minPropagatingNaN(double acc, double x) {
  if (std::isnan(acc) || std::isnan(x))
    return std::isnan(acc) ? acc : x;
  return x < acc ? x : acc;
}

// The combining function of a reduce kind, called with a functor taking
// (accumulator, element). Integer sums and products wrap in uint64 and are
// narrowed afterwards.
template <typename Body>
void withFloatCombiner(tz::ReduceKind kind, Body &&body) {
  switch (kind) {
  case tz::ReduceKind::Sum:
    return body([](double acc, double x) { return acc + x; });
  case tz::ReduceKind::Prod:
    return body([](double acc, double x) { return acc * x; });
  case tz::ReduceKind::Max:
    return body([](double acc, double x) { return maxPropagatingNaN(acc, x); });
  default:
    return body([](double acc, double x) { return minPropagatingNaN(acc, x); });
  }
}

template <typename Body>
void withIntCombiner(tz::ReduceKind kind, Body &&body) {
  switch (kind) {
  case tz::ReduceKind::Sum:
    return body([](int64_t acc, int64_t x) { return int64_t(uint64_t(acc) + uint64_t(x)); });
  case tz::ReduceKind::Prod:
    return body([](int64_t acc, int64_t x) { return int64_t(uint64_t(acc) * uint64_t(x)); });
  case tz::ReduceKind::Max:
    return body([](int64_t acc, int64_t x) { return std::max(acc, x); });
  case tz::ReduceKind::Min:
    return body([](int64_t acc, int64_t x) { return std::min(acc, x); });
  default: // xor_sum
    return body([](int64_t acc, int64_t x) { return acc ^ x; });
  }
}

// Integer elements as reductions compare them: i1 as unsigned (0/1) so that
// max is "any" and min is "all"; wider types signed, as stored.
std::vector<int64_t> comparableInts(const Tile &tile) {
  std::vector<int64_t> values(tile.i.begin(), tile.i.end());
  if (tile.kind == ElemKind::I1)
    for (int64_t &v : values)
      v &= 1;
  return values;
}

//===----------------------------------------------------------------------===//
// tz.reduce
//===----------------------------------------------------------------------===//

template <typename T, typename Combine>
void reduceAxis(const T *x, T *out, const AxisView &view, Combine combine) {
  for (int64_t o = 0; o < view.outer; ++o) {
    T *dst = out + o * view.inner;
    std::copy(x + view.at(o, 0), x + view.at(o, 0) + view.inner, dst);
    for (int64_t a = 1; a < view.length; ++a) {
      const T *row = x + view.at(o, a);
      for (int64_t j = 0; j < view.inner; ++j)
        dst[j] = combine(dst[j], row[j]);
    }
  }
}

// Index along the axis of the first element `better` than all before it.
template <typename T, typename Better>
void argReduceAxis(const T *x, int64_t *out, const AxisView &view, Better better) {
  std::vector<T> best(view.inner);
  for (int64_t o = 0; o < view.outer; ++o) {
    int64_t *dst = out + o * view.inner;
    std::copy(x + view.at(o, 0), x + view.at(o, 0) + view.inner, best.begin());
    std::fill(dst, dst + view.inner, 0);
    for (int64_t a = 1; a < view.length; ++a) {
      const T *row = x + view.at(o, a);
      for (int64_t j = 0; j < view.inner; ++j) {
        if (better(row[j], best[j])) {
          best[j] = row[j];
          dst[j] = a;
        }
      }
    }
  }
}

void runReduce(Executor &ex, Operation *raw) {
  auto op = cast<tz::ReduceOp>(raw);
  const Tile &source = ex.get(op.getSrc());
  Tile &out = ex.define(op.getResult());
  AxisView view = viewAround(source.shape, op.getAxis());
  tz::ReduceKind kind = op.getKind();
  bool isArg = kind == tz::ReduceKind::Argmax || kind == tz::ReduceKind::Argmin;
  bool isMax = kind == tz::ReduceKind::Argmax;

  if (source.isFloat()) {
    const double *x = source.f.data();
    if (isArg) {
      // A NaN beats everything but an earlier NaN.
      if (isMax)
        argReduceAxis(x, out.i.data(), view, [](double v, double best) {
          return !std::isnan(best) && (std::isnan(v) || v > best);
        });
      else
        argReduceAxis(x, out.i.data(), view, [](double v, double best) {
          return !std::isnan(best) && (std::isnan(v) || v < best);
        });
      return;
    }
    withFloatCombiner(kind, [&](auto combine) { reduceAxis(x, out.f.data(), view, combine); });
    roundAllToKind(out.f, out.kind);
    return;
  }

  std::vector<int64_t> values = comparableInts(source);
  if (isArg) {
    if (isMax)
      argReduceAxis(values.data(), out.i.data(), view,
                    [](int64_t v, int64_t best) { return v > best; });
    else
      argReduceAxis(values.data(), out.i.data(), view,
                    [](int64_t v, int64_t best) { return v < best; });
    return;
  }
  withIntCombiner(kind, [&](auto combine) { reduceAxis(values.data(), out.i.data(), view, combine); });
  unsigned bits = intBitWidth(out.kind);
  for (int64_t &v : out.i)
    v = wrapToWidth(static_cast<uint64_t>(v), bits);
}

//===----------------------------------------------------------------------===//
// tz.scan
//===----------------------------------------------------------------------===//

// Inclusive scan along the axis, first to last or last to first.
template <typename T, typename Combine>
void scanAxis(const T *x, T *out, const AxisView &view, bool reverse, Combine combine) {
  for (int64_t o = 0; o < view.outer; ++o) {
    for (int64_t s = 0; s < view.length; ++s) {
      int64_t a = reverse ? view.length - 1 - s : s;
      const T *row = x + view.at(o, a);
      T *dst = out + view.at(o, a);
      if (s == 0) {
        std::copy(row, row + view.inner, dst);
        continue;
      }
      const T *previous = out + view.at(o, reverse ? a + 1 : a - 1);
      for (int64_t j = 0; j < view.inner; ++j)
        dst[j] = combine(previous[j], row[j]);
    }
  }
}

void runScan(Executor &ex, Operation *raw) {
  auto op = cast<tz::ScanOp>(raw);
  const Tile &source = ex.get(op.getSrc());
  Tile &out = ex.define(op.getResult());
  AxisView view = viewAround(source.shape, op.getAxis());
  bool reverse = op.getReverse();
  if (source.isFloat()) {
    // The running value stays in double; each output is rounded once.
    withFloatCombiner(op.getKind(), [&](auto combine) {
      scanAxis(source.f.data(), out.f.data(), view, reverse, combine);
    });
    roundAllToKind(out.f, out.kind);
    return;
  }
  std::vector<int64_t> values = comparableInts(source);
  withIntCombiner(op.getKind(), [&](auto combine) {
    scanAxis(values.data(), out.i.data(), view, reverse, combine);
  });
  unsigned bits = intBitWidth(out.kind);
  for (int64_t &v : out.i)
    v = wrapToWidth(static_cast<uint64_t>(v), bits);
}

} // namespace

void registerTzComputeHandlers(HandlerTable &table) {
  addHandler<tz::DotOp>(table, runDot);
  addHandler<tz::ReduceOp>(table, runReduce);
  addHandler<tz::ScanOp>(table, runScan);
}

} // namespace terrazzo::interp
