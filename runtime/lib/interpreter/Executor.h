// The op-by-op executor shared by every op handler.
//
// An Executor runs the ops of one block after another, dispatching each to
// the handler registered for its op class (one hash lookup on the op's
// TypeID). It holds the values of the program being run, keyed by SSA value,
// and what every handler needs: the program id, memory, the print sink. Op
// handlers live in one file per family (arith, math, scf, tz ...) and add
// themselves to the dispatch table through the register functions below.
#pragma once

#include "Memory.h"
#include "Tile.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/TypeID.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/Twine.h"

#include <array>
#include <string>

namespace terrazzo::interp {

class Executor;
using OpHandler = void (*)(Executor &, mlir::Operation *);
using HandlerTable = llvm::DenseMap<mlir::TypeID, OpHandler>;

template <typename OpT>
void addHandler(HandlerTable &table, OpHandler handler) {
  table[mlir::TypeID::get<OpT>()] = handler;
}

void registerArithHandlers(HandlerTable &table);
void registerArithCastHandlers(HandlerTable &table);
void registerMathHandlers(HandlerTable &table);
void registerScfHandlers(HandlerTable &table);
void registerTzShapeHandlers(HandlerTable &table);
void registerTzComputeHandlers(HandlerTable &table);
void registerTzMemoryHandlers(HandlerTable &table);
void registerTzDebugHandlers(HandlerTable &table);

class Executor {
public:
  Executor(Memory &memory, std::string *printOutput);

  Memory &memory() { return memory_; }
  std::string *printOutput() { return printOutput_; }

  void setProgram(const std::array<int64_t, 3> &id, const std::array<int64_t, 3> &grid) {
    programId_ = id;
    grid_ = grid;
  }
  const std::array<int64_t, 3> &programId() const { return programId_; }
  const std::array<int64_t, 3> &grid() const { return grid_; }

  // Binds the arguments of `block` to `args`, runs every op but the
  // terminator and returns the terminator, which the caller interprets.
  mlir::Operation *runBlock(mlir::Block &block, llvm::ArrayRef<TileRef> args);

  // Runs one op through its handler.
  void execute(mlir::Operation &op);

  // The current value of `value` (defined earlier in this program).
  const Tile &get(mlir::Value value) const { return *getRef(value); }
  const TileRef &getRef(mlir::Value value) const;
  // The tiles of several values, e.g. the operands of a terminator.
  llvm::SmallVector<TileRef, 4> getRefs(mlir::ValueRange values) const;

  // Makes `value` refer to `tile` (shared, not copied).
  void bind(mlir::Value value, TileRef tile) { values_[value] = std::move(tile); }

  // A fresh tile for the op result `result`, with the kind and shape of its
  // type (or the ones given), bound to it and returned for the handler to fill.
  // The storage of the value's previous tile (from the last loop iteration) is
  // reused when nothing else refers to it.
  Tile &define(mlir::Value result);
  Tile &define(mlir::Value result, ElemKind kind, llvm::ArrayRef<int64_t> shape);

  // The element kind of a scalar-or-tile type; an error at `op` if the
  // interpreter does not model it.
  static ElemKind elemKind(mlir::Operation *op, mlir::Type type);

  // Values computed once per op and kept across iterations and programs
  // (constants, ranges). Returns null when `op` has none yet.
  TileRef cachedValue(mlir::Operation *op) const { return cache_.lookup(op); }
  void cacheValue(mlir::Operation *op, TileRef tile) { cache_[op] = std::move(tile); }

  [[noreturn]] static void fail(mlir::Operation *op, const llvm::Twine &message);

  // Called once per loop iteration: every 4096th calls the interrupt check
  // (which may throw), so an endless loop can still be stopped.
  void countIteration() {
    if ((++iterations_ & 4095) == 0)
      checkInterrupt();
  }
  static void checkInterrupt();

private:
  void inheritProvenance(mlir::Operation &op);

  Memory &memory_;
  std::string *printOutput_;
  std::array<int64_t, 3> programId_ = {0, 0, 0};
  std::array<int64_t, 3> grid_ = {1, 1, 1};
  llvm::DenseMap<mlir::Value, TileRef> values_;
  llvm::DenseMap<mlir::Operation *, TileRef> cache_;
  uint64_t iterations_ = 0;
};

} // namespace terrazzo::interp
