// The buffer type, its encoding and the ops on buffers survive printing and
// parsing, in the custom and the generic form.
// RUN: tz-opt %s | tz-opt | FileCheck %s
// RUN: tz-opt %s --mlir-print-op-generic | tz-opt | FileCheck %s

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
// CHECK-LABEL: func.func @buffers
// CHECK: %[[S:.*]] = tzgpu.local_alloc {offset = 1024 : i64} : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: %[[P:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: %[[T:.*]] = tzgpu.memdesc_index %[[S]][%{{.*}}] : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tzgpu.async_copy %{{.*}} mask %{{.*}} into %[[T]] : tensor<64x64x!tz.ptr<f16>, {{.*}}>, tensor<64x64xi1, {{.*}}> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tzgpu.async_commit
// CHECK: tzgpu.async_wait 0 on %[[S]] : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tzgpu.async_wait 1{{$}}
// CHECK: tzgpu.local_load %[[T]] : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf16, {{.*}}>
// CHECK: tzgpu.local_store %{{.*}}, %[[P]] : tensor<64x64xbf16, {{.*}}> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: tzgpu.barrier
func.func @buffers(%p: tensor<64x64x!tz.ptr<f16>, #blk>, %m: tensor<64x64xi1, #blk>, %x: tensor<64x64xbf16, #blk>, %i: i32) -> tensor<64x64xf16, #blk> {
  %s = tzgpu.local_alloc {offset = 1024 : i64} : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
  %pb = tzgpu.local_alloc : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<pad = 16>, mutable>
  %t = tzgpu.memdesc_index %s[%i] : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
  tzgpu.async_copy %p mask %m into %t : tensor<64x64x!tz.ptr<f16>, #blk>, tensor<64x64xi1, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
  tzgpu.async_commit
  tzgpu.async_wait 0 on %s : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
  tzgpu.async_wait 1
  %y = tzgpu.local_load %t : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf16, #blk>
  tzgpu.local_store %x, %pb : tensor<64x64xbf16, #blk> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<pad = 16>, mutable>
  tzgpu.barrier
  return %y : tensor<64x64xf16, #blk>
}

#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
// CHECK-LABEL: func.func @warp_group_dot
// CHECK: %[[D:.*]] = tzgpu.warp_group_dot %{{.*}}, %{{.*}}, %{{.*}} {b_k_major} : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>> -> tensor<64x64xf32
// CHECK: tzgpu.warp_group_dot_wait 1, %[[D]] : tensor<64x64xf32
func.func @warp_group_dot(%a: !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>>, %b: !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>>, %c: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
  %d = tzgpu.warp_group_dot %a, %b, %c {b_k_major} : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>> -> tensor<64x64xf32, #acc>
  %r = tzgpu.warp_group_dot_wait 1, %d : tensor<64x64xf32, #acc>
  return %r : tensor<64x64xf32, #acc>
}
