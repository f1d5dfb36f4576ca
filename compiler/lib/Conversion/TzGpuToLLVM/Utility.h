//===- Utility.h - helpers shared by the tzgpu-to-LLVM patterns -*- C++ -*-===//
//
// After this conversion a tile is a list of scalars per thread, one per
// register of its layout (the 1:N type conversion). These helpers emit what
// every pattern needs: thread ids, the coordinate a register holds, shared
// memory, barriers, shuffles, and moving a tile between two layouts.
#pragma once

#include "terrazzo/Analysis/AxisInfo.h"

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>
#include <optional>

namespace terrazzo::tzgpu::lowering {

// Global address space of the NVPTX target; shared memory is 3.
inline constexpr unsigned kGlobalAddressSpace = 1;
inline constexpr unsigned kSharedAddressSpace = 3;

// The layout of a converted tile type (the source type of a pattern).
LinearLayout layoutOf(mlir::Type tileType);

mlir::Value i32Const(mlir::OpBuilder &b, mlir::Location loc, int64_t v);
mlir::Value i64Const(mlir::OpBuilder &b, mlir::Location loc, int64_t v);
mlir::Value boolConst(mlir::OpBuilder &b, mlir::Location loc, bool v);

struct ThreadIds {
  mlir::Value lane, warp; // i32
};
ThreadIds threadIds(mlir::OpBuilder &b, mlir::Location loc);

// The run-time part of the coordinates of a layout: what the lane and warp
// ids contribute, one i32 per dimension. A register's coordinate is its
// compile-time part XOR these.
struct ThreadCoords {
  LinearLayout layout;
  llvm::SmallVector<mlir::Value> threadPart;
};
ThreadCoords threadCoords(mlir::OpBuilder &b, mlir::Location loc, const LinearLayout &layout,
                          const ThreadIds &ids);
// The coordinate (one i32 per dimension) that register `reg` holds.
llvm::SmallVector<mlir::Value> registerCoord(mlir::OpBuilder &b, mlir::Location loc, const ThreadCoords &tc,
                                             int reg);

// True in the one thread that is the canonical holder of its elements (lane
// and warp bits with zero bases select copies; only the copy with those bits
// clear writes). Registers with set zero-basis bits are copies too: see
// isCanonicalRegister.
mlir::Value isCanonicalThread(mlir::OpBuilder &b, mlir::Location loc, const LinearLayout &layout,
                              const ThreadIds &ids);
bool isCanonicalRegister(const LinearLayout &layout, int reg);
// The partition of a tzgpu.warp_specialize that code built at `b` runs in
// (none outside one): whether it is the producer, its first thread and its
// number of threads.
struct Partition {
  bool producer;
  int64_t firstThread;
  int64_t threads;
};
std::optional<Partition> enclosingPartition(mlir::OpBuilder &b);
// The first thread of the block, or of the partition code built at `b`
// runs in: the one that performs a scalar side effect.
mlir::Value isFirstThread(mlir::OpBuilder &b, mlir::Location loc);

// Set on the module by a pattern that could not lower its op correctly
// (the pass then fails).
inline constexpr const char *kLoweringErrorAttrName = "tzgpu.lowering_error";

// The start of the kernel's dynamic shared memory (!llvm.ptr<3>).
mlir::Value sharedMemoryBase(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *user);
// Where `user`'s scratch space starts (tzgpu.scratch_offset, set by
// tzgpu-allocate-shared-memory), and a check that it was given at least
// `bytes` (tzgpu.scratch_bytes). Each op ends its use of the scratch with a
// barrier: tzgpu-insert-barriers counts on it.
mlir::Value sharedBase(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *user);
void requireSharedBytes(mlir::Operation *user, int64_t bytes);
// Synchronises the block (bar.sync 0), or in a warp_specialize partition
// that partition's warps (a named barrier).
void barrier(mlir::OpBuilder &b, mlir::Location loc);
// Orders this thread's earlier shared-memory writes (ordinary stores,
// cp.async) before later reads by the async proxy (wgmma).
void fenceProxyAsync(mlir::OpBuilder &b, mlir::Location loc);

// How a value of `type` is kept in shared memory (i1 as i8, pointers as i64).
mlir::Type sharedStorageType(mlir::Type type);
int64_t sharedStorageBytes(mlir::Type type);
void storeShared(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base, mlir::Value index, mlir::Value v);
mlir::Value loadShared(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base, mlir::Value index, mlir::Type type);

// Writes every element this thread holds (canonical registers only: copies
// hold the same values) at its row-major position in the tile at `base`;
// when `onlyIf` is given, only where it holds. No barrier.
void storeTileShared(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base, const LinearLayout &layout,
                     mlir::ValueRange values, const ThreadIds &ids, mlir::Value onlyIf = {});

// Runs `body` under `cond` (always when `cond` is null) and returns its
// value, or `otherwise` where cond is false.
mlir::Value guarded(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cond, mlir::Type type,
                    llvm::function_ref<mlir::Value(mlir::OpBuilder &)> body, mlir::Value otherwise);
// Runs `body` (side effects only) under `cond` (always when `cond` is null).
void guardedEffect(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cond,
                   llvm::function_ref<void(mlir::OpBuilder &)> body);

// How many consecutive registers of `layout` (from any multiple of the
// result) hold consecutive elements along dimension `dim`: a power of two,
// at most `maxRun`.
int runLength(const LinearLayout &layout, int dim, int maxRun);

// An LLVM vector of `elements`.
mlir::Value buildVector(mlir::OpBuilder &b, mlir::Location loc, mlir::VectorType type, mlir::ValueRange elements);

// v from lane (lane ^ laneMask) of the same warp, for any scalar type.
mlir::Value shuffleXor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v, int laneMask);

// The registers of a tile in layout `dst` whose element at coordinate c is
// the source element at map(c), from `srcValues` in layout `src`. Stays in
// registers when every thread already holds what it needs; otherwise goes
// through shared memory (store, barrier, load, barrier).
llvm::SmallVector<mlir::Value> remapTile(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *user,
                                         mlir::ValueRange srcValues, const LinearLayout &src,
                                         const LinearLayout &dst, const CoordMap &map);

// Row-major index of a coordinate as an i32 value.
mlir::Value linearIndex(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<mlir::Value> coord);

// The pointee of a pointer or a tile of pointers.
mlir::Type pointeeOf(mlir::Type ptrLike);

// How many consecutive registers of a pointer tile (with `mask`, if any)
// one vector access of at most 16 bytes can serve (see Utility.cpp).
int vectorWidth(mlir::Type ptrType, mlir::Value ptr, mlir::Value mask, const AxisInfoAnalysis &axis);

// Where the registers of a tile in `layout` live in a 128-byte-swizzled
// shared-memory tile (swizzledByteOffset in TzGpuDialect.h) that stores the
// tile row-major, or its transpose with `transposed`. The swizzle is linear
// over F2 in the coordinate bits, so a register's byte offset is the XOR of
// a compile-time part and this thread's part, computed once.
class SwizzledPlacement {
public:
  SwizzledPlacement(mlir::OpBuilder &b, mlir::Location loc, const LinearLayout &layout, const ThreadIds &ids,
                    bool transposed, int64_t elementBytes);
  mlir::Value byteOffset(mlir::OpBuilder &b, mlir::Location loc, int reg) const;

private:
  int64_t offsetOf(const Coord &c) const;
  LinearLayout layout;
  bool transposed;
  int64_t elementBytes;
  mlir::Value threadPart;
};

// The address of each register's element of a tile in a buffer tile of
// type `buffer` starting at `base`: row-major with padded rows, or
// swizzled.
class BufferAddresses {
public:
  BufferAddresses(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base, MemDescType buffer,
                  const LinearLayout &layout);
  mlir::Value of(mlir::OpBuilder &b, mlir::Location loc, int reg) const;

private:
  mlir::Value base;
  MemDescType buffer;
  std::optional<ThreadCoords> coords;
  std::optional<SwizzledPlacement> swizzle;
};

// `base` advanced by `bytes` (an i32 value) in shared memory.
mlir::Value sharedByteAddress(mlir::OpBuilder &b, mlir::Location loc, mlir::Value base, mlir::Value bytes);

} // namespace terrazzo::tzgpu::lowering
