//===- TzAttrs.td - tz enum attributes ---------------------*- tablegen -*-===//
#ifndef TERRAZZO_TZ_ATTRS
#define TERRAZZO_TZ_ATTRS

include "terrazzo/Dialect/Tz/IR/TzDialect.td"
include "mlir/IR/EnumAttr.td"

def Tz_ReduceKind : I32EnumAttr<"ReduceKind", "combining function of a reduction", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Max", 1, "max">,
    I32EnumAttrCase<"Min", 2, "min">,
    I32EnumAttrCase<"Argmax", 3, "argmax">,
    I32EnumAttrCase<"Argmin", 4, "argmin">,
    I32EnumAttrCase<"Prod", 5, "prod">,
    I32EnumAttrCase<"Xor", 6, "xor_sum">
  ]> {
  let cppNamespace = "::terrazzo::tz";
  let genSpecializedAttr = 0;
}
def Tz_ReduceKindAttr : EnumAttr<Tz_Dialect, Tz_ReduceKind, "reduce_kind">;

def Tz_AtomicKind : I32EnumAttr<"AtomicKind", "read-modify-write operation of an atomic", [
    I32EnumAttrCase<"Add", 0, "add">,
    I32EnumAttrCase<"Max", 1, "max">,
    I32EnumAttrCase<"Min", 2, "min">,
    I32EnumAttrCase<"And", 3, "and">,
    I32EnumAttrCase<"Or", 4, "or">,
    I32EnumAttrCase<"Xor", 5, "xor">,
    I32EnumAttrCase<"Xchg", 6, "xchg">
  ]> {
  let cppNamespace = "::terrazzo::tz";
  let genSpecializedAttr = 0;
}
def Tz_AtomicKindAttr : EnumAttr<Tz_Dialect, Tz_AtomicKind, "atomic_kind">;

#endif // TERRAZZO_TZ_ATTRS
