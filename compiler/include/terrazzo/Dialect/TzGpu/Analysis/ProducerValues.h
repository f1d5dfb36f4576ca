//===- ProducerValues.h - what a producer partition computes itself -*- C++ -*-===//
//
// A tzgpu.warp_specialize's producer region sees only values defined before
// it (kernel arguments, buffers, scalar constants); any other value a
// producer loop reads, it computes again from those. tzgpu-pipeline asks
// whether that is possible before it splits a loop, tzgpu-warp-specialize
// does it.
#pragma once

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace terrazzo::tzgpu {

// Whether the producer may run `op` again for itself: an op with no memory
// effects or a scalar load, with no regions, on scalars only.
bool recomputableInProducer(mlir::Operation *op);

// Whether every value `loop` reads from outside it (its bounds, and what
// its body reads) is a kernel argument, a buffer, or computed by
// recomputable ops from such values.
bool producerCanRecompute(mlir::scf::ForOp loop);

} // namespace terrazzo::tzgpu
