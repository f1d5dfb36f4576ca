//===- TzDialect.td - the tz tile dialect ------------------*- tablegen -*-===//
//
// The tz dialect is the layout-free tile level: values are scalars, pointers
// and statically shaped tiles (builtin ranked tensors). Elementwise math uses
// arith/math on tensors and control flow is scf; tz adds what those dialects
// cannot say: program ids, pointer arithmetic, masked memory access, shape
// manipulation, dot, reductions, scans and atomics.
//
//===----------------------------------------------------------------------===//
#ifndef TERRAZZO_TZ_DIALECT
#define TERRAZZO_TZ_DIALECT

include "mlir/IR/OpBase.td"

def Tz_Dialect : Dialect {
  let name = "tz";
  let cppNamespace = "::terrazzo::tz";
  let summary = "Layout-free tile operations of Terrazzo kernels";
  let description = [{
    A kernel is a `func.func` carrying the `tz.kernel` unit attribute. Its
    arguments are scalars and `!tz.ptr` values; it runs once per program of a
    launch grid of up to three axes, and every op works on whole tiles.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class Tz_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tz_Dialect, mnemonic, traits>;

#endif // TERRAZZO_TZ_DIALECT
