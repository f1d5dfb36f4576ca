//===- WarpSpecialize.cpp - the producer/consumer split of a block --------===//
//
// The verifier of tzgpu.warp_specialize: what its lowering relies on.
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu {

LogicalResult WarpSpecializeOp::verify() {
  int64_t consumers = getConsumerWarps(), producers = getProducerWarps();
  // setmaxnreg acts on whole warpgroups: each partition must be made of them.
  if (consumers < 4 || consumers % 4 != 0)
    return emitOpError("consumer_warps must be whole warpgroups (a positive multiple of 4), not ") << consumers;
  if (producers != 4)
    return emitOpError("producer_warps must be one warpgroup (4), not ") << producers;
  for (int64_t r : {int64_t(getProducerRegisters()), int64_t(getConsumerRegisters())})
    if (r < 24 || r > 256 || r % 8 != 0)
      return emitOpError("register counts are multiples of 8 from 24 to 256, not ") << r;
  if ((consumers + producers) * 32 > 1024)
    return emitOpError("a block has at most 1024 threads");
  if ((consumers * int64_t(getConsumerRegisters()) + producers * int64_t(getProducerRegisters())) * 32 > 65536)
    return emitOpError("the partitions' registers exceed the 64K of a multiprocessor");
  // The producer issues copies and waits: nothing in it may be a tile laid
  // out over the consumers' warps.
  WalkResult tiles = getProducer().walk([](Operation *op) {
    for (Type t : op->getResultTypes())
      if (isa<RankedTensorType>(t))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  if (tiles.wasInterrupted())
    return emitOpError("the producer region may not compute tiles");
  return success();
}

} // namespace terrazzo::tzgpu
