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

#define GET_ATTRDEF_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuAttrs.h.inc"
#define GET_OP_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuOps.h.inc"

namespace terrazzo::tzgpu {
// Module attribute: warps per thread block.
inline constexpr const char *kNumWarpsAttrName = "tzgpu.num_warps";
// Module attribute set by the lowering: bytes of dynamic shared memory the
// kernel needs at launch.
inline constexpr const char *kSharedBytesAttrName = "tzgpu.shared_bytes";
// Module attribute set by tzgpu-pipeline: bytes at the start of shared
// memory that hold the pipelined buffers.
inline constexpr const char *kPipelinedBytesAttrName = "tzgpu.pipelined_shared_bytes";
// Op attribute set by the lowering on ops that run while pipelined copies
// are in flight: their scratch space follows the pipelined buffers.
inline constexpr const char *kScratchAfterPipelinedAttrName = "tzgpu.scratch_after_pipelined";

// Op attribute set by tzgpu-accelerate-dot on a tz.dot that runs as wgmma
// (sm_90a): its operands are read from 128-byte-swizzled shared memory.
inline constexpr const char *kWgmmaAttrName = "tzgpu.wgmma";

// A pipelined buffer slot holds a 2-D tile row-major, either with each row
// padded by 16 bytes (read with ldmatrix) or `swizzled` (read by wgmma):
// elements from one padded row to the next, and bytes per slot (a multiple
// of 128, or of 1024 when swizzled: the swizzle repeats every 1024 bytes and
// wgmma needs slots aligned to it).
int64_t pipelinedRowStride(mlir::RankedTensorType tile);
int64_t pipelinedSlotBytes(mlir::RankedTensorType tile, bool swizzled);

// The 128-byte swizzle of wgmma operands in shared memory. A [rows, cols]
// tile of 16-bit elements is stored as cols / 64 blocks of [rows x 128
// bytes], one after the other; in a block, the 16-byte chunk c of row r is
// at r * 128 + 16 * (c ^ (r % 8)), so that the 8 rows of an 8x8 matrix fall
// in different banks. Tiles whose rows are not a multiple of 128 bytes are
// not swizzled.
bool canSwizzle(mlir::RankedTensorType tile);
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
