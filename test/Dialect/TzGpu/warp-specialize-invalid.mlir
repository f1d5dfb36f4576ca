// tzgpu-warp-specialize refuses, leaving the function as it was, a
// producer loop that reads a value the producer partition cannot compute
// for itself (here the result of an scf.if: only ops without regions and
// memory effects, and scalar loads, are recomputed). tzgpu-pipeline does
// not split such loops; this is what the pass says if it gets one anyway.
// RUN: tz-opt %s --tzgpu-warp-specialize -split-input-file -verify-diagnostics

module attributes {tzgpu.num_warps = 4 : i32} {
  func.func @bound_from_a_branch(%n: i32, %flag: i1) {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %bars = tzgpu.local_alloc : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable>
    %hi = scf.if %flag -> (i32) {
      scf.yield %n : i32
    } else {
      scf.yield %c1 : i32
    }
    // expected-error @below {{this producer loop reads a value the producer partition cannot compute itself}}
    scf.for %j = %c0 to %hi step %c1 : i32 {
      %slot = arith.remsi %j, %c1 : i32
      %bar = tzgpu.memdesc_index %bars[%slot] : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %bar, %c1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    } {tzgpu.producer_loop}
    return
  }
}

// -----

// Warp specialisation splits the block into warpgroups: the consumers too.
module attributes {tzgpu.num_warps = 2 : i32} {
  // expected-error @below {{warp specialisation needs whole warpgroups of consumers: num_warps 2 is not a multiple of 4}}
  func.func @two_warps(%n: i32) {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %bars = tzgpu.local_alloc : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable>
    scf.for %j = %c0 to %n step %c1 : i32 {
      %bar = tzgpu.memdesc_index %bars[%c0] : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %bar, %c1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    } {tzgpu.producer_loop}
    return
  }
}
