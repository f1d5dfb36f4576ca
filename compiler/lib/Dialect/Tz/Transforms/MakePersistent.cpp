//===- MakePersistent.cpp - one program walks several tiles ---------------===//
//
// A persistent kernel is launched with about as many programs as the GPU
// holds at once, and each program loops over the tiles of the grid the
// author asked for. The author's kernel stays as written: this pass wraps
// its body in the tile loop and gives program_id / num_programs the values
// of the tile being computed, so the body cannot tell the difference.
//
// What the author's body may rely on and the loop must preserve:
//  - every op of the body runs once per tile, in order: the body has to be
//    one block ending in a plain return (an early return would leave the
//    loop, skipping the program's other tiles);
//  - program ids are those of the author's grid: every tz.program_id and
//    tz.num_programs is in the kernel itself (a call that was not inlined
//    could read the hardware's ids).
//
//===----------------------------------------------------------------------===//
#include "terrazzo/Dialect/Tz/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

using namespace mlir;

namespace terrazzo::tz {
#define GEN_PASS_DEF_TZMAKEPERSISTENT
#include "terrazzo/Dialect/Tz/Transforms/Passes.h.inc"

namespace {

// Why `fn` cannot be made persistent (reported at `at`), or success.
LogicalResult checkSupported(func::FuncOp fn) {
  if (fn->hasAttr(kPersistentGridAttrName))
    return fn.emitError("the kernel '") << fn.getName() << "' is already persistent";
  if (fn.isExternal())
    return fn.emitError("the kernel '") << fn.getName() << "' has no body to make persistent";
  if (!fn.getBody().hasOneBlock())
    return fn.emitError("a persistent kernel must run its whole body for every tile; '")
           << fn.getName() << "' has several blocks (a return before its end)";
  auto ret = dyn_cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  if (!ret)
    return fn.emitError("the body of '") << fn.getName() << "' does not end in a return";
  if (ret.getNumOperands() != 0)
    return ret.emitError("a persistent kernel cannot return values");
  WalkResult calls = fn.walk([](func::CallOp call) {
    call.emitError("a persistent kernel cannot call '")
        << call.getCallee() << "' without inlining it: its program ids would be the hardware's, not the tile's";
    return WalkResult::interrupt();
  });
  return failure(calls.wasInterrupted());
}

// Coordinate `axis` of tile `tile` in `grid`, axis 0 fastest (`plane`:
// grid[0] * grid[1]).
Value tileCoordinate(OpBuilder &b, Location loc, Value tile, ArrayRef<Value> grid, Value plane, int axis) {
  switch (axis) {
  case 0:
    return arith::RemUIOp::create(b, loc, tile, grid[0]);
  case 1:
    return arith::RemUIOp::create(b, loc, arith::DivUIOp::create(b, loc, tile, grid[0]), grid[1]);
  default:
    return arith::DivUIOp::create(b, loc, tile, plane);
  }
}

void makePersistent(func::FuncOp fn) {
  MLIRContext *ctx = fn.getContext();
  Location loc = fn.getLoc();
  Type i32 = IntegerType::get(ctx, 32);
  unsigned first = fn.getNumArguments();
  SmallVector<unsigned> at(3, first);
  SmallVector<Type> types(3, i32);
  SmallVector<DictionaryAttr> attrs(3, DictionaryAttr::get(ctx));
  SmallVector<Location> locs(3, loc);
  // func.func accepts any extra arguments: this cannot fail.
  (void)fn.insertArguments(at, types, attrs, locs);
  fn->setAttr(kPersistentGridAttrName, IntegerAttr::get(i32, first));
  SmallVector<Value> grid(fn.getArguments().take_back(3));

  Block &body = fn.getBody().front();
  Operation *ret = body.getTerminator();
  // The author's ops, before anything is added.
  SmallVector<ProgramIdOp> programIds;
  SmallVector<NumProgramsOp> numPrograms;
  fn.walk([&](Operation *op) {
    if (auto id = dyn_cast<ProgramIdOp>(op))
      programIds.push_back(id);
    else if (auto n = dyn_cast<NumProgramsOp>(op))
      numPrograms.push_back(n);
  });

  OpBuilder b(ctx);
  b.setInsertionPointToStart(&body);
  Value firstTile = ProgramIdOp::create(b, loc, i32, int32_t(0));
  Value programs = NumProgramsOp::create(b, loc, i32, int32_t(0));
  Value plane = arith::MulIOp::create(b, loc, grid[0], grid[1]);
  Value tiles = arith::MulIOp::create(b, loc, plane, grid[2]);
  auto loop = scf::ForOp::create(b, loc, firstTile, tiles, programs);
  loop->setAttr(kPersistentTileLoopAttrName, UnitAttr::get(ctx));
  Block *loopBody = loop.getBody();
  // Everything between the loop and the return moves into the loop, before
  // its yield.
  loopBody->getOperations().splice(loopBody->getTerminator()->getIterator(), body.getOperations(),
                                   std::next(loop->getIterator()), ret->getIterator());

  // The coordinates the body asks for, computed once at the top of the loop
  // (before any op is erased: the builder points at the first of them).
  b.setInsertionPointToStart(loopBody);
  Value tile = loop.getInductionVar();
  std::array<Value, 3> coordinate;
  for (ProgramIdOp id : programIds) {
    int axis = id.getAxis();
    if (!coordinate[axis] && !id->use_empty())
      coordinate[axis] = tileCoordinate(b, id.getLoc(), tile, grid, plane, axis);
  }
  for (ProgramIdOp id : programIds) {
    if (!id->use_empty())
      id.replaceAllUsesWith(coordinate[id.getAxis()]);
    id.erase();
  }
  for (NumProgramsOp n : numPrograms) {
    n.replaceAllUsesWith(grid[n.getAxis()]);
    n.erase();
  }

  // Scalar work that does not depend on the tile (index arithmetic on the
  // arguments) runs once per program. Tiles stay where they are: hoisted,
  // they would hold registers through every tile's epilogue.
  moveLoopInvariantCode(
      {&loop.getRegion()}, [&](Value v, Region *) { return loop.isDefinedOutsideOfLoop(v); },
      [](Operation *op, Region *) {
        return op->getNumRegions() == 0 && isMemoryEffectFree(op) && isSpeculatable(op) &&
               llvm::none_of(op->getResultTypes(), [](Type t) { return isa<ShapedType>(t); });
      },
      [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
}

struct MakePersistent : impl::TzMakePersistentBase<MakePersistent> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> kernels;
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (fn->hasAttr(kKernelAttrName))
        kernels.push_back(fn);
    for (func::FuncOp fn : kernels) {
      if (failed(checkSupported(fn)))
        return signalPassFailure();
      makePersistent(fn);
    }
  }
};

} // namespace
} // namespace terrazzo::tz
