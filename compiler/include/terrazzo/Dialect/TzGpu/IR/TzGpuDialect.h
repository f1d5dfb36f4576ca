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

// A pipelined buffer slot holds a 2-D tile row-major with each row padded by
// 16 bytes: elements from one row to the next, and bytes per slot (a
// multiple of 128).
int64_t pipelinedRowStride(mlir::RankedTensorType tile);
int64_t pipelinedSlotBytes(mlir::RankedTensorType tile);

// The module's tzgpu.num_warps (4 where tzgpu-assign-layouts has not run).
int moduleNumWarps(mlir::Operation *op);

// The layout of an encoded tile type (asserts it has a linear encoding).
LinearLayout getLayout(mlir::RankedTensorType type);
// `type` with the encoding of `layout`.
mlir::RankedTensorType withLayout(mlir::RankedTensorType type, const LinearLayout &layout);
} // namespace terrazzo::tzgpu
