//===- Memory.cpp - bounds-checked host memory ----------------------------===//
#include "Memory.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::interp {

Memory::Memory(const std::vector<HostBuffer> &buffers) : buffers_(buffers) {
  for (const HostBuffer &buffer : buffers) {
    uint64_t begin = reinterpret_cast<uint64_t>(buffer.data);
    bool empty = !buffer.data || buffer.bytes == 0;
    own_.push_back({begin, empty ? begin : begin + buffer.bytes, buffer.readOnly, buffer.shape.empty()});
    // Peeling off indices largest stride first leaves the offset inside one
    // element, for the layouts slicing, transposing and broadcasting produce
    // (each stride at least the extent of the smaller ones).
    auto &dims = stridedDims_.emplace_back();
    for (size_t d = 0; d < buffer.shape.size(); ++d)
      if (buffer.shape[d] > 1 && buffer.byteStrides[d] > 0)
        dims.push_back({buffer.byteStrides[d], buffer.shape[d]});
    llvm::sort(dims, [](auto &x, auto &y) { return x.first > y.first; });
    if (!empty)
      ranges_.push_back({begin, begin + buffer.bytes, &buffer});
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
}

void Memory::checkSlow(uint64_t address, unsigned bytes, int32_t buffer, bool write, Operation *op,
                       const char *access, int64_t element, Type ptrType) {
  uint64_t last = address + bytes;
  if (buffer >= 0 && static_cast<size_t>(buffer) < own_.size()) {
    const Owned &b = own_[buffer];
    if (address >= b.begin && last <= b.end && last > address) {
      if (write && b.readOnly)
        reportReadOnly(buffers_[buffer], op, access, element, ptrType);
      if (!insideElement(buffer, address, bytes))
        reportBetweenElements(buffers_[buffer], address, op, access, element, ptrType);
      return;
    }
    reportOutOfBounds(address, bytes, buffer, op, access, element, ptrType);
  }
  if (last > address) {
    for (const Range &range : ranges_) {
      if (address >= range.begin && last <= range.end) {
        if (write && range.buffer->readOnly)
          reportReadOnly(*range.buffer, op, access, element, ptrType);
        if (!range.buffer->shape.empty()) {
          if (!insideElement(range.buffer - buffers_.data(), address, bytes))
            reportBetweenElements(*range.buffer, address, op, access, element, ptrType);
          return; // not cached: every access to a strided buffer is checked
        }
        lastBegin_ = range.begin;
        lastEnd_ = range.end;
        lastReadOnly_ = range.buffer->readOnly;
        return;
      }
    }
  }
  reportOutOfBounds(address, bytes, buffer, op, access, element, ptrType);
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

bool Memory::insideElement(size_t index, uint64_t address, unsigned bytes) const {
  const HostBuffer &b = buffers_[index];
  if (b.shape.empty())
    return true;
  uint64_t offset = address - reinterpret_cast<uint64_t>(b.data);
  for (auto [stride, extent] : stridedDims_[index]) {
    uint64_t i = std::min<uint64_t>(offset / stride, extent - 1);
    offset -= i * stride;
  }
  return offset + bytes <= b.itemBytes;
}

void Memory::reportBetweenElements(const HostBuffer &target, uint64_t address, Operation *op,
                                   const char *access, int64_t element, Type ptrType) const {
  std::string message;
  llvm::raw_string_ostream os(message);
  os << access << " between the elements of strided buffer '" << target.name << "'";
  if (auto tile = dyn_cast<RankedTensorType>(ptrType)) {
    os << " (element index ";
    printElementIndex(os, element, tile.getShape());
    os << " of tile " << ptrType << ")";
  }
  os << ": byte offset " << address - reinterpret_cast<uint64_t>(target.data)
     << " is no element of an array of shape (";
  llvm::interleaveComma(target.shape, os);
  os << ") with strides (";
  llvm::interleaveComma(target.byteStrides, os);
  os << ") bytes; index it with its strides";
  throw InterpreterError(op->getLoc(), message);
}

void Memory::reportReadOnly(const HostBuffer &target, Operation *op, const char *access,
                            int64_t element, Type ptrType) const {
  std::string message;
  llvm::raw_string_ostream os(message);
  os << access << " into read-only buffer '" << target.name << "'";
  if (auto tile = dyn_cast<RankedTensorType>(ptrType)) {
    os << " (element index ";
    printElementIndex(os, element, tile.getShape());
    os << " of tile " << ptrType << ")";
  }
  os << ": the argument is not writable (a read-only array); pass a writable copy";
  throw InterpreterError(op->getLoc(), message);
}

void Memory::reportOutOfBounds(uint64_t address, unsigned bytes, int32_t buffer, Operation *op,
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
  if (address >= kOverflowedAddress) {
    os << (tile ? ": " : "") << "the pointer's offset arithmetic overflowed 64 bits (an offset too "
       << "large for the element size wrapped around)";
    throw InterpreterError(op->getLoc(), message);
  }
  bool owned = buffer >= 0 && static_cast<size_t>(buffer) < own_.size();
  if (owned) {
    // The pointer came from one argument: judge the address against it alone,
    // and say so when it landed in another argument's memory.
    const Owned &b = own_[buffer];
    const std::string &name = buffers_[buffer].name;
    os << (tile ? ": address " : "address ");
    if (b.begin == b.end)
      os << "0x" << llvm::utohexstr(address) << " is outside buffer '" << name << "', which is empty";
    else if (address >= b.begin && address < b.end)
      os << "0x" << llvm::utohexstr(address) << " starts an access of " << bytes
         << " bytes that runs past the end of buffer '" << name << "'";
    else if (address >= b.end)
      os << "is " << address - b.end << " bytes past the end of buffer '" << name << "'";
    else
      os << "is " << b.begin - address << " bytes before the start of buffer '" << name << "'";
    for (const Range &range : ranges_)
      if (address >= range.begin && address < range.end && range.buffer != &buffers_[buffer])
        os << ", inside buffer '" << range.buffer->name << "' (the pointer was derived from '" << name
           << "', and one argument's pointer may not reach another's memory)";
    throw InterpreterError(op->getLoc(), message);
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
