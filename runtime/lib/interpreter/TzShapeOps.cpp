//===- TzShapeOps.cpp - program ids, tile creation and reshaping ----------===//
#include "Executor.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::interp {
namespace {

void runProgramId(Executor &ex, Operation *raw) {
  auto op = cast<tz::ProgramIdOp>(raw);
  ex.define(op.getResult()).i[0] = ex.programId()[op.getAxis()];
}

void runNumPrograms(Executor &ex, Operation *raw) {
  auto op = cast<tz::NumProgramsOp>(raw);
  ex.define(op.getResult()).i[0] = ex.grid()[op.getAxis()];
}

// A range does not depend on the program: build it once per op.
void runMakeRange(Executor &ex, Operation *raw) {
  auto op = cast<tz::MakeRangeOp>(raw);
  TileRef tile = ex.cachedValue(raw);
  if (!tile) {
    tile = std::make_shared<Tile>();
    tile->reset(ElemKind::I32, op.getType().getShape());
    int64_t start = op.getStart();
    for (size_t k = 0; k < tile->i.size(); ++k)
      tile->i[k] = start + static_cast<int64_t>(k);
    ex.cacheValue(raw, tile);
  }
  ex.bind(op.getResult(), tile);
}

void runSplat(Executor &ex, Operation *raw) {
  auto op = cast<tz::SplatOp>(raw);
  const Tile &source = ex.get(op.getSrc());
  Tile &out = ex.define(op.getResult());
  if (out.isFloat())
    std::fill(out.f.begin(), out.f.end(), source.f[0]);
  else
    std::fill(out.i.begin(), out.i.end(), source.i[0]);
}

// Copies `source` into `out` gathering with the given strides over out's shape.
void gatherInto(const Tile &source, Tile &out, ArrayRef<int64_t> strides) {
  if (out.isFloat())
    stridedGather(source.f.data(), out.f.data(), out.shape, strides);
  else
    stridedGather(source.i.data(), out.i.data(), out.shape, strides);
}

void runBroadcast(Executor &ex, Operation *raw) {
  auto op = cast<tz::BroadcastOp>(raw);
  const Tile &source = ex.get(op.getSrc());
  Tile &out = ex.define(op.getResult());
  // A size-1 source dimension is repeated: stride 0.
  SmallVector<int64_t, 4> strides = rowMajorStrides(source.shape);
  for (size_t d = 0; d < strides.size(); ++d)
    if (source.shape[d] == 1)
      strides[d] = 0;
  gatherInto(source, out, strides);
}

void runTrans(Executor &ex, Operation *raw) {
  auto op = cast<tz::TransOp>(raw);
  const Tile &source = ex.get(op.getSrc());
  Tile &out = ex.define(op.getResult());
  // Result dimension d walks source dimension order[d].
  SmallVector<int64_t, 4> sourceStrides = rowMajorStrides(source.shape);
  SmallVector<int64_t, 4> strides;
  for (int32_t d : op.getOrder())
    strides.push_back(sourceStrides[d]);
  gatherInto(source, out, strides);
}

// expand_dims and reshape keep the row-major element order: only the shape
// changes.
void runReshapeLike(Executor &ex, Operation *op) {
  const Tile &source = ex.get(op->getOperand(0));
  Tile &out = ex.define(op->getResult(0));
  if (out.isFloat())
    out.f = source.f;
  else
    out.i = source.i;
}

} // namespace

void registerTzShapeHandlers(HandlerTable &table) {
  addHandler<tz::ProgramIdOp>(table, runProgramId);
  addHandler<tz::NumProgramsOp>(table, runNumPrograms);
  addHandler<tz::MakeRangeOp>(table, runMakeRange);
  addHandler<tz::SplatOp>(table, runSplat);
  addHandler<tz::BroadcastOp>(table, runBroadcast);
  addHandler<tz::TransOp>(table, runTrans);
  addHandler<tz::ExpandDimsOp>(table, runReshapeLike);
  addHandler<tz::ReshapeOp>(table, runReshapeLike);
}

} // namespace terrazzo::interp
