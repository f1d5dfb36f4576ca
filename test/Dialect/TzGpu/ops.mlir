// The #tzgpu.linear encoding and tzgpu.convert_layout survive printing and
// parsing, in the custom and the generic form; convert_layout folds.
// RUN: tz-opt %s | tz-opt | FileCheck %s
// RUN: tz-opt %s --mlir-print-op-generic | tz-opt | FileCheck %s
// RUN: tz-opt %s --canonicalize | FileCheck %s --check-prefix=CANON

// Rank 1 with empty register and warp lists; rank 2 with copies (zero
// bases) and a basis that is not axis-aligned.
// CHECK-LABEL: func.func @encodings
// CHECK-SAME: tensor<32xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = []>>
// CHECK-SAME: tensor<16x8xf16, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0]], lane = {{\[}}[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = {{\[}}[0, 0], [0, 0]]>>
// CHECK-SAME: tensor<4x4xi32, #tzgpu.linear<reg = {{\[}}[1, 1], [2, 0], [0, 2]], lane = {{\[}}[0, 1], [0, 0], [0, 0], [0, 0], [0, 0]], warp = {{\[}}[0, 0]]>>
func.func @encodings(
    %a: tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>,
    %b: tensor<16x8xf16, #tzgpu.linear<reg = [[0, 1], [8, 0]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[0, 0], [0, 0]]>>,
    %c: tensor<4x4xi32, #tzgpu.linear<reg = [[1, 1], [2, 0], [0, 2]], lane = [[0, 1], [0, 0], [0, 0], [0, 0], [0, 0]], warp = [[0, 0]]>>)
    -> (tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>,
        tensor<16x8xf16, #tzgpu.linear<reg = [[0, 1], [8, 0]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[0, 0], [0, 0]]>>,
        tensor<4x4xi32, #tzgpu.linear<reg = [[1, 1], [2, 0], [0, 2]], lane = [[0, 1], [0, 0], [0, 0], [0, 0], [0, 0]], warp = [[0, 0]]>>) {
  return %a, %b, %c : tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>,
                      tensor<16x8xf16, #tzgpu.linear<reg = [[0, 1], [8, 0]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[0, 0], [0, 0]]>>,
                      tensor<4x4xi32, #tzgpu.linear<reg = [[1, 1], [2, 0], [0, 2]], lane = [[0, 1], [0, 0], [0, 0], [0, 0], [0, 0]], warp = [[0, 0]]>>
}

// A 128-element tile moved from one element per thread over 4 warps to four
// consecutive elements per lane of one warp (warps holding copies).
// CHECK-LABEL: func.func @convert
// CHECK-SAME: (%[[X:.*]]: tensor<128xf32
// CHECK: %[[Y:.*]] = tzgpu.convert_layout %[[X]] : tensor<128xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>> -> tensor<128xf32, #tzgpu.linear<reg = {{\[}}[1], [2]], lane = {{\[}}[4], [8], [16], [32], [64]], warp = {{\[}}[0], [0]]>>
// CHECK: return %[[Y]]
// CANON-LABEL: func.func @convert
// CANON: tzgpu.convert_layout
func.func @convert(%x: tensor<128xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [64]]>>)
    -> tensor<128xf32, #tzgpu.linear<reg = [[1], [2]], lane = [[4], [8], [16], [32], [64]], warp = [[0], [0]]>> {
  %0 = tzgpu.convert_layout %x : tensor<128xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [64]]>>
                              -> tensor<128xf32, #tzgpu.linear<reg = [[1], [2]], lane = [[4], [8], [16], [32], [64]], warp = [[0], [0]]>>
  return %0 : tensor<128xf32, #tzgpu.linear<reg = [[1], [2]], lane = [[4], [8], [16], [32], [64]], warp = [[0], [0]]>>
}

// A to B to C is A to C: the middle layout is gone after canonicalization,
// and stays without it.
// CHECK-LABEL: func.func @convert_of_convert
// CHECK-COUNT-2: tzgpu.convert_layout
// CHECK-NOT: tzgpu.convert_layout
// CHECK: return
// CANON-LABEL: func.func @convert_of_convert
// CANON-SAME: (%[[X:.*]]: tensor<64xf32
// CANON-NEXT: %[[Y:.*]] = tzgpu.convert_layout %[[X]] : tensor<64xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32]]>> -> tensor<64xf32, #tzgpu.linear<reg = {{\[}}[32]], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[0]]>>
// CANON-NEXT: return %[[Y]]
func.func @convert_of_convert(%x: tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>)
    -> tensor<64xf32, #tzgpu.linear<reg = [[32]], lane = [[1], [2], [4], [8], [16]], warp = [[0]]>> {
  %0 = tzgpu.convert_layout %x : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
  %1 = tzgpu.convert_layout %0 : tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[32]], lane = [[1], [2], [4], [8], [16]], warp = [[0]]>>
  return %1 : tensor<64xf32, #tzgpu.linear<reg = [[32]], lane = [[1], [2], [4], [8], [16]], warp = [[0]]>>
}

// A to B and back to A is nothing at all; so is A to A.
// CHECK-LABEL: func.func @convert_round_trip
// CHECK-COUNT-3: tzgpu.convert_layout
// CANON-LABEL: func.func @convert_round_trip
// CANON-SAME: (%[[X:[^:]*]]: tensor<64xf32
// CANON-NOT: tzgpu.convert_layout
// CANON: return %[[X]], %[[X]]
func.func @convert_round_trip(%x: tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>)
    -> (tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>,
        tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>) {
  %0 = tzgpu.convert_layout %x : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
  %1 = tzgpu.convert_layout %0 : tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
  %2 = tzgpu.convert_layout %x : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
  return %1, %2 : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>,
                  tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
}

// A splat is the same in every layout: built in the new one, not moved.
// CHECK-LABEL: func.func @convert_of_splat
// CHECK-COUNT-2: tzgpu.convert_layout
// CANON-LABEL: func.func @convert_of_splat
// CANON-SAME: (%[[S:.*]]: f32)
// CANON-DAG: arith.constant dense<2.000000e+00> : tensor<64xf32, #tzgpu.linear<reg = {{\[}}[1]]
// CANON-DAG: tz.splat %[[S]] : f32 -> tensor<64xf32, #tzgpu.linear<reg = {{\[}}[1]]
// CANON-NOT: tzgpu.convert_layout
// CANON: return
func.func @convert_of_splat(%s: f32)
    -> (tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>,
        tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>) {
  %c = arith.constant dense<2.0> : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
  %t = tz.splat %s : f32 -> tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
  %0 = tzgpu.convert_layout %c : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
  %1 = tzgpu.convert_layout %t : tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32]]>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
  return %0, %1 : tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>,
                  tensor<64xf32, #tzgpu.linear<reg = [[1]], lane = [[2], [4], [8], [16], [32]], warp = [[0]]>>
}
