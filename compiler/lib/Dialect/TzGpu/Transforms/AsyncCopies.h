//===- AsyncCopies.h - what tzgpu-pipeline's two parts share ----*- C++ -*-===//
//
// tzgpu-pipeline copies tiles into shared memory with cp.async in two ways:
// loads in loops, several iterations ahead (Pipeline.cpp), and loop-invariant
// wgmma A operands, once before their loops (ResidentOperands.cpp); and
// loads in loops that can be TMA copies, with TMA (TmaCopies.cpp).
#pragma once

#include "terrazzo/Analysis/AxisInfo.h"
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/TmaCopyPlan.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"

namespace terrazzo::tzgpu {

// Elements per cp.async for `load` (0: cp.async cannot move it): 2-D,
// 16-bit, a zero or no `other`, and chunks of at least 4 bytes contiguous,
// aligned and under one mask value.
int64_t chunkElements(tz::LoadOp load, const AxisInfoAnalysis &axis);

// Starts copying the tile at `ptr` (a pointer tile in any layout; `mask`,
// if any, in the same) into the one-tile buffer (view) `dst`, `chunk`
// elements per copy; a scalar i1 `predicate`, if given, masks the whole
// copy too (masked chunks are zero-filled).
void createAsyncCopy(mlir::OpBuilder &b, mlir::Location loc, mlir::Value ptr, mlir::Value mask,
                     mlir::Value predicate, mlir::Value dst, int64_t chunk, int numWarps);

// Loads outside loops whose tiles are read, as A, by wgmma dots inside loops
// get a swizzled buffer of their own while `regionBytes` (the most a loop's
// buffers and scratch take) and these buffers stay within `maxBytes`: the
// tile is copied there once and the dots read it through descriptors,
// so it stays out of registers for the whole loop. Returns the bytes the
// loops and these buffers take together.
int64_t stageResidentOperands(mlir::ModuleOp module, const AxisInfoAnalysis &axis, int64_t regionBytes,
                              int64_t maxBytes, int numWarps);

// The buffer of one mbarrier per stage (stages 1x1 i64 tiles), and the
// view of the barrier of `slot`.
MemDescType barrierBufferType(mlir::MLIRContext *ctx, int64_t stages);
mlir::Value barrierAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value barriers, mlir::Value slot);

// One load of a TMA stage: how it is a TMA copy, the loop-body ops its
// address is computed by (in order), its tensor map argument, and its
// pipelined buffer (swizzled, one tile per stage).
struct TmaStageCopy {
  tz::LoadOp load;
  const TmaCopyPlan *plan;
  llvm::ArrayRef<mlir::Operation *> slice;
  mlir::Value tensorMap;
  mlir::Value buffer;
};

// Arms the mbarrier of `slot` (of `barriers`) with the bytes of all
// `copies` and issues each copy of the iteration at `index` into tile
// `slot` of its buffer, all where `index` < the loop's upper bound. The
// coordinates are evaluated from clones of the slice ops their atoms need,
// with the loop index mapped to `index`.
void issueTmaCopies(mlir::OpBuilder &b, mlir::scf::ForOp loop, mlir::Value index, mlir::Value slot,
                    mlir::Value barriers, llvm::ArrayRef<TmaStageCopy> copies);

} // namespace terrazzo::tzgpu
