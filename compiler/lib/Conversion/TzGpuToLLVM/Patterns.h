//===- Patterns.h - the pattern sets of tzgpu-to-LLVM -----------*- C++ -*-===//
#pragma once

#include "terrazzo/Analysis/AxisInfo.h"

#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Transforms/DialectConversion.h"

namespace terrazzo::tzgpu::lowering {
// Each file contributes the patterns of one group of ops.
void populateElementwisePatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
// Loads and stores use `axis` to pick vector widths.
void populateMemoryPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns, const AxisInfoAnalysis &axis);
void populateLayoutPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
void populateReducePatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
void populateScanPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
void populateDotPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
void populateWarpGroupDotPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
// cp.async copies into tzgpu-pipeline's buffers use `axis` for chunk sizes.
void populateAsyncCopyPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns,
                               const AxisInfoAnalysis &axis);
// mbarriers and TMA copies (TmaOpToLLVM.cpp).
void populateTmaPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
// Each tzgpu.warp_specialize (its regions' tiles already lowered) becomes a
// branch on the thread's warp with setmaxnreg in each arm.
void lowerWarpSpecializeToBranches(mlir::ModuleOp module);
void populateDebugPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &patterns);
// Scalar f32 division and sqrt as instructions without a subroutine slow
// path (div.full, sqrt.approx): for kernels with warpgroup MMAs, which ptxas
// serializes in a function that makes any call (CallFreeFloatMath.cpp).
void populateCallFreeFloatMathPatterns(const mlir::LLVMTypeConverter &tc, mlir::RewritePatternSet &patterns,
                                       mlir::PatternBenefit benefit);
} // namespace terrazzo::tzgpu::lowering
