//===- SharedMemoryAllocation.h - where each buffer lives in shared memory -*- C++ -*-===//
//
// Every tzgpu.local_alloc and every op's scratch space (Scratch.h) is a
// buffer with a size, an alignment and a lifetime. Lifetimes come from
// program order: a buffer lives from its allocation to its last use (of it
// or of a view of it); a use inside a loop that does not contain the
// allocation keeps the buffer alive for the whole loop (the next iteration
// uses it again); scratch lives during its op only. Buffers whose
// lifetimes overlap get disjoint bytes; the others may share them.
#pragma once

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"

namespace terrazzo::tzgpu {

struct SharedBuffer {
  mlir::Operation *owner; // a tzgpu.local_alloc, or the op whose scratch it is
  bool isScratch;
  int64_t bytes, alignment;
  int64_t firstUse, lastUse; // positions in program order (inclusive)
  int64_t offset = -1;       // assigned
};

class SharedMemoryAllocation {
public:
  // Computes lifetimes and assigns offsets in every function of `module`.
  explicit SharedMemoryAllocation(mlir::ModuleOp module);

  // Bytes the block needs (the end of the highest buffer).
  int64_t totalBytes() const { return total; }
  llvm::ArrayRef<SharedBuffer> buffers() const { return all; }

private:
  std::vector<SharedBuffer> all;
  int64_t total = 0;
};

// The bytes [begin, end) of shared memory that `op` reads and writes through
// buffers (views resolved to their allocation) and scratch, from the
// offsets recorded on the IR by tzgpu-allocate-shared-memory.
struct SharedAccess {
  int64_t begin, end;
  bool write;
};
llvm::SmallVector<SharedAccess> sharedAccesses(mlir::Operation *op);

// The local_alloc a buffer value (or a view of it) comes from.
LocalAllocOp allocationOf(mlir::Value buffer);

} // namespace terrazzo::tzgpu
