// One case per error of the #tzgpu.shared and !tzgpu.memdesc verifiers and
// of the ops on buffers.
// RUN: tz-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{swizzle must be 0, 32, 64 or 128 bytes, not 16}}
func.func @bad_swizzle(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 16>>) {
  return
}

// -----

// expected-error @+1 {{a swizzled tile has no row padding}}
func.func @swizzle_and_pad(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128, pad = 16>>) {
  return
}

// -----

// expected-error @+1 {{row padding must be a multiple of 4 bytes, not 6}}
func.func @odd_pad(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 6>>) {
  return
}

// -----

// expected-error @+1 {{a buffer holds 2-D tiles: its shape needs at least 2 dimensions}}
func.func @one_dimension(%b: !tzgpu.memdesc<64xf16, #tzgpu.shared<pad = 16>>) {
  return
}

// -----

// expected-error @+1 {{buffer elements must be whole-byte integers or floats, not 'i1'}}
func.func @bit_elements(%b: !tzgpu.memdesc<64x64xi1, #tzgpu.shared<pad = 16>>) {
  return
}

// -----

// expected-error @+1 {{rows of 64 bytes cannot be stored in the 128-byte swizzle}}
func.func @short_rows(%b: !tzgpu.memdesc<64x32xf16, #tzgpu.shared<swizzle = 128>>) {
  return
}

// -----

func.func @misaligned_offset() {
  // expected-error @+1 {{offset 512 is not a multiple of the buffer's alignment 1024}}
  %a = tzgpu.local_alloc {offset = 512 : i64} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
  return
}

// -----

func.func @index_one_tile(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>, %i: i32) {
  // expected-error @+1 {{indexes a buffer of several tiles (3-D or more)}}
  %t = tzgpu.memdesc_index %b[%i] : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
  return
}

// -----

func.func @index_changes_encoding(%b: !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable>, %i: i32) {
  // expected-error @+1 {{result must be the source without its leading dimension}}
  %t = tzgpu.memdesc_index %b[%i] : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 8>, mutable>
  return
}

// -----

func.func @store_immutable(%x: tensor<64x64xf16>, %b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>>) {
  // expected-error @+1 {{writes into an immutable buffer}}
  tzgpu.local_store %x, %b : tensor<64x64xf16> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>>
  return
}

// -----

func.func @copy_immutable(%p: tensor<64x64x!tz.ptr<f16>>, %b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>>) {
  // expected-error @+1 {{writes into an immutable buffer}}
  tzgpu.async_copy %p into %b : tensor<64x64x!tz.ptr<f16>> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>>
  return
}

// -----

func.func @load_wrong_element(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>) {
  // expected-error @+1 {{element type 'bf16' does not match the buffer's}}
  %x = tzgpu.local_load %b : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x64xbf16>
  return
}

// -----

func.func @load_wrong_shape(%b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>) {
  // expected-error @+1 {{tile shape does not match the buffer's}}
  %x = tzgpu.local_load %b : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x32xf16>
  return
}

// -----

#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
func.func @wgmma_padded_b(%a: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>>, %b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>>, %c: tensor<64x64xf32, #acc>) {
  // expected-error @+1 {{B must be in the 128-byte swizzle}}
  %d = tzgpu.warp_group_dot %a, %b, %c : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>> * !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>> -> tensor<64x64xf32, #acc>
  return
}

// -----

#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
func.func @wgmma_wrong_k(%a: !tzgpu.memdesc<64x128xf16, #tzgpu.shared<swizzle = 128>>, %b: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>>, %c: tensor<64x64xf32, #acc>) {
  // expected-error @+1 {{A must be 64x64}}
  %d = tzgpu.warp_group_dot %a, %b, %c : !tzgpu.memdesc<64x128xf16, #tzgpu.shared<swizzle = 128>> * !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>> -> tensor<64x64xf32, #acc>
  return
}

// -----

#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
func.func @wgmma_f32_operands(%a: !tzgpu.memdesc<64x64xf32, #tzgpu.shared<swizzle = 128>>, %b: !tzgpu.memdesc<64x64xf32, #tzgpu.shared<swizzle = 128>>, %c: tensor<64x64xf32, #acc>) {
  // expected-error @+1 {{multiplies f16 or bf16, not 'f32'}}
  %d = tzgpu.warp_group_dot %a, %b, %c : !tzgpu.memdesc<64x64xf32, #tzgpu.shared<swizzle = 128>> * !tzgpu.memdesc<64x64xf32, #tzgpu.shared<swizzle = 128>> -> tensor<64x64xf32, #acc>
  return
}
