//===- WarpGroupDot.h - tz.dot as wgmma (sm_90a) ----------------*- C++ -*-===//
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/LinearLayout.h"

#include "mlir/Transforms/DialectConversion.h"

namespace terrazzo::tzgpu::lowering {
// The accumulator registers after a dot marked tzgpu.wgmma, from the
// converted operands (see WarpGroupDotOpToLLVM.cpp).
llvm::SmallVector<mlir::Value> lowerWithWgmma(mlir::ConversionPatternRewriter &b, tz::DotOp op,
                                              mlir::ValueRange aVals, mlir::ValueRange bVals,
                                              mlir::ValueRange accVals, const LinearLayout &aLayout,
                                              const LinearLayout &bLayout, const LinearLayout &cLayout);
} // namespace terrazzo::tzgpu::lowering
