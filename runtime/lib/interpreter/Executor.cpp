//===- Executor.cpp - op dispatch and value bookkeeping -------------------===//
#include "Executor.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>

using namespace mlir;

namespace terrazzo::interp {

namespace {
const HandlerTable &handlers() {
  static const HandlerTable table = [] {
    HandlerTable t;
    registerArithHandlers(t);
    registerArithCastHandlers(t);
    registerMathHandlers(t);
    registerScfHandlers(t);
    registerTzShapeHandlers(t);
    registerTzComputeHandlers(t);
    registerTzMemoryHandlers(t);
    registerTzDebugHandlers(t);
    return t;
  }();
  return table;
}
} // namespace

Executor::Executor(Memory &memory, std::string *printOutput)
    : memory_(memory), printOutput_(printOutput) {}

Operation *Executor::runBlock(Block &block, ArrayRef<TileRef> args) {
  for (auto [argument, tile] : llvm::zip(block.getArguments(), args))
    bind(argument, tile);
  Operation *terminator = &block.back();
  for (Operation &op : block) {
    if (&op == terminator)
      break;
    execute(op);
  }
  return terminator;
}

void Executor::execute(Operation &op) {
  const HandlerTable &table = handlers();
  auto it = table.find(op.getName().getTypeID());
  if (it == table.end())
    fail(&op, "the interpreter cannot execute '" + op.getName().getStringRef() + "'");
  it->second(*this, &op);
  if (op.getNumResults() != 0 && op.getNumRegions() == 0)
    inheritProvenance(op);
}

// A pointer computed from pointers (addptr, splat, broadcast, reshape,
// where, ...) keeps the buffer they all came from; pointers of different
// buffers, or made from integers, get none. Ops with regions bind their
// results to the yielded tiles, which already carry theirs.
void Executor::inheritProvenance(Operation &op) {
  Value result = op.getResult(0);
  if (!isa<tz::PointerType>(tz::getElementTypeOrSelf(result.getType())))
    return;
  int32_t buffer = -1;
  bool first = true;
  for (Value operand : op.getOperands()) {
    if (!isa<tz::PointerType>(tz::getElementTypeOrSelf(operand.getType())))
      continue;
    int32_t from = get(operand).buffer;
    buffer = first || from == buffer ? from : -1;
    first = false;
  }
  for (Value r : op.getResults())
    if (isa<tz::PointerType>(tz::getElementTypeOrSelf(r.getType())))
      values_[r]->buffer = buffer;
}

const TileRef &Executor::getRef(Value value) const {
  auto it = values_.find(value);
  if (it == values_.end()) {
    Operation *where = value.getDefiningOp();
    if (!where)
      where = value.getParentBlock()->getParentOp();
    fail(where, "internal error: a value is used before it was computed");
  }
  return it->second;
}

SmallVector<TileRef, 4> Executor::getRefs(ValueRange values) const {
  SmallVector<TileRef, 4> refs;
  refs.reserve(values.size());
  for (Value value : values)
    refs.push_back(getRef(value));
  return refs;
}

Tile &Executor::define(Value result) {
  Type type = result.getType();
  return define(result, elemKind(result.getDefiningOp(), type), shapeOf(type));
}

Tile &Executor::define(Value result, ElemKind kind, ArrayRef<int64_t> shape) {
  TileRef &slot = values_[result];
  if (!slot || slot.use_count() != 1)
    slot = std::make_shared<Tile>();
  slot->reset(kind, shape);
  return *slot;
}

ElemKind Executor::elemKind(Operation *op, Type type) {
  Type element = type;
  if (auto tile = dyn_cast<RankedTensorType>(type))
    element = tile.getElementType();
  if (auto kind = elemKindOf(element))
    return *kind;
  std::string name;
  llvm::raw_string_ostream os(name);
  os << element;
  fail(op, "the interpreter does not support values of type " + name);
}

namespace {
std::atomic<void (*)()> interruptCheck{nullptr};
} // namespace

void setInterruptCheck(void (*check)()) { interruptCheck = check; }

void Executor::checkInterrupt() {
  if (auto check = interruptCheck.load())
    check();
}

void Executor::fail(Operation *op, const Twine &message) {
  throw InterpreterError(op->getLoc(), message.str());
}

} // namespace terrazzo::interp
