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

    Which unit fits is eligibleMmaUnit's answer (the one place that
    decides). With `wgmma` (sm_90a) and a dot that fits the warpgroup MMA
    (numWarps a multiple of 4, M a multiple of 16 * numWarps so that each
    warpgroup owns whole 64-row blocks of the same accumulator layout, K
    and N multiples of 64 for 128-byte swizzled operand rows, N at most
    256 for one instruction), the module gets the unit attribute
    `tzgpu.wgmma`: the target has warpgroup MMAs. planDot then plans every
    such dot with that accumulator layout as one: its lowering reads the
    operands from swizzled shared memory (A may stay in registers) and
    issues wgmma.mma_async. The dot itself carries no mark.
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Mark dots that fit the sm_90a warpgroup MMA">,
  ];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect"];
}

def TzGpuRemoveLayoutConversions : Pass<"tzgpu-remove-layout-conversions", "mlir::ModuleOp"> {
  let summary = "Move layout conversions to where they are free or rare";
  let description = [{
    Repeats until nothing changes: a conversion to a default layout is sunk
    into its elementwise users and reductions (they compute in the source
    layout, a reduction yielding it with the axis dropped); a conversion to a
    chosen layout of a value made by cheap ops (ranges, splats, constants,
    elementwise ops, broadcasts, expand_dims, trans) rebuilds them in that
    layout, and one of a single-use elementwise or shape op moves to its
    operands, in both cases when at most one operand then needs a real
    conversion; a loop-carried tile only converted to one layout is carried
    in it. tz.trans results take the permuted source layout, dot operands
    lose conversions the dot lowering does not need, and an A operand is put
    in LinearLayout::mmaOperandA when that is free (a previous dot's result)
    or happens once (loop-invariant). Then canonicalization folds what is
    left.
  }];
}

def TzGpuPipeline : Pass<"tzgpu-pipeline", "mlir::ModuleOp"> {
  let summary = "Copy the tiles of loads feeding dots in loops ahead with cp.async";
  let description = [{
    Loads in the body of an innermost scf.for whose every use is a dot operand
    (A, B, or B through tz.trans), with 16-bit elements, addresses and mask
    computable for a later iteration and chunks of at least 4 bytes, become
    tzgpu.async_copy into a buffer of `num-stages` tiles (a tzgpu.local_alloc
    before the loop), num-stages - 1 iterations ahead, and tzgpu.local_load of
    the current tile, as long as the loop's buffers and the scratch space
    its ops need fit in `max-bytes`. Buffers are swizzled when every dot
    reading them is a wgmma, else rows are padded for ldmatrix. Then a load
    outside loops whose tile is the A operand of wgmma dots in later loops
    becomes one tzgpu.async_copy into a swizzled one-tile buffer, read by
    those dots through tzgpu.local_load, instead of staying in registers
    through the loops. The pass places nothing: tzgpu-allocate-shared-memory
    does.

    With `tma` (sm_90a), each pipelined load whose buffer is swizzled and
    that can be a TMA copy (planTmaCopy) is copied with
    tzgpu.async_tma_copy instead, the loop's other loads keeping cp.async:
    one mbarrier per stage (a buffer of num-stages 1x1 i64 tiles) is armed
    with the bytes of the stage's TMA tiles and waited on with the parity of
    the stage's use, and each such load's tensor map becomes a new kernel
    argument of type !tzgpu.tensormap whose `tzgpu.tensormap` attribute
    tells the host how to encode it.

    With `warp-specialize` too, a loop at the top of its function whose
    pipelined loads are all TMA copies (and whose block has whole
    warpgroups) is split in two loops over the same range, to run side by
    side once tzgpu-warp-specialize puts them in different warps: a
    producer loop (marked `tzgpu.producer_loop`) that, for each iteration,
    waits on the stage's "empty" mbarrier, arms its "full" one and issues
    the copies, up to num-stages iterations ahead; and the loop itself,
    which waits on the stage's full barrier and, once done reading it,
    arrives on its empty barrier (tzgpu.arrive_barrier; every consumer
    thread arrives). Until tzgpu-warp-specialize has run, the two loops are
    not a program that can run (the producer would wait for the consumer).
    A loop with a `tz.warp_specialize` attribute (`tz.range(...,
    warp_specialize=True/False)`) is split or not as it says, with TMA
    copies if split, unless `loop-hints` is off.
  }];
  let options = [
    Option<"numStages", "num-stages", "int", /*default=*/"2",
           "tiles per buffer (copies run num-stages - 1 iterations ahead); below 2 does nothing">,
    Option<"tma", "tma", "bool", /*default=*/"false",
           "copy with TMA and mbarriers each pipelined load that can be (sm_90a)">,
    Option<"warpSpecialize", "warp-specialize", "bool", /*default=*/"false",
           "split TMA loops into a producer loop and a consumer loop for tzgpu-warp-specialize (with tma)">,
    Option<"loopHints", "loop-hints", "bool", /*default=*/"true",
           "follow a loop's tz.warp_specialize attribute (tz.range's hint) over tma / warp-specialize">,
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"232448",
           "shared memory a block may use: a loop's buffers plus the scratch of its ops stay within it"
           " (loads past it stay loads)">
  ];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect", "::mlir::arith::ArithDialect"];
}

def TzGpuAllocateSharedMemory : Pass<"tzgpu-allocate-shared-memory", "mlir::ModuleOp"> {
  let summary = "Give every buffer and every op's scratch space its bytes of shared memory";
  let description = [{
    Buffers (tzgpu.local_alloc) live from their allocation to their last use,
    the whole of a loop that uses them from outside; an op's scratch space
    (layout conversions, reductions and scans across warps, atomics, dot
    operands staged from registers: see Analysis/Scratch.h) lives during the
    op. Buffers alive at the same time get disjoint bytes, the others may
    share them. Sets `offset` on each local_alloc, `tzgpu.scratch_offset`
    and `tzgpu.scratch_bytes` on each op with scratch, and
    `tzgpu.shared_bytes` (the total) on the module. When the total exceeds
    `max-bytes`, fails with an error naming the kernel, the bytes needed
    and the largest buffers.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", /*default=*/"232448",
           "dynamic shared memory a block may use on the target">
  ];
}

def TzGpuLowerWarpGroupDots : Pass<"tzgpu-lower-warp-group-dots", "mlir::ModuleOp"> {
  let summary = "tz.dot that fit a warpgroup MMA -> tzgpu.warp_group_dot on buffers + wait";
  let description = [{
    For every tz.dot whose plan (planDot) is a warpgroup MMA: an operand
    already read from a swizzled buffer is replaced by that buffer, A in the
    mma.sync register layout stays a tile, and any other operand is written
    (tzgpu.local_store) into a new swizzled buffer of its own — B as its
    transpose when its registers run down K. The dot becomes an
    asynchronous tzgpu.warp_group_dot followed by a
    tzgpu.warp_group_dot_wait 0 that retires its accumulator.
  }];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect", "::terrazzo::tz::TzDialect"];
}

def TzGpuDeferWarpGroupDotWaits : Pass<"tzgpu-defer-warp-group-dot-waits", "mlir::ModuleOp"> {
  let summary = "Keep a loop's warpgroup MMA in flight into the next iteration";
  let description = [{
    In an scf.for whose only dot is a tzgpu.warp_group_dot with the wait
    right after it, where the loop carries the accumulator and nothing else
    reads it (mmaGroupsInFlight), the wait becomes
    `tzgpu.warp_group_dot_wait 1` (retiring the previous iteration's MMA)
    and a `tzgpu.warp_group_dot_wait 0` after the loop retires the last.
    Done only where the buffers the MMA reads keep its slot while it runs:
    not written in the loop, or pipelined buffers of S tiles whose copies
    run at most S - 2 iterations ahead (tzgpu-pipeline's schedule for such
    loops).
  }];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect"];
}

def TzGpuWarpSpecialize : Pass<"tzgpu-warp-specialize", "mlir::ModuleOp"> {
  let summary = "Run a kernel's producer loops in a warpgroup of their own";
  let description = [{
    For a function with producer loops (scf.for marked
    `tzgpu.producer_loop` by tzgpu-pipeline, at the top of the function):
    one tzgpu.warp_specialize takes the function's body. The producer loops
    go to its producer region, with clones of the scalar values they read
    that the body computes (program ids, bounds, offsets); everything else
    goes to its consumer region, on the block's `tzgpu.num_warps` warps.
    The buffers and mbarriers are allocated and initialised before it, and
    the producer loops' barriers are invalidated after it. The module gets
    `tzgpu.producer_warps` (4): the block now has that many more warps.
    Register counts: the producer shrinks to 24 per thread, the consumers
    grow to what is left of the 64K registers (at most 256). Fails, naming
    the value, if a producer loop reads something it cannot recompute.
  }];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect", "::mlir::scf::SCFDialect"];
}

def TzGpuInsertBarriers : Pass<"tzgpu-insert-barriers", "mlir::ModuleOp"> {
  let summary = "Synchronise the block where ops touch the same bytes of shared memory";
  let description = [{
    After tzgpu-allocate-shared-memory buffers may share bytes. Walking the
    program in order (loop bodies twice, as the next iteration follows the
    last), inserts tzgpu.barrier before an op that writes bytes read or
    written since the last synchronisation, or reads bytes written since
    then. tzgpu.async_wait synchronises the block, and ops with scratch
    space end synchronised (their lowering ends with a barrier); an
    asynchronous copy completes at the async_wait that covers it, so it
    only needs the bytes it writes free when it is issued.
  }];
  let dependentDialects = ["::terrazzo::tzgpu::TzGpuDialect"];
}

def ConvertTzGpuToLLVM : Pass<"convert-tzgpu-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower tz / tzgpu ops on encoded tiles to per-thread LLVM and NVVM code";
  let description = [{
    A tile becomes one scalar per register of its layout (a 1:N type
    conversion); tz ops become NVVM intrinsics, LLVM memory ops, shuffles and
    shared-memory exchanges, and arith / math / scf on scalars, which the
    standard conversions then take to the LLVM dialect. Buffers and scratch
    space are where tzgpu-allocate-shared-memory put them; an op that needs
    scratch it was not given is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect", "::mlir::math::MathDialect"];
}

#endif // TERRAZZO_TZGPU_PASSES
