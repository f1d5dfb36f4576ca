//===- TzGpuDialect.h - the tzgpu layout dialect ---------------*- C++ -*-===//
#pragma once

#include "terrazzo/Dialect/TzGpu/LinearLayout.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TensorEncoding.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h.inc"

namespace terrazzo::tzgpu {
// The side-effect resource of shared memory: ops that read or write
// buffers name it, so that passes can tell them from global-memory ops.
struct SharedMemory : mlir::SideEffects::Resource::Base<SharedMemory> {
  llvm::StringRef getName() final { return "<SharedMemory>"; }
};
} // namespace terrazzo::tzgpu

#define GET_ATTRDEF_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuAttrs.h.inc"
#define GET_TYPEDEF_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuTypes.h.inc"
#define GET_OP_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuOps.h.inc"

namespace terrazzo::tzgpu {
// Module attribute: warps per thread block.
inline constexpr const char *kNumWarpsAttrName = "tzgpu.num_warps";
// Module attribute set by tzgpu-allocate-shared-memory: bytes of dynamic
// shared memory the kernel needs at launch.
inline constexpr const char *kSharedBytesAttrName = "tzgpu.shared_bytes";
// Op attributes set by tzgpu-allocate-shared-memory on an op that needs
// scratch space while it runs (a layout conversion, a reduction across
// warps, a dot operand staged from registers): where it starts and how many
// bytes are the op's. The lowering writes only there.
inline constexpr const char *kScratchOffsetAttrName = "tzgpu.scratch_offset";
inline constexpr const char *kScratchBytesAttrName = "tzgpu.scratch_bytes";

// Module attribute set by tzgpu-accelerate-dot when the target has warpgroup
// MMAs (sm_90a) and a dot fits one: planDot plans such dots as wgmma, and
// async copies fence for the async proxy that wgmma reads through.
inline constexpr const char *kWgmmaAttrName = "tzgpu.wgmma";

// Argument attribute of a kernel argument of type !tzgpu.tensormap (added
// by tzgpu-pipeline for TMA copies): the #tzgpu.tensormap the host encodes
// it from. Such arguments follow the kernel's own, in order.
inline constexpr const char *kTensorMapAttrName = "tzgpu.tensormap";

// Unit attribute tzgpu-pipeline (with warp-specialize) puts on the loop that
// issues a loop's TMA copies, for tzgpu-warp-specialize to move into the
// producer partition.
inline constexpr const char *kProducerLoopAttrName = "tzgpu.producer_loop";
// Module attribute set by tzgpu-warp-specialize: warps the block has beyond
// tzgpu.num_warps (the producer partition's). The launch and the kernel's
// thread count include them; layouts do not.
inline constexpr const char *kProducerWarpsAttrName = "tzgpu.producer_warps";
// Warps per block at launch: tzgpu.num_warps plus tzgpu.producer_warps.
int moduleLaunchWarps(mlir::Operation *op);

// Whether a tile can be stored in the 128-byte NVMMA swizzle wgmma reads:
// 2-D, 16-bit, rows a multiple of 128 bytes.
bool canSwizzle(mlir::RankedTensorType tile);
// The buffer type that holds `stages` tiles of `tile` (stages 0: one tile,
// no leading dimension), swizzled for wgmma or padded for ldmatrix.
MemDescType bufferTypeFor(mlir::RankedTensorType tile, int64_t stages, bool swizzled, bool mutableMemory = true);

// The 128-byte swizzle of wgmma operands in shared memory. A [rows, cols]
// tile of 16-bit elements is stored as cols / 64 blocks of [rows x 128
// bytes], one after the other; in a block, the 16-byte chunk c of row r is
// at r * 128 + 16 * (c ^ (r % 8)), so that the 8 rows of an 8x8 matrix fall
// in different banks (MemDescType::byteOffset with swizzle = 128).
int64_t swizzledByteOffset(int64_t row, int64_t col, int64_t rows, int64_t elementBytes);

// Whether a dot's A operand tile is in LinearLayout::mmaOperandA, the
// layout both tensor-core lowerings take A from registers in.
bool inMmaOperandA(mlir::RankedTensorType aType, int numWarps);

// The module's tzgpu.num_warps (4 where tzgpu-assign-layouts has not run).
int moduleNumWarps(mlir::Operation *op);

// The layout of an encoded tile type (asserts it has a linear encoding).
LinearLayout getLayout(mlir::RankedTensorType type);
// `type` with the encoding of `layout`.
mlir::RankedTensorType withLayout(mlir::RankedTensorType type, const LinearLayout &layout);
} // namespace terrazzo::tzgpu
