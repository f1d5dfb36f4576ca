//===- TzOps.td - tz operations ----------------------------*- tablegen -*-===//
#ifndef TERRAZZO_TZ_OPS
#define TERRAZZO_TZ_OPS

include "terrazzo/Dialect/Tz/IR/TzDialect.td"
include "terrazzo/Dialect/Tz/IR/TzTypes.td"
include "terrazzo/Dialect/Tz/IR/TzAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/OpBase.td"

// Global memory as a side-effect resource, so loads and stores are ordered
// against each other but not against unrelated effects.
def GlobalMemory : Resource<"::terrazzo::tz::GlobalMemory">;

//===----------------------------------------------------------------------===//
// Program identity
//===----------------------------------------------------------------------===//

def Tz_ProgramIdOp : Tz_Op<"program_id", [Pure]> {
  let summary = "Index of this program along one grid axis";
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict `:` type($result)";
}

def Tz_NumProgramsOp : Tz_Op<"num_programs", [Pure]> {
  let summary = "Number of programs along one grid axis";
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Tile creation and shape manipulation
//===----------------------------------------------------------------------===//

def Tz_MakeRangeOp : Tz_Op<"make_range", [Pure]> {
  let summary = "The tile [start, start+1, ..., end-1]";
  let description = [{
    `end - start` must be a positive power of two, and the result a 1-D i32
    tile of that many elements.
  }];
  let arguments = (ins I32Attr:$start, I32Attr:$end);
  let results = (outs Tz_I32Tile:$result);
  let assemblyFormat = "$start `,` $end attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Tz_SplatOp : Tz_Op<"splat", [Pure,
    TypesMatchWith<"result element type matches the scalar", "result", "src",
                   "::mlir::cast<::mlir::RankedTensorType>($_self).getElementType()">]> {
  let summary = "A tile with every element equal to one scalar";
  let arguments = (ins Tz_Element:$src);
  let results = (outs Tz_AnyTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasFolder = 1;
}

def Tz_BroadcastOp : Tz_Op<"broadcast", [Pure, SameOperandsAndResultElementType]> {
  let summary = "Repeat size-1 dimensions of a tile to a larger shape";
  let arguments = (ins Tz_AnyTile:$src);
  let results = (outs Tz_AnyTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Tz_ExpandDimsOp : Tz_Op<"expand_dims", [Pure, SameOperandsAndResultElementType]> {
  let summary = "Insert a size-1 dimension at `axis`";
  let arguments = (ins Tz_AnyTile:$src, I32Attr:$axis);
  let results = (outs Tz_AnyTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Tz_ReshapeOp : Tz_Op<"reshape", [Pure, SameOperandsAndResultElementType]> {
  let summary = "Reinterpret a tile with another shape of the same size (row-major order)";
  let arguments = (ins Tz_AnyTile:$src);
  let results = (outs Tz_AnyTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tz_TransOp : Tz_Op<"trans", [Pure, SameOperandsAndResultElementType]> {
  let summary = "Permute the dimensions of a tile";
  let description = [{
    Result dimension `i` is source dimension `order[i]`.
  }];
  let arguments = (ins Tz_AnyTile:$src, DenseI32ArrayAttr:$order);
  let results = (outs Tz_AnyTile:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Pointers and memory
//===----------------------------------------------------------------------===//

def Tz_AddPtrOp : Tz_Op<"addptr", [Pure, AllTypesMatch<["ptr", "result"]>]> {
  let summary = "Advance pointers by element offsets";
  let arguments = (ins Tz_PtrLike:$ptr, Tz_IntLike:$offset);
  let results = (outs Tz_PtrLike:$result);
  let assemblyFormat = "$ptr `,` $offset attr-dict `:` type($ptr) `,` type($offset)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tz_LoadOp : Tz_Op<"load", [AttrSizedOperandSegments,
    MemoryEffects<[MemRead<GlobalMemory>]>]> {
  let summary = "Load a scalar or tile from global memory";
  let description = [{
    Where `mask` is false nothing is read and the result is `other` (undefined
    when `other` is absent). `mask` and `other` have the shape of `ptr`.
  }];
  let arguments = (ins Tz_PtrLike:$ptr, Optional<Tz_BoolLike>:$mask,
                       Optional<Tz_ScalarLike>:$other);
  let results = (outs Tz_ScalarLike:$result);
  let assemblyFormat = [{
    $ptr (`,` `mask` $mask^)? (`,` `other` $other^)? attr-dict `:` type($ptr) `->` type($result)
    (`,` type($mask)^)? (`,` type($other)^)?
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Tz_StoreOp : Tz_Op<"store", [MemoryEffects<[MemWrite<GlobalMemory>]>]> {
  let summary = "Store a scalar or tile to global memory where `mask` holds";
  let arguments = (ins Tz_PtrLike:$ptr, Tz_ScalarLike:$value, Optional<Tz_BoolLike>:$mask);
  let assemblyFormat = [{
    $ptr `,` $value (`,` `mask` $mask^)? attr-dict `:` type($ptr) `,` type($value) (`,` type($mask)^)?
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Tz_AtomicRMWOp : Tz_Op<"atomic_rmw", [AllTypesMatch<["value", "result"]>,
    MemoryEffects<[MemRead<GlobalMemory>, MemWrite<GlobalMemory>]>]> {
  let summary = "Atomic read-modify-write; returns the values before the update";
  let arguments = (ins Tz_AtomicKindAttr:$kind, Tz_PtrLike:$ptr, Tz_ScalarLike:$value,
                       Optional<Tz_BoolLike>:$mask);
  let results = (outs Tz_ScalarLike:$result);
  let assemblyFormat = [{
    $kind $ptr `,` $value (`,` `mask` $mask^)? attr-dict `:` type($ptr) `,` type($value) (`,` type($mask)^)?
  }];
  let hasVerifier = 1;
}

def Tz_AtomicCASOp : Tz_Op<"atomic_cas", [AllTypesMatch<["cmp", "value", "result"]>,
    MemoryEffects<[MemRead<GlobalMemory>, MemWrite<GlobalMemory>]>]> {
  let summary = "Atomic compare-and-swap; returns the values before the update";
  let arguments = (ins Tz_PtrLike:$ptr, Tz_ScalarLike:$cmp, Tz_ScalarLike:$value);
  let results = (outs Tz_ScalarLike:$result);
  let assemblyFormat = [{
    $ptr `,` $cmp `,` $value attr-dict `:` type($ptr) `,` type($value)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Compute
//===----------------------------------------------------------------------===//

def Tz_DotOp : Tz_Op<"dot", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "Matrix product accumulated into `acc`: result = a @ b + acc";
  let description = [{
    `a` is MxK, `b` is KxN and `acc` MxN. Products of low-precision inputs are
    accumulated in the element type of `acc`.
  }];
  let arguments = (ins Tz_FloatTile:$a, Tz_FloatTile:$b, Tz_FloatTile:$acc);
  let results = (outs Tz_FloatTile:$result);
  let assemblyFormat = "$a `,` $b `,` $acc attr-dict `:` type($a) `*` type($b) `->` type($result)";
  let hasVerifier = 1;
}

def Tz_ReduceOp : Tz_Op<"reduce", [Pure]> {
  let summary = "Reduce a tile along one axis";
  let description = [{
    Removes dimension `axis`; a 1-D tile reduces to a scalar. `argmax` and
    `argmin` return i32 indices of the first extreme element.
  }];
  let arguments = (ins Tz_ReduceKindAttr:$kind, RankedTensorOf<[Tz_Scalar]>:$src, I32Attr:$axis);
  let results = (outs Tz_ScalarLike:$result);
  let assemblyFormat = "$kind $src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Tz_ScanOp : Tz_Op<"scan", [Pure, AllTypesMatch<["src", "result"]>]> {
  let summary = "Inclusive prefix scan of a tile along one axis";
  let arguments = (ins Tz_ReduceKindAttr:$kind, RankedTensorOf<[Tz_Scalar]>:$src, I32Attr:$axis,
                       UnitAttr:$reverse);
  let results = (outs RankedTensorOf<[Tz_Scalar]>:$result);
  let assemblyFormat = "$kind $src attr-dict `:` type($src)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Debugging
//===----------------------------------------------------------------------===//

def Tz_PrintOp : Tz_Op<"print", [MemoryEffects<[MemWrite<DefaultResource>]>]> {
  let summary = "Print values from every program (device_print)";
  let arguments = (ins StrAttr:$prefix, Variadic<Tz_Any>:$args);
  let assemblyFormat = "$prefix ($args^ `:` type($args))? attr-dict";
}

def Tz_AssertOp : Tz_Op<"assert", [MemoryEffects<[MemWrite<DefaultResource>]>]> {
  let summary = "Stop the kernel with `message` where `cond` is false (device_assert)";
  let arguments = (ins Tz_BoolLike:$cond, StrAttr:$message);
  let assemblyFormat = "$cond `,` $message attr-dict `:` type($cond)";
}

#endif // TERRAZZO_TZ_OPS
