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

//===----------------------------------------------------------------------===//
// Asynchronous copies into pipelined shared-memory buffers
//===----------------------------------------------------------------------===//
//
// tzgpu-pipeline turns a load that feeds a dot inside a loop into copies
// that run `stages - 1` iterations ahead. A buffer lives at byte `offset`
// of the module's pipelined region of shared memory (the pass lays out the
// buffers of each loop from 0: loops do not overlap in time), which comes
// before the scratch space the other ops use. It has `stages` slots of
// pipelinedSlotBytes each, holding one tile row-major with every row padded
// by 16 bytes (conflict-free ldmatrix), or, when the copy and the read are
// marked `swizzled`, unpadded in the 128-byte swizzle that wgmma reads (see
// swizzledByteOffset in TzGpuDialect.h).

def TzGpu_AsyncCopyOp : TzGpu_Op<"async_copy", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Start copying a tile from global memory into a buffer slot";
  let description = [{
    Each thread issues cp.async for the elements its layout gives it, in
    chunks of up to 16 bytes; masked-off chunks are filled with zeros and
    read nothing. The copy is complete after a later `tzgpu.async_wait`
    that leaves fewer groups pending than were committed since.
  }];
  let arguments = (ins AnyRankedTensor:$ptr, Optional<AnyRankedTensor>:$mask, I32:$slot,
                       I64Attr:$offset, I64Attr:$stages, UnitAttr:$swizzled);
  let assemblyFormat = [{
    $ptr (`mask` $mask^)? `into` (`swizzled` $swizzled^)? `shared` `[` $offset `]` `slot` $slot `of` $stages
    attr-dict
    `:` type($ptr) (`,` type($mask)^)?
  }];
}

def TzGpu_AsyncCommitOp : TzGpu_Op<"async_commit", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Close the group of copies this thread issued since the last commit";
  let assemblyFormat = "attr-dict";
}

def TzGpu_AsyncWaitOp : TzGpu_Op<"async_wait", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Wait until at most `pending` groups are in flight, then synchronise the block";
  let description = [{
    After it, every thread sees what every thread's completed copies wrote,
    and every thread has finished what came before it (so a slot read before
    may be overwritten).
  }];
  let arguments = (ins I32Attr:$pending);
  let assemblyFormat = "$pending attr-dict";
}

def TzGpu_LocalLoadOp : TzGpu_Op<"local_load", [MemoryEffects<[MemRead]>]> {
  let summary = "Read a tile from a buffer slot";
  let description = [{
    The result may have any layout. A dot whose operand is a local_load (or,
    for B, the transpose of one) reads the buffer directly: with ldmatrix
    (mma.sync) from a padded slot, with a wgmma descriptor from a swizzled
    one.
  }];
  let arguments = (ins I32:$slot, I64Attr:$offset, I64Attr:$stages, UnitAttr:$swizzled);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    (`swizzled` $swizzled^)? `shared` `[` $offset `]` `slot` $slot `of` $stages attr-dict `:` type($result)
  }];
}

#endif // TERRAZZO_TZGPU_DIALECT
