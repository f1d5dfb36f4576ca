//===- tz-opt.cpp - mlir-opt with Terrazzo's dialects and passes ---------===//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/Tz/Transforms/Passes.h"
#include "terrazzo/Dialect/Tz/Transforms/TestPasses.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerInlinerPass();
  mlir::registerSymbolDCEPass();
  terrazzo::tz::registerTzPasses();
  terrazzo::tzgpu::registerTzGpuPasses();
  terrazzo::tz::registerTestForwardDerivativePass();
  mlir::DialectRegistry registry;
  registry.insert<terrazzo::tz::TzDialect, terrazzo::tzgpu::TzGpuDialect, mlir::LLVM::LLVMDialect,
                  mlir::NVVM::NVVMDialect, mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::math::MathDialect, mlir::scf::SCFDialect>();
  mlir::func::registerInlinerExtension(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Terrazzo optimizer driver\n", registry));
}
