//===- TzGpuDialect.td - the tzgpu layout dialect ----------*- tablegen -*-===//
//
// tzgpu is the level where tiles have layouts: a tensor type carries a
// `#tzgpu.linear` encoding saying which thread holds which element, and
// `tzgpu.convert_layout` moves a tile between two layouts. Every other op
// stays a tz / arith / math / scf op, now on encoded tensors.
//
//===----------------------------------------------------------------------===//
#ifndef TERRAZZO_TZGPU_DIALECT
#define TERRAZZO_TZGPU_DIALECT

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/TensorEncoding.td"

def TzGpu_Dialect : Dialect {
  let name = "tzgpu";
  let cppNamespace = "::terrazzo::tzgpu";
  let summary = "Layouts of tiles over the threads of a GPU thread block";
  let description = [{
    The module attribute `tzgpu.num_warps` gives the warps of a thread block;
    every layout in the module is a map onto that many warps.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def TzGpu_LinearEncodingAttr : AttrDef<TzGpu_Dialect, "LinearEncoding",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let mnemonic = "linear";
  let summary = "A layout as a linear map over F2 from (register, lane, warp) bits to coordinates";
  let description = [{
    Each list gives one basis (a tile coordinate) per bit of the register
    index, the lane id (always 5 bits) and the warp id. The element held by
    (register r, lane l, warp w) is the XOR of the bases of the set bits of
    r, l and w. A zero basis makes a bit select copies of the same element.

    ```mlir
    tensor<128xf32, #tzgpu.linear<reg = [[1], [2]], lane = [[4], [8], [16], [32], [64]], warp = [[0], [0]]>>
    ```
  }];
  // Bases flattened, `rank` entries each.
  let parameters = (ins "unsigned":$rank, ArrayRefParameter<"int32_t">:$reg,
                        ArrayRefParameter<"int32_t">:$lane, ArrayRefParameter<"int32_t">:$warp);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    // The layout of a tile of `shape` with this encoding.
    LinearLayout toLayout(::llvm::ArrayRef<int64_t> shape) const;
    static LinearEncodingAttr fromLayout(::mlir::MLIRContext *context, const LinearLayout &layout);
  }];
}

class TzGpu_Op<string mnemonic, list<Trait> traits = []> : Op<TzGpu_Dialect, mnemonic, traits>;

def TzGpu_ConvertLayoutOp : TzGpu_Op<"convert_layout", [Pure, SameOperandsAndResultShape,
                                                        SameOperandsAndResultElementType]> {
  let summary = "The same tile in another layout";
  let description = [{
    Moves elements between threads: through registers when every thread
    already holds what it needs, through shuffles or shared memory otherwise.
  }];
  let arguments = (ins AnyRankedTensor:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

#endif // TERRAZZO_TZGPU_DIALECT
