//===- SharedMemory.cpp - buffer types and the ops on them ---------------===//
//
// !tzgpu.memdesc and #tzgpu.shared: how many bytes a buffer takes, where an
// element of a tile lives in them, and the verifiers of the ops that
// allocate, view, fill and read buffers.
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;

namespace terrazzo::tzgpu {

//===----------------------------------------------------------------------===//
// #tzgpu.shared
//===----------------------------------------------------------------------===//

LogicalResult SharedEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned swizzle,
                                         unsigned pad) {
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128)
    return emitError() << "swizzle must be 0, 32, 64 or 128 bytes, not " << swizzle;
  if (swizzle != 0 && pad != 0)
    return emitError() << "a swizzled tile has no row padding";
  if (pad % 4 != 0)
    return emitError() << "row padding must be a multiple of 4 bytes, not " << pad;
  return success();
}

//===----------------------------------------------------------------------===//
// !tzgpu.memdesc
//===----------------------------------------------------------------------===//

Type MemDescType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  SharedEncodingAttr encoding;
  if (parser.parseLess() || parser.parseDimensionList(shape, /*allowDynamic=*/false, /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseComma() || parser.parseAttribute(encoding))
    return {};
  bool isMutable = false;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("mutable"))
      return {};
    isMutable = true;
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<MemDescType>(parser.getContext(), ArrayRef<int64_t>(shape), elementType, encoding, isMutable);
}

void MemDescType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t d : getShape())
    printer << d << "x";
  printer << getElementType() << ", " << getEncoding();
  if (getMutableMemory())
    printer << ", mutable";
  printer << ">";
}

LogicalResult MemDescType::verify(function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
                                  Type elementType, SharedEncodingAttr encoding, bool) {
  if (shape.size() < 2)
    return emitError() << "a buffer holds 2-D tiles: its shape needs at least 2 dimensions";
  if (llvm::any_of(shape, [](int64_t d) { return d <= 0; }))
    return emitError() << "buffer dimensions must be positive";
  if (!elementType.isIntOrFloat() || elementType.getIntOrFloatBitWidth() % 8 != 0)
    return emitError() << "buffer elements must be whole-byte integers or floats, not " << elementType;
  if (!encoding)
    return emitError() << "a buffer needs a #tzgpu.shared encoding";
  int64_t rowBytes = shape.back() * (elementType.getIntOrFloatBitWidth() / 8);
  if (encoding.isSwizzled() && rowBytes % encoding.getSwizzle() != 0)
    return emitError() << "rows of " << rowBytes << " bytes cannot be stored in the " << encoding.getSwizzle()
                       << "-byte swizzle";
  return success();
}

int64_t MemDescType::numTiles() const {
  int64_t n = 1;
  for (int64_t d : getShape().drop_back(2))
    n *= d;
  return n;
}

int64_t MemDescType::elementBytes() const { return getElementType().getIntOrFloatBitWidth() / 8; }

int64_t MemDescType::rowStride() const {
  return tileShape()[1] + getEncoding().getPad() / elementBytes();
}

int64_t MemDescType::alignment() const { return getEncoding().isSwizzled() ? 1024 : 128; }

int64_t MemDescType::tileBytes() const {
  int64_t bytes = tileShape()[0] * rowStride() * elementBytes();
  int64_t align = alignment();
  return (bytes + align - 1) / align * align;
}

int64_t MemDescType::byteOffset(int64_t row, int64_t col) const {
  int64_t bytes = elementBytes();
  unsigned swizzle = getEncoding().getSwizzle();
  if (!swizzle)
    return (row * rowStride() + col) * bytes;
  int64_t rows = tileShape()[0], perBlock = swizzle / bytes, perChunk = 16 / bytes;
  int64_t block = col / perBlock, chunk = (col % perBlock) / perChunk;
  int64_t phase = (row * swizzle / 128) % (swizzle / 16);
  return block * rows * swizzle + row * swizzle + 16 * (chunk ^ phase) + (col % perChunk) * bytes;
}

bool canSwizzle(RankedTensorType tile) {
  return tile.getRank() == 2 && tile.getElementType().getIntOrFloatBitWidth() == 16 &&
         (tile.getShape()[1] * 2) % 128 == 0;
}

MemDescType bufferTypeFor(RankedTensorType tile, int64_t stages, bool swizzled, bool mutableMemory) {
  MLIRContext *ctx = tile.getContext();
  SmallVector<int64_t> shape;
  if (stages > 0)
    shape.push_back(stages);
  shape.append(tile.getShape().begin(), tile.getShape().end());
  auto encoding = swizzled ? SharedEncodingAttr::get(ctx, 128, 0) : SharedEncodingAttr::get(ctx, 0, 16);
  return MemDescType::get(ctx, ArrayRef<int64_t>(shape), tile.getElementType(), encoding, mutableMemory);
}

int64_t swizzledByteOffset(int64_t row, int64_t col, int64_t rows, int64_t elementBytes) {
  int64_t perBlock = 128 / elementBytes, perChunk = 16 / elementBytes;
  int64_t block = col / perBlock, chunk = (col % perBlock) / perChunk;
  return block * rows * 128 + row * 128 + 16 * (chunk ^ (row % 8)) + (col % perChunk) * elementBytes;
}

//===----------------------------------------------------------------------===//
// Op verifiers
//===----------------------------------------------------------------------===//

namespace {
// A tile type and a buffer tile agree in shape and element type.
LogicalResult checkTileMatches(Operation *op, RankedTensorType tile, Type elementType, MemDescType buffer) {
  if (buffer.getShape().size() != 2)
    return op->emitOpError("needs a view of one tile (2-D), not ") << buffer;
  if (tile.getShape() != buffer.getShape())
    return op->emitOpError("tile shape does not match the buffer's ") << buffer;
  if (elementType != buffer.getElementType())
    return op->emitOpError("element type ") << elementType << " does not match the buffer's " << buffer;
  return success();
}
} // namespace

LogicalResult LocalAllocOp::verify() {
  if (auto offset = getOffset(); offset && (*offset < 0 || *offset % getType().alignment() != 0))
    return emitOpError("offset ") << *offset << " is not a multiple of the buffer's alignment "
                                  << getType().alignment();
  return success();
}

LogicalResult MemDescIndexOp::verify() {
  MemDescType src = getSrc().getType(), result = getType();
  if (src.getShape().size() < 3)
    return emitOpError("indexes a buffer of several tiles (3-D or more), not ") << src;
  if (result.getShape() != src.getShape().drop_front() || result.getElementType() != src.getElementType() ||
      result.getEncoding() != src.getEncoding() || result.getMutableMemory() != src.getMutableMemory())
    return emitOpError("result must be the source without its leading dimension, not ") << result;
  return success();
}

LogicalResult AsyncCopyOp::verify() {
  auto ptr = cast<RankedTensorType>(getPtr().getType());
  auto pointee = dyn_cast<tz::PointerType>(ptr.getElementType());
  if (!pointee)
    return emitOpError("copies from a tile of pointers");
  if (!getDst().getType().getMutableMemory())
    return emitOpError("writes into an immutable buffer");
  return checkTileMatches(*this, ptr, pointee.getPointeeType(), getDst().getType());
}

LogicalResult LocalLoadOp::verify() {
  auto tile = cast<RankedTensorType>(getType());
  return checkTileMatches(*this, tile, tile.getElementType(), getSrc().getType());
}

LogicalResult LocalStoreOp::verify() {
  if (!getDst().getType().getMutableMemory())
    return emitOpError("writes into an immutable buffer");
  auto tile = cast<RankedTensorType>(getValue().getType());
  return checkTileMatches(*this, tile, tile.getElementType(), getDst().getType());
}

} // namespace terrazzo::tzgpu
