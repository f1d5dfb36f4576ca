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
  let useDefaultTypePrinterParser = 1;
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

//===----------------------------------------------------------------------===//
// Shared memory as typed values
//===----------------------------------------------------------------------===//
//
// A buffer in shared memory is a value of type !tzgpu.memdesc: its shape
// (a leading dimension of stages when it holds several tiles in turn, as a
// pipelined buffer does), element type, how a tile is laid out in bytes
// (#tzgpu.shared) and whether it may be written. tzgpu.local_alloc creates
// one; its place (the byte offset in the block's dynamic shared memory) is
// decided later by tzgpu-allocate-shared-memory, which gives buffers whose
// lifetimes do not overlap the same bytes. The lowering reads the offset,
// the shape and the encoding, nothing else.

def TzGpu_SharedEncodingAttr : AttrDef<TzGpu_Dialect, "SharedEncoding"> {
  let mnemonic = "shared";
  let summary = "How a 2-D tile is laid out in the bytes of a shared-memory buffer";
  let description = [{
    Rows are stored one after the other. With `swizzle = 0` each row is
    followed by `pad` bytes (16 keeps ldmatrix free of bank conflicts). With
    `swizzle` = 32, 64 or 128 the tile is stored as the NVMMA swizzle that
    wgmma and TMA read: columns in blocks of `swizzle` bytes, each block
    [rows x swizzle bytes] after the other, and within a block the 16-byte
    chunk c of row r at r * swizzle + 16 * (c ^ ((r * swizzle / 128) % (swizzle / 16))).

    ```mlir
    #tzgpu.shared<pad = 16>
    #tzgpu.shared<swizzle = 128>
    ```
  }];
  let parameters = (ins DefaultValuedParameter<"unsigned", "0">:$swizzle,
                        DefaultValuedParameter<"unsigned", "0">:$pad);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isSwizzled() const { return getSwizzle() != 0; }
  }];
}

def TzGpu_MemDescType : TypeDef<TzGpu_Dialect, "MemDesc"> {
  let mnemonic = "memdesc";
  let summary = "A buffer in shared memory";
  let description = [{
    `!tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>` is
    three 64x64 f16 tiles, each swizzled; without `mutable` the buffer is
    only read. The last two dimensions are one tile; leading dimensions
    index tiles (tzgpu.memdesc_index views one).
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$shape, "::mlir::Type":$elementType,
                        "SharedEncodingAttr":$encoding, "bool":$mutableMemory);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    // The shape of one tile (the last two dimensions).
    ::llvm::ArrayRef<int64_t> tileShape() const { return getShape().take_back(2); }
    // Tiles the buffer holds (the product of the leading dimensions).
    int64_t numTiles() const;
    int64_t elementBytes() const;
    // Elements from one stored row to the next (the row plus its padding).
    int64_t rowStride() const;
    // Bytes one tile takes, rounded so that every tile of the buffer is
    // aligned as alignment() says.
    int64_t tileBytes() const;
    int64_t totalBytes() const { return numTiles() * tileBytes(); }
    // Alignment of the buffer's start: the swizzle repeats every 1024 bytes
    // and wgmma descriptors assume tiles aligned to it.
    int64_t alignment() const;
    // Byte offset of element (row, col) within one tile.
    int64_t byteOffset(int64_t row, int64_t col) const;
  }];
}

def TzGpu_SharedMemory : Resource<"::terrazzo::tzgpu::SharedMemory">;

class TzGpu_Op<string mnemonic, list<Trait> traits = []> : Op<TzGpu_Dialect, mnemonic, traits>;

def TzGpu_LocalAllocOp : TzGpu_Op<"local_alloc", [MemoryEffects<[MemAlloc<TzGpu_SharedMemory>]>]> {
  let summary = "A new buffer in shared memory";
  let description = [{
    The buffer lives from here to the last use of it or of a view of it
    (through the end of a loop that uses it, when it is defined outside).
    `offset` is set by tzgpu-allocate-shared-memory; the lowering requires it.
  }];
  let arguments = (ins OptionalAttr<I64Attr>:$offset);
  let results = (outs TzGpu_MemDescType:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
}

def TzGpu_MemDescIndexOp : TzGpu_Op<"memdesc_index", [Pure]> {
  let summary = "View one tile of a multi-tile buffer";
  let arguments = (ins TzGpu_MemDescType:$src, I32:$index);
  let results = (outs TzGpu_MemDescType:$result);
  let assemblyFormat = "$src `[` $index `]` attr-dict `:` qualified(type($src)) `->` qualified(type($result))";
  let hasVerifier = 1;
}

def TzGpu_AsyncCopyOp : TzGpu_Op<"async_copy", [MemoryEffects<[MemRead, MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Start copying a tile from global memory into a buffer";
  let description = [{
    Each thread issues cp.async for the elements its layout gives it, in
    chunks of up to 16 bytes; masked-off chunks are filled with zeros and
    read nothing. The copy is complete after a later `tzgpu.async_wait`
    that leaves fewer groups pending than were committed since.
  }];
  let arguments = (ins AnyRankedTensor:$ptr, Optional<AnyRankedTensor>:$mask, TzGpu_MemDescType:$dst);
  let assemblyFormat = [{
    $ptr (`mask` $mask^)? `into` $dst attr-dict `:` type($ptr) (`,` type($mask)^)? `->` qualified(type($dst))
  }];
  let hasVerifier = 1;
}

def TzGpu_AsyncCommitOp : TzGpu_Op<"async_commit", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Close the group of copies this thread issued since the last commit";
  let assemblyFormat = "attr-dict";
}

def TzGpu_AsyncWaitOp : TzGpu_Op<"async_wait", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "Wait until at most `pending` groups are in flight, then synchronise the block";
  let description = [{
    After it, every thread sees what every thread's completed copies wrote,
    and every thread has finished what came before it (so a tile read before
    may be overwritten). `buffers` are the buffers the awaited copies write:
    they stay allocated until here.
  }];
  let arguments = (ins Variadic<TzGpu_MemDescType>:$buffers, I32Attr:$pending);
  let assemblyFormat = "$pending (`on` $buffers^ `:` qualified(type($buffers)))? attr-dict";
}

def TzGpu_LocalLoadOp : TzGpu_Op<"local_load", [MemoryEffects<[MemRead<TzGpu_SharedMemory>]>]> {
  let summary = "Read a tile from a buffer";
  let description = [{
    The result may have any layout. A dot whose operand is a local_load (or,
    for B, the transpose of one) reads the buffer directly: with ldmatrix
    (mma.sync) from a padded tile, with a wgmma descriptor from a swizzled
    one.
  }];
  let arguments = (ins TzGpu_MemDescType:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` qualified(type($src)) `->` type($result)";
  let hasVerifier = 1;
}

def TzGpu_LocalStoreOp : TzGpu_Op<"local_store", [MemoryEffects<[MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Write a tile held in registers into a buffer";
  let arguments = (ins AnyRankedTensor:$value, TzGpu_MemDescType:$dst);
  let assemblyFormat = "$value `,` $dst attr-dict `:` type($value) `->` qualified(type($dst))";
  let hasVerifier = 1;
}

def TzGpu_WarpGroupDotOp : TzGpu_Op<"warp_group_dot", [MemoryEffects<[MemRead<TzGpu_SharedMemory>]>,
                                                         AllTypesMatch<["c", "d"]>]> {
  let summary = "Start a warpgroup MMA (sm_90a wgmma) on tiles in shared memory";
  let description = [{
    `%d = tzgpu.warp_group_dot %a, %b, %c` issues the warpgroup MMAs of
    d = a * b + c (f16 or bf16 into f32) and returns at once: `%d` may be
    read only through the `tzgpu.warp_group_dot_wait` that retires it, or as
    the accumulator `%c` of a later warp_group_dot (MMAs chained on the
    same registers may be in flight together). B is
    a buffer in the 128-byte swizzle, [K, N], or [N, K] with `b_k_major`;
    A is a buffer of the same kind ([M, K]) or a tile in registers in the
    mma.sync A-operand layout. The buffers are not written while the MMAs
    run: tzgpu-insert-barriers orders later writes after the wait, and a
    wait moved past the end of a loop iteration
    (tzgpu-defer-warp-group-dot-waits) leaves the MMA a buffer slot the
    loop's copies do not refill before the next iteration's wait.
    Made by tzgpu-lower-warp-group-dots from a `tz.dot` that
    `eligibleMmaUnit` found fits a warpgroup MMA.
  }];
  let arguments = (ins AnyTypeOf<[AnyRankedTensor, TzGpu_MemDescType]>:$a, TzGpu_MemDescType:$b,
                       AnyRankedTensor:$c, UnitAttr:$b_k_major);
  let results = (outs AnyRankedTensor:$d);
  let assemblyFormat = "$a `,` $b `,` $c attr-dict `:` type($a) `*` qualified(type($b)) `->` type($d)";
  let hasVerifier = 1;
}

def TzGpu_WarpGroupDotWaitOp : TzGpu_Op<"warp_group_dot_wait", [AllTypesMatch<["inputs", "outputs"]>]> {
  let summary = "Wait until at most `pending` warpgroup MMA groups are in flight";
  let description = [{
    Retires the accumulators of earlier `tzgpu.warp_group_dot`s: its results
    are its operands, readable once all but the last `pending` groups of
    MMAs issued by this warpgroup have completed (wgmma.wait_group).
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, I32Attr:$pending);
  let results = (outs Variadic<AnyRankedTensor>:$outputs);
  let assemblyFormat = "$pending (`,` $inputs^ `:` type($inputs))? attr-dict";
}

def TzGpu_BarrierOp : TzGpu_Op<"barrier", [MemoryEffects<[MemRead<TzGpu_SharedMemory>, MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Synchronise the threads of the block (bar.sync 0)";
  let description = [{
    Inserted by tzgpu-insert-barriers where an op writes bytes of
    shared memory that an earlier op read or wrote (or reads bytes an
    earlier op wrote) with no synchronisation in between: buffers whose
    lifetimes do not overlap share bytes.
  }];
  let assemblyFormat = "attr-dict";
}

//===----------------------------------------------------------------------===//
// TMA copies and mbarriers (sm_90a)
//===----------------------------------------------------------------------===//
//
// A TMA copy moves a whole box of a global tensor into a buffer, issued by
// one thread, and completes on an mbarrier: the copy adds the bytes it
// wrote to the barrier's transaction count, and a thread waiting on the
// barrier's phase sees the bytes once the count the barrier expected has
// arrived. The global tensor is described by a tensor map, a 128-byte
// kernel parameter the host encodes (cuTensorMapEncodeTiled) before each
// launch from the kernel's own arguments, as #tzgpu.tensormap says.

def TzGpu_TensorMapType : TypeDef<TzGpu_Dialect, "TensorMap"> {
  let mnemonic = "tensormap";
  let summary = "A TMA tensor map: a kernel parameter the host encodes at launch";
  let description = [{
    Only a kernel argument has this type; its argument attribute
    `tzgpu.tensormap` (#tzgpu.tensormap) says how the host builds it.
  }];
}

def TzGpu_TensorMapAttr : AttrDef<TzGpu_Dialect, "TensorMapSpec"> {
  let mnemonic = "tensormap";
  let summary = "How the host encodes a tensor map from the kernel's arguments";
  let description = [{
    Dimensions are listed innermost first: dimension 0 is contiguous (a
    stride of one element), dimension 1 the rows of the copied tiles, later
    ones further offsets (batch, head, ...). `base` is the index of the
    kernel argument holding the tensor's address. For dimension i, the
    extent is kernel argument `extent_args[i]` when that is not -1, else
    `extents[i]`, where -1 means unbounded (no coordinate is out of range).
    For dimensions 1 and up, the stride in elements is kernel argument
    `stride_args[i - 1]` when not -1, else `strides[i - 1]`. `box` is the
    box one copy moves (dimension 0 first) and `swizzle` the bytes of the
    NVMMA swizzle it is stored in. Coordinates out of range read as zero.

    ```mlir
    #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 128],
                     extent_args = [5, 3], extents = [-1, -1], stride_args = [5], strides = [0]>
    ```
  }];
  let parameters = (ins "unsigned":$base, "::mlir::Type":$element_type, "unsigned":$swizzle,
                        ArrayRefParameter<"int64_t">:$box, ArrayRefParameter<"int64_t">:$extent_args,
                        ArrayRefParameter<"int64_t">:$extents, ArrayRefParameter<"int64_t">:$stride_args,
                        ArrayRefParameter<"int64_t">:$strides);
  let assemblyFormat = [{
    `<` `base` `=` $base `,` `element_type` `=` $element_type `,` `swizzle` `=` $swizzle `,`
    `box` `=` `[` $box `]` `,` `extent_args` `=` `[` $extent_args `]` `,` `extents` `=` `[` $extents `]` `,`
    `stride_args` `=` `[` $stride_args `]` `,` `strides` `=` `[` $strides `]` `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    unsigned rank() const { return getBox().size(); }
  }];
}

// One mbarrier is a buffer of one 1x1 tile of i64 (a view of a buffer of
// several, one per pipeline stage).
def TzGpu_InitBarrierOp : TzGpu_Op<"init_barrier", [MemoryEffects<[MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Initialise an mbarrier that completes a phase after `count` arrivals";
  let description = [{
    One thread initialises it and fences the initialisation for the async
    proxy; the block must synchronise before another thread uses it
    (tzgpu-insert-barriers sees this op write the barrier).
  }];
  let arguments = (ins TzGpu_MemDescType:$barrier, I32Attr:$count);
  let assemblyFormat = "$barrier `,` $count attr-dict `:` qualified(type($barrier))";
  let hasVerifier = 1;
}

def TzGpu_InvalBarrierOp : TzGpu_Op<"inval_barrier", [MemoryEffects<[MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "End an mbarrier's life so that its bytes may hold something else";
  let arguments = (ins TzGpu_MemDescType:$barrier);
  let assemblyFormat = "$barrier attr-dict `:` qualified(type($barrier))";
  let hasVerifier = 1;
}

// Arming and waiting change the barrier's state (they are not pure reads,
// and must not be removed as such); tzgpu-insert-barriers still counts them
// as reads, since they synchronise among themselves.
def TzGpu_BarrierExpectOp : TzGpu_Op<"barrier_expect", [MemoryEffects<[MemRead<TzGpu_SharedMemory>,
                                                                       MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Arrive on an mbarrier, expecting `bytes` of TMA copies to complete its phase";
  let description = [{
    Issued by one thread where `pred` holds (mbarrier.arrive.expect_tx).
  }];
  let arguments = (ins TzGpu_MemDescType:$barrier, I32Attr:$bytes, I1:$pred);
  let assemblyFormat = "$barrier `,` $bytes `,` $pred attr-dict `:` qualified(type($barrier))";
  let hasVerifier = 1;
}

def TzGpu_WaitBarrierOp : TzGpu_Op<"wait_barrier", [MemoryEffects<[MemRead<TzGpu_SharedMemory>,
                                                                   MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Wait until the mbarrier has completed the phase of parity `phase`";
  let description = [{
    Every thread that reads what the barrier's copies wrote waits itself;
    this does not synchronise the block.
  }];
  let arguments = (ins TzGpu_MemDescType:$barrier, I32:$phase);
  let assemblyFormat = "$barrier `,` $phase attr-dict `:` qualified(type($barrier))";
  let hasVerifier = 1;
}

def TzGpu_AsyncTmaCopyOp : TzGpu_Op<"async_tma_copy", [MemoryEffects<[MemRead, MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Copy one tile of a global tensor into a buffer with TMA, completing on an mbarrier";
  let description = [{
    `coords` (dimension 0 first, as the tensor map lists them) are where
    the tile starts. One thread issues the copy where `pred` holds: one
    cp.async.bulk.tensor per 128-byte column block of the swizzled tile.
    The copy's bytes count towards `barrier`'s expected transaction bytes.
  }];
  let arguments = (ins TzGpu_TensorMapType:$map, Variadic<I32>:$coords, TzGpu_MemDescType:$dst,
                       TzGpu_MemDescType:$barrier, I1:$pred);
  let assemblyFormat = [{
    $map `[` $coords `]` `into` $dst `,` $barrier `,` $pred attr-dict `:` qualified(type($dst)) `,` qualified(type($barrier))
  }];
  let hasVerifier = 1;
}

def TzGpu_ArriveBarrierOp : TzGpu_Op<"arrive_barrier", [MemoryEffects<[MemRead<TzGpu_SharedMemory>,
                                                                       MemWrite<TzGpu_SharedMemory>]>]> {
  let summary = "Every thread where `pred` holds arrives on an mbarrier (mbarrier.arrive)";
  let description = [{
    A warp-specialised loop's consumers release a stage with it: the
    stage's "empty" barrier completes a phase once every consumer thread
    arrived, and the producer waits for that phase before refilling the
    stage.
  }];
  let arguments = (ins TzGpu_MemDescType:$barrier, I1:$pred);
  let assemblyFormat = "$barrier `,` $pred attr-dict `:` qualified(type($barrier))";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Warp specialisation (sm_90a)
//===----------------------------------------------------------------------===//

def TzGpu_WarpSpecializeOp : TzGpu_Op<"warp_specialize", [SingleBlock, NoTerminator, RecursiveMemoryEffects]> {
  let summary = "Run a producer partition and a consumer partition of the block's warps side by side";
  let description = [{
    The block has `consumer_warps + producer_warps` warps. Warps
    0 .. consumer_warps - 1 run the `consumer` region (every tile of the
    kernel is laid out over them), the last `producer_warps` (one
    warpgroup) run the `producer` region, which holds only scalar code:
    the loops that issue a pipelined loop's TMA copies. The two meet only
    through mbarriers: the producer fills a stage and its "full" barrier
    completes; the consumers wait on it, read the stage and arrive on its
    "empty" barrier, which the producer waits on before refilling it.

    Entering a partition, its warps move registers between the partitions
    with setmaxnreg: the producer's shrink to `producer_registers` per
    thread, the consumers' grow to `consumer_registers`. A barrier inside
    a partition synchronises that partition's warps only; each region's
    first thread (thread `consumer_warps * 32` for the producer) issues
    its one-thread operations.

    ```mlir
    tzgpu.warp_specialize {consumer_warps = 8 : i32, producer_warps = 4 : i32,
                           producer_registers = 24 : i32, consumer_registers = 240 : i32}
    producer {
      scf.for ... { tzgpu.wait_barrier %empty ...; tzgpu.async_tma_copy ... }
    } consumer {
      ... the kernel's tiles and its loops ...
    }
    ```
  }];
  let arguments = (ins I32Attr:$consumer_warps, I32Attr:$producer_warps, I32Attr:$producer_registers,
                       I32Attr:$consumer_registers);
  let regions = (region SizedRegion<1>:$producer, SizedRegion<1>:$consumer);
  let assemblyFormat = "attr-dict-with-keyword `producer` $producer `consumer` $consumer";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    // The number of the first thread of the producer partition.
    int64_t producerFirstThread() { return int64_t(getConsumerWarps()) * 32; }
  }];
}

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
