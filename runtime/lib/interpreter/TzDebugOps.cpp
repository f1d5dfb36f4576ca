//===- TzDebugOps.cpp - tz.print and tz.assert ----------------------------===//
#include "Executor.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include <charconv>
#include <cstdio>

using namespace mlir;

namespace terrazzo::interp {
namespace {

// Shortest text that reads back as the same value of the element's type.
void appendElement(std::string &out, const Tile &tile, size_t k) {
  char buffer[64];
  std::to_chars_result end;
  switch (tile.kind) {
  case ElemKind::F64:
    end = std::to_chars(buffer, buffer + sizeof buffer, tile.f[k]);
    break;
  case ElemKind::F32:
  case ElemKind::F16:
  case ElemKind::BF16:
    // f16/bf16 values are floats exactly; print them at float precision.
    end = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(tile.f[k]));
    break;
  case ElemKind::Ptr:
    buffer[0] = '0';
    buffer[1] = 'x';
    end = std::to_chars(buffer + 2, buffer + sizeof buffer, static_cast<uint64_t>(tile.i[k]), 16);
    break;
  case ElemKind::I1:
    end = std::to_chars(buffer, buffer + sizeof buffer, tile.i[k] & 1);
    break;
  default:
    end = std::to_chars(buffer, buffer + sizeof buffer, tile.i[k]);
    break;
  }
  out.append(buffer, end.ptr);
}

// A tile as nested brackets, row-major: [[1, 2], [3, 4]].
void appendTile(std::string &out, const Tile &tile, size_t dim, size_t &next) {
  if (dim == tile.shape.size()) {
    appendElement(out, tile, next++);
    return;
  }
  out += '[';
  for (int64_t j = 0; j < tile.shape[dim]; ++j) {
    if (j)
      out += ", ";
    appendTile(out, tile, dim + 1, next);
  }
  out += ']';
}

// One line per program and op: "pid (x, y, z) <prefix> <value> <value>...".
void runPrint(Executor &ex, Operation *raw) {
  auto op = cast<tz::PrintOp>(raw);
  const auto &pid = ex.programId();
  std::string line = "pid (" + std::to_string(pid[0]) + ", " + std::to_string(pid[1]) + ", " +
                     std::to_string(pid[2]) + ")";
  if (!op.getPrefix().empty())
    line += " " + op.getPrefix().str();
  for (Value arg : op.getArgs()) {
    line += ' ';
    size_t next = 0;
    appendTile(line, ex.get(arg), 0, next);
  }
  line += '\n';
  if (std::string *sink = ex.printOutput())
    *sink += line;
  else
    std::fwrite(line.data(), 1, line.size(), stdout);
}

void runAssert(Executor &ex, Operation *raw) {
  auto op = cast<tz::AssertOp>(raw);
  for (int64_t holds : ex.get(op.getCond()).i)
    if (holds == 0)
      Executor::fail(raw, op.getMessage());
}

} // namespace

void registerTzDebugHandlers(HandlerTable &table) {
  addHandler<tz::PrintOp>(table, runPrint);
  addHandler<tz::AssertOp>(table, runAssert);
}

} // namespace terrazzo::interp
