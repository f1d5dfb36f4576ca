//===- Scratch.cpp - shared memory an op needs while it runs ---------------===//
#include "terrazzo/Dialect/TzGpu/Analysis/Scratch.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace terrazzo::tzgpu {

int64_t sharedStorageBytesOf(Type elementType) {
  if (elementType.isInteger(1))
    return 1;
  if (isa<tz::PointerType>(elementType))
    return 8;
  return std::max<int64_t>(1, elementType.getIntOrFloatBitWidth() / 8);
}

CoordMap remapCoordMap(Operation *op) {
  return llvm::TypeSwitch<Operation *, CoordMap>(op)
      .Case([](tz::BroadcastOp b) -> CoordMap {
        SmallVector<int64_t> srcShape(cast<RankedTensorType>(b.getSrc().getType()).getShape());
        return [srcShape](const Coord &c) {
          Coord out = c;
          for (size_t d = 0; d < srcShape.size(); ++d)
            if (srcShape[d] == 1)
              out[d] = 0;
          return out;
        };
      })
      .Case([](tz::ExpandDimsOp e) -> CoordMap {
        int axis = e.getAxis();
        return [axis](const Coord &c) {
          Coord out = c;
          out.erase(out.begin() + axis);
          return out;
        };
      })
      .Case([](tz::TransOp t) -> CoordMap {
        // Result dimension i is source dimension order[i].
        SmallVector<int32_t> order(t.getOrder());
        return [order](const Coord &c) {
          Coord out(c.size(), 0);
          for (size_t i = 0; i < order.size(); ++i)
            out[order[i]] = c[i];
          return out;
        };
      })
      .Case([](tz::ReshapeOp r) -> CoordMap {
        SmallVector<int64_t> srcShape(cast<RankedTensorType>(r.getSrc().getType()).getShape());
        SmallVector<int64_t> dstShape(r.getType().getShape());
        // Row-major position in the result, then coordinates in the source:
        // with power-of-two sizes this relabels bits, a linear map.
        return [srcShape, dstShape](const Coord &c) {
          int64_t index = 0;
          for (size_t d = 0; d < dstShape.size(); ++d)
            index = index * dstShape[d] + c[d];
          Coord out(srcShape.size(), 0);
          for (int d = srcShape.size() - 1; d >= 0; --d) {
            out[d] = index % srcShape[d];
            index /= srcShape[d];
          }
          return out;
        };
      })
      .Default([](Operation *) -> CoordMap { return [](const Coord &c) { return c; }; });
}

int64_t reduceAcrossWarpsBytes(const LinearLayout &layout, int axis, int64_t valueBytes, bool withIndex) {
  int warpBits = 0;
  for (const Coord &basis : layout.bases(LinearLayout::InDim::Warp))
    if (basis[axis] != 0)
      ++warpBits;
  if (warpBits == 0)
    return 0;
  int64_t slots = int64_t(1) << warpBits;
  int64_t outputs = std::max<int64_t>(1, layout.dropDim(axis).numElements());
  int64_t values = slots * outputs * valueBytes;
  return withIndex ? (values + 3) / 4 * 4 + 4 * slots * outputs + 4 : values;
}

int64_t reduceResultRemapBytes(const LinearLayout &sliced, const LinearLayout &resultLayout, int64_t valueBytes) {
  if (registerOnlyRemap(sliced, resultLayout))
    return 0;
  return sliced.numElements() * valueBytes;
}

namespace {

LinearLayout layoutOfTile(Type t) { return getLayout(cast<RankedTensorType>(t)); }

int64_t remapBytes(Operation *op, Value src) {
  auto srcType = cast<RankedTensorType>(src.getType());
  LinearLayout from = layoutOfTile(srcType), to = layoutOfTile(op->getResult(0).getType());
  if (registerOnlyRemap(from, to, remapCoordMap(op)))
    return 0;
  return from.numElements() * sharedStorageBytesOf(srcType.getElementType());
}

// An atomic's result goes from the threads that performed it to the
// copies that hold the same elements (a scalar result to every thread).
int64_t atomicResultBytes(Type resultType) {
  auto tile = dyn_cast<RankedTensorType>(resultType);
  if (!tile)
    return sharedStorageBytesOf(resultType);
  LinearLayout layout = layoutOfTile(tile);
  using D = LinearLayout::InDim;
  bool hasCopies = !layout.zeroBits(D::Lane).empty() || !layout.zeroBits(D::Warp).empty() ||
                   !layout.zeroBits(D::Register).empty();
  return hasCopies ? layout.numElements() * sharedStorageBytesOf(tile.getElementType()) : 0;
}

int64_t reduceBytes(tz::ReduceOp op) {
  auto srcType = cast<RankedTensorType>(op.getSrc().getType());
  LinearLayout layout = layoutOfTile(srcType);
  if (!layout.basesAreAxisAligned())
    return 0; // not lowered
  bool isArg = op.getKind() == tz::ReduceKind::Argmax || op.getKind() == tz::ReduceKind::Argmin;
  int axis = op.getAxis();
  int64_t valueBytes = sharedStorageBytesOf(srcType.getElementType());
  int64_t bytes = reduceAcrossWarpsBytes(layout, axis, valueBytes, isArg);
  if (srcType.getRank() > 1)
    bytes = std::max(bytes, reduceResultRemapBytes(layout.dropDim(axis), layoutOfTile(op.getType()),
                                                   isArg ? 4 : valueBytes));
  return bytes;
}

} // namespace

ScratchNeed scratchNeed(Operation *op) {
  return llvm::TypeSwitch<Operation *, ScratchNeed>(op)
      .Case<ConvertLayoutOp, tz::BroadcastOp, tz::ExpandDimsOp, tz::TransOp, tz::ReshapeOp>(
          [](Operation *o) { return ScratchNeed{remapBytes(o, o->getOperand(0))}; })
      .Case([](tz::ReduceOp r) { return ScratchNeed{reduceBytes(r)}; })
      .Case([](tz::ScanOp s) {
        auto type = cast<RankedTensorType>(s.getType());
        return ScratchNeed{type.getNumElements() * sharedStorageBytesOf(type.getElementType())};
      })
      .Case<tz::AtomicRMWOp, tz::AtomicCASOp>(
          [](Operation *o) { return ScratchNeed{atomicResultBytes(o->getResult(0).getType())}; })
      .Case([](tz::DotOp d) {
        if (cast<RankedTensorType>(d.getA().getType()).getRank() != 2)
          return ScratchNeed{};
        DotPlan plan = planDot(d);
        return ScratchNeed{plan.scratchBytes(), plan.scratchAlignment()};
      })
      .Default([](Operation *) { return ScratchNeed{}; });
}

} // namespace terrazzo::tzgpu
