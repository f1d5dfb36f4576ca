// One case per error of the #tzgpu.linear parser and verifier, and of
// tzgpu.convert_layout.
// RUN: tz-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{a linear encoding needs 5 lane bases}}
func.func @four_lane_bases(%x: tensor<16xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8]], warp = []>>) {
  return
}

// -----

// expected-error @+1 {{a linear encoding needs 5 lane bases}}
func.func @six_lane_bases(%x: tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16], [32]], warp = []>>) {
  return
}

// -----

// expected-error @+1 {{basis coordinates must be non-negative}}
func.func @negative_lane_coordinate(%x: tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [-16]], warp = []>>) {
  return
}

// -----

// expected-error @+1 {{basis coordinates must be non-negative}}
func.func @negative_register_coordinate(%x: tensor<64x2xf32, #tzgpu.linear<reg = [[0, -1]], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0]]>>) {
  return
}

// -----

// expected-error @+1 {{basis coordinates must be non-negative}}
func.func @negative_warp_coordinate(%x: tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[-32]]>>) {
  return
}

// -----

// Registers of rank 2, lanes of rank 1.
// expected-error @+1 {{reg, lane and warp bases must have the same rank}}
func.func @register_rank_mismatch(%x: tensor<64xf32, #tzgpu.linear<reg = [[1, 0]], lane = [[2], [4], [8], [16], [32]], warp = []>>) {
  return
}

// -----

// expected-error @+1 {{reg, lane and warp bases must have the same rank}}
func.func @warp_rank_mismatch(%x: tensor<64xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[0, 32]]>>) {
  return
}

// -----

// Within one list, every basis has the rank of the first.
// expected-error @+1 {{every basis needs 1 coordinates}}
func.func @lane_rank_mismatch(%x: tensor<32x2xf32, #tzgpu.linear<reg = [], lane = [[1], [2, 0], [4], [8], [16]], warp = []>>) {
  return
}

// -----

// expected-error @+1 {{a linear encoding needs rank >= 1}}
func.func @rank_zero(%x: tensor<1xf32, #tzgpu.linear<reg = [], lane = [[], [], [], [], []], warp = []>>) {
  return
}

// -----

func.func @convert_changes_shape(%x: tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>) {
  // expected-error @+1 {{'tzgpu.convert_layout' op requires the same shape for all operands and results}}
  %0 = tzgpu.convert_layout %x : tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>
                              -> tensor<64xf32, #tzgpu.linear<reg = [[32]], lane = [[1], [2], [4], [8], [16]], warp = []>>
  return
}

// -----

func.func @convert_changes_element_type(%x: tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>) {
  // expected-error @+1 {{'tzgpu.convert_layout' op requires the same element type for all operands and results}}
  %0 = tzgpu.convert_layout %x : tensor<32xf32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>
                              -> tensor<32xf16, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = []>>
  return
}
