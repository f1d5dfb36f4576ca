//===- Passes.h - tzgpu transformations and the lowering to LLVM -*- C++ -*-===//
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace terrazzo::tzgpu {
#define GEN_PASS_DECL
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"
} // namespace terrazzo::tzgpu
