//===- LayoutRematerialization.cpp - tiles rebuilt in another layout -----===//
#include "LayoutRematerialization.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace terrazzo::tzgpu {

namespace {
// Copying more than this many ops to save one conversion stops paying.
constexpr int kRebuildBudget = 64;

std::optional<LinearLayout> layoutOfValue(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.getEncoding())
    return std::nullopt;
  return getLayout(type);
}

} // namespace

std::optional<LinearLayout> operandLayoutFor(Operation *op, const LinearLayout &layout) {
  if (auto broadcast = dyn_cast<tz::BroadcastOp>(op))
    return layout.broadcastSource(cast<RankedTensorType>(broadcast.getSrc().getType()).getShape());
  if (auto expand = dyn_cast<tz::ExpandDimsOp>(op)) {
    if (!layout.basesAreAxisAligned())
      return std::nullopt;
    return layout.dropDim(expand.getAxis());
  }
  if (auto trans = dyn_cast<tz::TransOp>(op)) {
    ArrayRef<int32_t> order = trans.getOrder();
    SmallVector<int32_t> inverse(order.size());
    for (size_t i = 0; i < order.size(); ++i)
      inverse[order[i]] = i;
    return layout.permuted(inverse);
  }
  if (isa<ConvertLayoutOp>(op))
    return layout;
  return std::nullopt;
}

namespace {

bool isSplatConstant(Operation *op) {
  auto constant = dyn_cast<arith::ConstantOp>(op);
  if (!constant)
    return false;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  return dense && dense.isSplat();
}

// Made from scalars alone: the same in any layout.
bool isLeafTile(Operation *op) { return isa<tz::MakeRangeOp, tz::SplatOp>(op) || isSplatConstant(op); }

void setInsertionAfterDef(OpBuilder &b, Value v) {
  if (Operation *def = v.getDefiningOp())
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
}
} // namespace

bool isElementwise(Operation *op) {
  if (op->getNumResults() != 1 || op->getNumRegions() != 0)
    return false;
  bool arithmetic = isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) && !isa<arith::ConstantOp>(op);
  if (!arithmetic && !isa<tz::AddPtrOp>(op))
    return false;
  auto result = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!result)
    return false;
  for (Value operand : op->getOperands())
    if (auto tile = dyn_cast<RankedTensorType>(operand.getType()); tile && tile.getShape() != result.getShape())
      return false;
  return true;
}

RankedTensorType retyped(Value v, const LinearLayout &layout) {
  return withLayout(cast<RankedTensorType>(v.getType()), layout);
}

bool TileRebuilder::canRebuild(Value v, const LinearLayout &layout) {
  int budget = kRebuildBudget;
  return canRebuild(v, layout, budget);
}

bool TileRebuilder::canRebuild(Value v, const LinearLayout &layout, int &budget) {
  std::optional<LinearLayout> current = layoutOfValue(v);
  if (!current)
    return false;
  if (*current == layout || registerOnlyRemap(*current, layout))
    return true;
  if (built_.count({v, retyped(v, layout)}))
    return true;
  Operation *op = v.getDefiningOp();
  if (!op || --budget < 0)
    return false;
  if (isLeafTile(op))
    return true;
  if (isElementwise(op)) {
    for (Value operand : op->getOperands())
      if (isa<RankedTensorType>(operand.getType()) && !canRebuild(operand, layout, budget))
        return false;
    return true;
  }
  std::optional<LinearLayout> operandLayout = operandLayoutFor(op, layout);
  return operandLayout && canRebuild(op->getOperand(0), *operandLayout, budget);
}

Value TileRebuilder::rebuild(Value v, const LinearLayout &layout) {
  LinearLayout current = *layoutOfValue(v);
  if (current == layout)
    return v;
  RankedTensorType type = retyped(v, layout);
  if (Value done = built_.lookup({v, type}))
    return done;
  OpBuilder b(v.getContext());
  Value out;
  Operation *op = v.getDefiningOp();
  if (registerOnlyRemap(current, layout) || !op) {
    // Moves between registers of each thread: the lowering emits nothing.
    setInsertionAfterDef(b, v);
    out = ConvertLayoutOp::create(b, v.getLoc(), type, v);
  } else if (isSplatConstant(op)) {
    b.setInsertionPointAfter(op);
    auto dense = cast<DenseElementsAttr>(cast<arith::ConstantOp>(op).getValue());
    out = arith::ConstantOp::create(b, op->getLoc(), type,
                                    DenseElementsAttr::get(type, dense.getSplatValue<Attribute>()));
  } else {
    SmallVector<Value> operands;
    if (isElementwise(op)) {
      for (Value operand : op->getOperands())
        operands.push_back(isa<RankedTensorType>(operand.getType()) ? rebuild(operand, layout) : operand);
    } else if (!isLeafTile(op)) {
      std::optional<LinearLayout> operandLayout = operandLayoutFor(op, layout);
      assert(operandLayout && "rebuild needs canRebuild");
      if (isa<ConvertLayoutOp>(op))
        return built_[{v, type}] = rebuild(op->getOperand(0), *operandLayout);
      operands.push_back(rebuild(op->getOperand(0), *operandLayout));
    } else {
      operands.assign(op->getOperands().begin(), op->getOperands().end());
    }
    // Rebuilt operands may be defined after `op` (copies go after their
    // originals), so the copy goes after the last of them.
    Operation *after = op;
    for (Value operand : operands)
      if (Operation *def = operand.getDefiningOp(); def && def->getBlock() == op->getBlock() &&
                                                    after->isBeforeInBlock(def))
        after = def;
    b.setInsertionPointAfter(after);
    Operation *copy = b.clone(*op);
    copy->setOperands(operands);
    copy->getResult(0).setType(type);
    out = copy->getResult(0);
  }
  built_[{v, type}] = out;
  return out;
}

} // namespace terrazzo::tzgpu
