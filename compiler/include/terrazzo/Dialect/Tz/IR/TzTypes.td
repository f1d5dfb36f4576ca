//===- TzTypes.td - tz types and type constraints ----------*- tablegen -*-===//
#ifndef TERRAZZO_TZ_TYPES
#define TERRAZZO_TZ_TYPES

include "terrazzo/Dialect/Tz/IR/TzDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def Tz_PtrType : TypeDef<Tz_Dialect, "Pointer"> {
  let mnemonic = "ptr";
  let summary = "Pointer to global memory holding elements of one scalar type";
  let description = [{
    `!tz.ptr<f32>` points at f32 elements in global memory. Offsets added with
    `tz.addptr` count elements, not bytes.
  }];
  let parameters = (ins "::mlir::Type":$pointeeType);
  let assemblyFormat = "`<` $pointeeType `>`";
}

def Tz_Float : AnyTypeOf<[F16, BF16, F32, F64]>;
def Tz_Int : AnyTypeOf<[I1, I8, I16, I32, I64]>;
def Tz_Scalar : AnyTypeOf<[Tz_Float, Tz_Int]>;
def Tz_Element : AnyTypeOf<[Tz_Scalar, Tz_PtrType]>;

def Tz_FloatTile : RankedTensorOf<[Tz_Float]>;
def Tz_IntTile : RankedTensorOf<[Tz_Int]>;
def Tz_I32Tile : RankedTensorOf<[I32]>;
def Tz_BoolTile : RankedTensorOf<[I1]>;
def Tz_PtrTile : RankedTensorOf<[Tz_PtrType]>;
def Tz_AnyTile : RankedTensorOf<[Tz_Element]>;

def Tz_FloatLike : AnyTypeOf<[Tz_Float, Tz_FloatTile]>;
def Tz_IntLike : AnyTypeOf<[Tz_Int, Tz_IntTile]>;
def Tz_BoolLike : AnyTypeOf<[I1, Tz_BoolTile]>;
def Tz_PtrLike : AnyTypeOf<[Tz_PtrType, Tz_PtrTile]>;
def Tz_ScalarLike : AnyTypeOf<[Tz_Scalar, RankedTensorOf<[Tz_Scalar]>]>;
def Tz_Any : AnyTypeOf<[Tz_Element, Tz_AnyTile]>;

#endif // TERRAZZO_TZ_TYPES
