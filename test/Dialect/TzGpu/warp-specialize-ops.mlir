// tzgpu.warp_specialize and tzgpu.arrive_barrier survive printing and
// parsing (their verifiers' errors: warp-specialize-ops-invalid.mlir).
// RUN: tz-opt %s --split-input-file | tz-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @split
// CHECK: tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
// CHECK: tzgpu.wait_barrier
// CHECK: } consumer {
// CHECK: tzgpu.arrive_barrier %{{.*}}, %{{.*}} : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
func.func @split(%bar: !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>, %phase: i32, %go: i1) {
  tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
    tzgpu.wait_barrier %bar, %phase : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
  } consumer {
    tzgpu.arrive_barrier %bar, %go : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
  }
  return
}
