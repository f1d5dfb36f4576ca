//===- Passes.td - tzgpu transformations -------------------*- tablegen -*-===//
#ifndef TERRAZZO_TZGPU_PASSES
#define TERRAZZO_TZGPU_PASSES

include "mlir/Pass/PassBase.td"

def TzGpuAssignLayouts : Pass<"tzgpu-assign-layouts", "mlir::ModuleOp"> {
  let summary = "Give every tile a layout over the threads of a block";
  let description = [{
    Sets `tzgpu.num_warps` on the module and encodes every tile type with the
    default blocked layout of its shape (LinearLayout::blocked), so that the
    operands of elementwise ops agree. Later passes change layouts where
    another one pays (tensor cores, vector width) and insert
    `tzgpu.convert_layout` where they disagree.
  }];
  let options = [
    Option<"numWarps", "num-warps", "int", /*default=*/"4", "warps per thread block (a power of two)">
  ];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect"];
}

def TzGpuAccelerateDot : Pass<"tzgpu-accelerate-dot", "mlir::ModuleOp"> {
  let summary = "Give dots that tensor cores can run the mma.sync accumulator layout";
  let description = [{
    A `tz.dot` of f16 or bf16 operands into f32, with M a multiple of 16, N
    of 8 and K of 16, gets its result in LinearLayout::mmaAccumulator;
    `tzgpu.convert_layout` ops bring the accumulator in and the result back
    to the layouts around it (tzgpu-remove-layout-conversions then takes
    most of them away). The lowering recognises the layout and emits
    ldmatrix + mma.sync.
  }];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect"];
}

def TzGpuRemoveLayoutConversions : Pass<"tzgpu-remove-layout-conversions", "mlir::ModuleOp"> {
  let summary = "Keep loop-carried tiles in the layout their loop body wants";
  let description = [{
    A tile carried by an scf.for whose body converts it to layout L on entry
    and converts a value of layout L back for the next iteration is carried
    in L instead: one conversion before the loop and one after it, none per
    iteration. Then canonicalization folds conversions of splats, constants
    and other conversions.
  }];
}

def ConvertTzGpuToLLVM : Pass<"convert-tzgpu-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower tz / tzgpu ops on encoded tiles to per-thread LLVM and NVVM code";
  let description = [{
    A tile becomes one scalar per register of its layout (a 1:N type
    conversion); tz ops become NVVM intrinsics, LLVM memory ops, shuffles and
    shared-memory exchanges, and arith / math / scf on scalars, which the
    standard conversions then take to the LLVM dialect. Records the dynamic
    shared memory the kernel needs in `tzgpu.shared_bytes`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect"];
}

#endif // TERRAZZO_TZGPU_PASSES
