//===- MmaInFlight.h - which warpgroup MMAs may outlive their iteration -*- C++ -*-===//
//
// A warpgroup MMA runs asynchronously. In a loop like a GEMM's main loop,
//
//   for k: acc = dot(a(k), b(k), acc)
//
// nothing but the next iteration's MMA reads the accumulator, and chained
// MMAs on the same registers may be in flight together: iteration k need
// not wait for its MMA before the loads of iteration k + 1 are issued. The
// MMA still reads its operand buffers while in flight, so the loop's
// copies must not refill the slot it reads until a later wait retires it.
// tzgpu-pipeline keeps one slot more for that, and
// tzgpu-defer-warp-group-dot-waits moves the wait; both ask this one
// function whether the loop qualifies.
#pragma once

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <optional>

namespace terrazzo::tzgpu {

// The iteration-argument index of `acc` if the MMA `mma` (directly in the
// body of an scf.for) accumulates across iterations: `acc` is an iteration
// argument used by `mma` alone, and `result` (the MMA's value at the end of
// the iteration) is used by nothing but the yield of that same argument.
std::optional<unsigned> carriedAccumulator(mlir::Operation *mma, mlir::Value acc, mlir::Value result);

// How many groups of warpgroup MMAs `loop` may leave in flight at the end
// of an iteration: 1 when its body holds exactly one dot, a warpgroup MMA
// whose accumulator is carried (carriedAccumulator), else 0. Recognises the
// dot before tzgpu-lower-warp-group-dots (a tz.dot planned for wgmma), after
// it (tzgpu.warp_group_dot followed by its wait), and after the wait was
// deferred (the MMA's result yielded directly).
int mmaGroupsInFlight(mlir::scf::ForOp loop);

} // namespace terrazzo::tzgpu
