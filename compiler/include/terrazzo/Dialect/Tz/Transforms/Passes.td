//===- Passes.td - tz transformations ----------------------*- tablegen -*-===//
//
// Passes on the tz dialect itself, before the GPU compiler assigns layouts
// (and, for the interpreter, instead of it).
#ifndef TERRAZZO_TZ_PASSES
#define TERRAZZO_TZ_PASSES

include "mlir/Pass/PassBase.td"

def TzMakePersistent : Pass<"tz-make-persistent", "mlir::ModuleOp"> {
  let summary = "Make each kernel a persistent one: a program walks several tiles";
  let description = [{
    Every `func.func` marked `tz.kernel` gets three trailing `i32` arguments,
    the grid the author launched (axis 0, 1, 2), and its body is moved into

      scf.for %t = program_id(0) to grid0 * grid1 * grid2 step num_programs(0)

    so that the launch may run fewer programs than there are tiles: program
    p takes tiles p, p + P, p + 2P, ... (P programs on axis 0 of the real
    grid). Inside the loop, `tz.program_id(a)` becomes coordinate `a` of tile
    %t in the author's grid, row-major with axis 0 fastest (as blockIdx.x):
    %t mod grid0, (%t / grid0) mod grid1, %t / (grid0 * grid1); and
    `tz.num_programs(a)` becomes `grida`. The function gets the attribute
    `tz.persistent_grid` = the index of its first grid argument, the loop
    the unit attribute `tz.persistent_tiles` (tzgpu-pipeline stages a wgmma
    A operand loaded directly in it as one loaded outside loops). Ops of
    the body that do not depend on the tile and have no memory effects are
    then hoisted out of the loop, so they run once per program.

    Kernels this cannot preserve are refused with an error at the kernel:
    a body of several blocks (a return before the end), a return with
    values, a call that was not inlined (its program ids would keep their
    meaning), or a kernel already made persistent.

    The tile loop runs in `i32`: the launcher must keep the tile count plus
    the number of programs below 2^31.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"];
}

#endif // TERRAZZO_TZ_PASSES
