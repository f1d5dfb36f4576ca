//===- DotOperands.h - operands of tensor-core dots -------------*- C++ -*-===//
//
// What the mma.sync lowering (DotOpToLLVM.cpp) and the wgmma lowering
// (WarpGroupDotOpToLLVM.cpp) share: finding an operand that already sits in
// a tzgpu-pipeline slot, taking A fragments from registers, and writing a
// tile into shared memory in runs of consecutive registers.
#pragma once

#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Transforms/DialectConversion.h"

#include <optional>

namespace terrazzo::tzgpu::lowering {

// An operand the dot reads straight from a tzgpu-pipeline slot: a
// tzgpu.local_load, or for B (with `allowTranspose`) tz.trans of one, whose
// slot then holds B transposed (K along its rows).
struct SharedOperand {
  LocalLoadOp read;
  bool transposed;
  mlir::Value slot(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *user) const;
};
std::optional<SharedOperand> sharedOperand(mlir::Value v, bool allowTranspose);

// Whether a thread's consecutive registers run down the columns of `layout`
// (as after tz.trans of a row-major tile): then it is stored column-major.
bool runsDownColumns(const LinearLayout &layout);

// The A fragments of one k step from registers in LinearLayout::mmaOperandA:
// for the 16x16 block at (row, k0) of this warp (`row` the register part of
// the row), the four packed pairs (row, k0), (row + 8, k0), (row, k0 + 8),
// (row + 8, k0 + 8), each holding columns +0 and +1, as i32 (bf16 pairs)
// or vector<2xf16>: the A operand order of mma.sync and of wgmma.
llvm::SmallVector<mlir::Value> fragmentFromRegisters(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange aVals,
                                                     const LinearLayout &aLayout, int32_t row, int32_t k0);

// Stores every canonical register of a tile, in runs of up to `maxRun`
// consecutive registers along the stored rows (columns of the tile when
// `transposed`), each run as one vector at `addressOf(reg)` of its first
// register (an !llvm.ptr<3>).
void storeTileRuns(mlir::OpBuilder &b, mlir::Location loc, const LinearLayout &layout, mlir::ValueRange values,
                   bool transposed, int maxRun, llvm::function_ref<mlir::Value(int reg)> addressOf);

} // namespace terrazzo::tzgpu::lowering
