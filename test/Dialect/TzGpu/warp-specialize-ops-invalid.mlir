// The verifier of tzgpu.warp_specialize and tzgpu.arrive_barrier, one case
// per error.
// RUN: tz-opt %s --split-input-file --verify-diagnostics

func.func @consumers_not_warpgroups() {
  // expected-error @+1 {{consumer_warps must be whole warpgroups (a positive multiple of 4), not 6}}
  tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 6 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
  } consumer {
  }
  return
}

// -----

func.func @two_producer_warpgroups() {
  // expected-error @+1 {{producer_warps must be one warpgroup (4), not 8}}
  tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 8 : i32} producer {
  } consumer {
  }
  return
}

// -----

func.func @registers_not_a_multiple_of_8() {
  // expected-error @+1 {{register counts are multiples of 8 from 24 to 256, not 20}}
  tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 20 : i32, producer_warps = 4 : i32} producer {
  } consumer {
  }
  return
}

// -----

func.func @too_many_registers() {
  // expected-error @+1 {{the partitions' registers exceed the 64K of a multiprocessor}}
  tzgpu.warp_specialize attributes {consumer_registers = 256 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
  } consumer {
  }
  return
}

// -----

func.func @tile_in_producer() {
  // expected-error @+1 {{the producer region may not compute tiles}}
  tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
    %t = arith.constant dense<0.0> : tensor<4xf32>
  } consumer {
  }
  return
}

// -----

func.func @arrive_on_a_tile(%buf: !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable>, %go: i1) {
  // expected-error @+1 {{needs one mbarrier (a 1x1 i64 buffer)}}
  tzgpu.arrive_barrier %buf, %go : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable>
  return
}
