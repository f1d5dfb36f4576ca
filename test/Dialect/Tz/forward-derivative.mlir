// Forward-mode differentiation (buildForwardDerivative) through the test pass:
// each function returns its value and, appended, d value / d argument tz.test.wrt.
// RUN: tz-opt %s --split-input-file --tz-test-forward-derivative --verify-diagnostics | FileCheck %s

// 20 tanh(s / 20), the soft-cap: d/ds = (1 - tanh^2) / 20 * 20.
// CHECK-LABEL: func.func @softcap
// CHECK-SAME: -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK: %[[Q:.*]] = arith.divf %arg0, %[[C20:.*]] : tensor<4x8xf32>
// CHECK: %[[T:.*]] = math.tanh %[[Q]]
// CHECK: %[[Y:.*]] = arith.mulf %[[T]], %[[C20]]
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<4x8xf32>
// CHECK: %[[DQ:.*]] = arith.divf %[[ONE]], %[[C20]]
// CHECK: %[[T2:.*]] = arith.mulf %[[T]], %[[T]]
// CHECK: %[[SECH2:.*]] = arith.subf %{{.*}}, %[[T2]]
// CHECK: %[[DT:.*]] = arith.mulf %[[DQ]], %[[SECH2]]
// CHECK: %[[DY:.*]] = arith.mulf %[[DT]], %[[C20]]
// CHECK: return %[[Y]], %[[DY]]
func.func @softcap(%s: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {tz.test.wrt = 0 : i64} {
  %c20 = arith.constant dense<20.0> : tensor<4x8xf32>
  %q = arith.divf %s, %c20 : tensor<4x8xf32>
  %t = math.tanh %q : tensor<4x8xf32>
  %y = arith.mulf %t, %c20 : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A per-row scale broadcast over the tile: the scale's tangent goes through
// the broadcast, the score's through the product; comparisons and integer
// index arithmetic carry none.
// CHECK-LABEL: func.func @scale_and_bias
// CHECK: tz.splat %arg1
// CHECK: tz.broadcast
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[SP:.*]] = tz.splat %[[ONE]] : f32 -> tensor<4x1xf32>
// CHECK: %[[DB:.*]] = tz.broadcast %[[SP]]
// CHECK: %[[D:.*]] = arith.mulf %[[DB]], %arg0
// CHECK: return %{{.*}}, %[[D]]
func.func @scale_and_bias(%s: tensor<4x8xf32>, %scale: f32, %i: tensor<4x8xi32>) -> tensor<4x8xf32>
    attributes {tz.test.wrt = 1 : i64} {
  %sp = tz.splat %scale : f32 -> tensor<4x1xf32>
  %b = tz.broadcast %sp : tensor<4x1xf32> -> tensor<4x8xf32>
  %m = arith.mulf %s, %b : tensor<4x8xf32>
  %f = arith.sitofp %i : tensor<4x8xi32> to tensor<4x8xf32>
  %y = arith.addf %m, %f : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// where/maximum choose the tangent of the operand they chose; a comparison
// on the differentiated value passes no tangent to its i1 result.
// CHECK-LABEL: func.func @choices
// CHECK: %[[C:.*]] = arith.cmpf ogt, %arg0, %[[Z:.*]] : f32
// CHECK: %[[M:.*]] = arith.maximumf %arg0, %[[Z]]
// CHECK: %[[E:.*]] = math.exp %arg0
// CHECK: %[[Y:.*]] = arith.select %[[C]], %[[M]], %[[E]]
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[GE:.*]] = arith.cmpf oge, %arg0, %[[Z]]
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[DM:.*]] = arith.select %[[GE]], %[[ONE]], %[[ZERO]]
// CHECK: %[[DE:.*]] = arith.mulf %[[ONE]], %[[E]]
// CHECK: %[[DY:.*]] = arith.select %[[C]], %[[DM]], %[[DE]]
// CHECK: return %[[Y]], %[[DY]]
func.func @choices(%x: f32) -> f32 attributes {tz.test.wrt = 0 : i64} {
  %z = arith.constant 0.0 : f32
  %c = arith.cmpf ogt, %x, %z : f32
  %m = arith.maximumf %x, %z : f32
  %e = math.exp %x : f32
  %y = arith.select %c, %m, %e : f32
  return %y : f32
}

// -----

// Casts carry the tangent in the cast type.
// CHECK-LABEL: func.func @casts
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : bf16
// CHECK: %[[DE:.*]] = arith.extf %[[ONE]] : bf16 to f32
// CHECK: %[[DL:.*]] = arith.divf %[[DE]], %{{.*}} : f32
// CHECK: return %{{.*}}, %[[DL]]
func.func @casts(%x: bf16) -> f32 attributes {tz.test.wrt = 0 : i64} {
  %e = arith.extf %x : bf16 to f32
  %l = math.log %e : f32
  return %l : f32
}

// -----

// A value that does not depend on the argument has derivative zero.
// CHECK-LABEL: func.func @independent
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: return %{{.*}}, %[[ZERO]]
func.func @independent(%x: f32, %y: f32) -> f32 attributes {tz.test.wrt = 0 : i64} {
  %e = math.exp %y : f32
  return %e : f32
}

// -----

// Run-time control flow has no rule: the error names the op.
func.func @branch(%x: f32, %c: i1) -> f32 attributes {tz.test.wrt = 0 : i64} {
  // expected-error @+1 {{cannot differentiate 'scf.if': run-time control flow cannot be differentiated}}
  %y = scf.if %c -> f32 {
    %e = math.exp %x : f32
    scf.yield %e : f32
  } else {
    scf.yield %x : f32
  }
  return %y : f32
}

// -----

// Bit casts are not differentiable either.
func.func @bits(%x: f32) -> f32 attributes {tz.test.wrt = 0 : i64} {
  // expected-error @+1 {{cannot differentiate 'arith.bitcast': no derivative rule for it}}
  %i = arith.bitcast %x : f32 to i32
  %y = arith.bitcast %i : i32 to f32
  return %y : f32
}
