//===- AllocateSharedMemory.cpp - bytes of shared memory for every buffer -===//
//
// Records what SharedMemoryAllocation decides on the IR, where the lowering
// and tzgpu-insert-barriers read it, and refuses a kernel that needs more
// than a block may have, naming it and what takes the room.
#include "terrazzo/Dialect/TzGpu/Analysis/SharedMemoryAllocation.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUALLOCATESHAREDMEMORY
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

std::string describe(const SharedBuffer &b) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << b.bytes << " bytes for ";
  if (b.isScratch)
    os << "the scratch space of " << b.owner->getName();
  else
    os << cast<LocalAllocOp>(b.owner).getType();
  // The kernel line that made it, for the author (loads become buffers,
  // tile ops need scratch).
  Location loc = b.owner->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto at = dyn_cast<FileLineColLoc>(loc))
    os << " (line " << at.getLine() << ")";
  return text;
}

struct AllocateSharedMemory : impl::TzGpuAllocateSharedMemoryBase<AllocateSharedMemory> {
  using TzGpuAllocateSharedMemoryBase::TzGpuAllocateSharedMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SharedMemoryAllocation allocation(module);
    auto i64 = IntegerType::get(ctx, 64);
    for (const SharedBuffer &b : allocation.buffers()) {
      if (b.isScratch) {
        b.owner->setAttr(kScratchOffsetAttrName, IntegerAttr::get(i64, b.offset));
        b.owner->setAttr(kScratchBytesAttrName, IntegerAttr::get(i64, b.bytes));
      } else {
        cast<LocalAllocOp>(b.owner).setOffset(b.offset);
      }
    }
    int64_t total = allocation.totalBytes();
    if (total > 0)
      module->setAttr(kSharedBytesAttrName, IntegerAttr::get(i64, total));
    if (total <= maxBytes)
      return;
    Operation *kernel = module;
    std::string name = "kernel";
    module.walk([&](func::FuncOp f) {
      kernel = f;
      name = f.getName().str();
    });
    SmallVector<const SharedBuffer *> largest;
    for (const SharedBuffer &b : allocation.buffers())
      largest.push_back(&b);
    llvm::sort(largest, [](const SharedBuffer *a, const SharedBuffer *b) { return a->bytes > b->bytes; });
    auto diag = kernel->emitError() << "kernel '" << name << "' needs " << total
                                    << " bytes of shared memory, but a block may use at most " << static_cast<int64_t>(maxBytes)
                                    << "; the largest buffers:";
    for (size_t i = 0; i < largest.size() && i < 3; ++i)
      diag << "\n  " << describe(*largest[i]);
    diag << "\n(smaller tiles, fewer stages or fewer warps need less)";
    signalPassFailure();
  }
};

} // namespace
} // namespace terrazzo::tzgpu
