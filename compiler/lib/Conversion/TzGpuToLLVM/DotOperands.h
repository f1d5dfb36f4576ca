//===- DotOperands.h - operands of tensor-core dots -------------*- C++ -*-===//
//
// What the mma.sync lowering (DotOpToLLVM.cpp) and the wgmma lowering
// (WarpGroupDotOpToLLVM.cpp) share: the address of an operand read from a
// buffer (DotPlan decides which are), taking A fragments from registers, and
// writing a tile into shared memory in runs of consecutive registers.
#pragma once

#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"

#include "mlir/Transforms/DialectConversion.h"


namespace terrazzo::tzgpu::lowering {

// The start of the buffer tile a BufferOperand reads (its converted
// !llvm.ptr<3>).
mlir::Value bufferBase(mlir::ConversionPatternRewriter &rewriter, const BufferOperand &operand);

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
