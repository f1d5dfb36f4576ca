//===- Memory.cpp - bounds-checked host memory ----------------------------===//
#include "Memory.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::interp {

Memory::Memory(const std::vector<HostBuffer> &buffers) {
  for (const HostBuffer &buffer : buffers) {
    if (!buffer.data || buffer.bytes == 0)
      continue;
    uint64_t begin = reinterpret_cast<uint64_t>(buffer.data);
    ranges_.push_back({begin, begin + buffer.bytes, &buffer});
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
}

void Memory::checkSlow(uint64_t address, unsigned bytes, Operation *op, const char *access,
                       int64_t element, Type ptrType) {
  uint64_t last = address + bytes;
  if (last > address) {
    for (const Range &range : ranges_) {
      if (address >= range.begin && last <= range.end) {
        lastBegin_ = range.begin;
        lastEnd_ = range.end;
        return;
      }
    }
  }
  reportOutOfBounds(address, bytes, op, access, element, ptrType);
}

namespace {
// "37" for a 1-D tile, "(3, 5)" for a 2-D one.
void printElementIndex(raw_ostream &os, int64_t element, ArrayRef<int64_t> shape) {
  if (shape.size() == 1) {
    os << element;
    return;
  }
  SmallVector<int64_t, 4> coord(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coord[d] = element % shape[d];
    element /= shape[d];
  }
  os << "(";
  llvm::interleaveComma(coord, os);
  os << ")";
}
} // namespace

void Memory::reportOutOfBounds(uint64_t address, unsigned bytes, Operation *op,
                               const char *access, int64_t element, Type ptrType) const {
  std::string message;
  llvm::raw_string_ostream os(message);
  os << "out-of-bounds " << access << ": ";
  auto tile = dyn_cast<RankedTensorType>(ptrType);
  if (tile) {
    os << "element index ";
    printElementIndex(os, element, tile.getShape());
    os << " of tile " << ptrType;
  }

  // Name the buffer the address most plausibly belongs to: the one it lies
  // just past or just before, if it is no farther than that buffer's own size
  // from it (an index off by up to one buffer length). Anything farther (a
  // null or garbage pointer) is reported as outside every buffer.
  const Range *after = nullptr, *before = nullptr;
  for (const Range &range : ranges_) {
    if (range.begin <= address)
      after = &range; // the last buffer starting at or below the address
    else if (!before)
      before = &range; // the first buffer starting above it
  }
  uint64_t pastEnd = after && address >= after->end ? address - after->end : 0;
  uint64_t beforeStart = before ? before->begin - address : 0;
  bool straddles = after && address < after->end;
  bool nearAfter = after && (straddles || pastEnd <= after->end - after->begin);
  bool nearBefore = before && beforeStart <= before->end - before->begin;
  if (nearAfter && nearBefore)
    (pastEnd <= beforeStart ? nearBefore : nearAfter) = false;

  if (nearAfter) {
    os << (tile ? ": address " : "address ");
    if (straddles)
      os << "0x" << llvm::utohexstr(address) << " starts an access of " << bytes
         << " bytes that runs past the end of buffer '" << after->buffer->name << "'";
    else
      os << "is " << pastEnd << " bytes past the end of buffer '" << after->buffer->name
         << "'";
  } else if (nearBefore) {
    os << (tile ? ": address " : "address ") << "is " << beforeStart
       << " bytes before the start of buffer '" << before->buffer->name << "'";
  } else if (tile) {
    os << " (address 0x" << llvm::utohexstr(address) << ") is outside every buffer";
  } else {
    os << "address 0x" << llvm::utohexstr(address) << " is outside every buffer";
  }
  throw InterpreterError(op->getLoc(), message);
}

} // namespace terrazzo::interp
