//===- Interpreter.cpp - runKernel: arguments and the launch grid ---------===//
#include "terrazzo/interpreter/Interpreter.h"

#include "Executor.h"
#include "FloatRounding.h"
#include "Memory.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace terrazzo::interp {
namespace {

[[noreturn]] void failAt(Location loc, const Twine &message) {
  throw InterpreterError(loc, message.str());
}

std::string typeName(Type type) {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << type;
  return name;
}

// The scalar tile holding one kernel argument, checked against the type of
// the function argument it binds.
TileRef makeArgument(BlockArgument parameter, const KernelArgument &argument,
                     const std::vector<HostBuffer> &buffers) {
  Location loc = parameter.getLoc();
  std::string which = "kernel argument #" + std::to_string(parameter.getArgNumber());
  Type type = parameter.getType();
  std::optional<ElemKind> kind = elemKindOf(type);
  if (!kind)
    failAt(loc, which + " has type " + typeName(type) + ", which the interpreter does not support");
  auto tile = std::make_shared<Tile>();
  tile->reset(*kind, {});
  switch (argument.kind) {
  case KernelArgument::Kind::Pointer:
    if (*kind != ElemKind::Ptr)
      failAt(loc, which + " is a buffer but the kernel expects " + typeName(type));
    if (argument.bufferIndex < 0 || static_cast<size_t>(argument.bufferIndex) >= buffers.size())
      failAt(loc, which + " refers to buffer " + Twine(argument.bufferIndex) + " of " +
                      Twine(buffers.size()));
    tile->i[0] = static_cast<int64_t>(
        reinterpret_cast<uint64_t>(buffers[argument.bufferIndex].data));
    tile->buffer = argument.bufferIndex;
    break;
  case KernelArgument::Kind::Int:
    if (*kind == ElemKind::Ptr)
      failAt(loc, which + " is an integer but the kernel expects a pointer");
    if (tile->isFloat())
      tile->f[0] = roundToKind(static_cast<double>(argument.intValue), *kind);
    else
      tile->i[0] = wrapToWidth(static_cast<uint64_t>(argument.intValue), intBitWidth(*kind));
    break;
  case KernelArgument::Kind::Float:
    if (!tile->isFloat())
      failAt(loc, which + " is a float but the kernel expects " + typeName(type));
    tile->f[0] = roundToKind(argument.floatValue, *kind);
    break;
  }
  return tile;
}

} // namespace

void runKernel(func::FuncOp kernel, const LaunchGrid &grid, const std::vector<HostBuffer> &buffers,
               const std::vector<KernelArgument> &arguments, std::string *printOutput) {
  if (kernel.isExternal())
    failAt(kernel.getLoc(), "the kernel has no body");
  if (!kernel.getBody().hasOneBlock())
    failAt(kernel.getLoc(), "the interpreter runs only kernels whose body is a single block");
  Block &body = kernel.getBody().front();
  if (arguments.size() != body.getNumArguments())
    failAt(kernel.getLoc(), "the kernel takes " + Twine(body.getNumArguments()) +
                                " arguments but was given " + Twine(arguments.size()));
  for (int64_t programs : grid.programs)
    if (programs < 0)
      failAt(kernel.getLoc(), "the launch grid has a negative size");

  // Arguments are immutable values, shared by every program.
  SmallVector<TileRef, 8> argumentTiles;
  for (auto [parameter, argument] : llvm::zip(body.getArguments(), arguments))
    argumentTiles.push_back(makeArgument(parameter, argument, buffers));

  Memory memory(buffers);
  Executor executor(memory, printOutput);
  const auto &size = grid.programs;
  try {
    for (int64_t z = 0; z < size[2]; ++z) {
      for (int64_t y = 0; y < size[1]; ++y) {
        for (int64_t x = 0; x < size[0]; ++x) {
          Executor::checkInterrupt();
          executor.setProgram({x, y, z}, size);
          Operation *terminator = executor.runBlock(body, argumentTiles);
          if (!isa<func::ReturnOp>(terminator))
            Executor::fail(terminator, "the interpreter cannot execute '" +
                                           terminator->getName().getStringRef() + "'");
        }
      }
    }
  } catch (const InterpreterError &error) {
    // Name the program: with many programs, which one failed matters.
    const auto &pid = executor.programId();
    throw InterpreterError(error.loc(), error.message() + " (in program (" +
                                            std::to_string(pid[0]) + ", " +
                                            std::to_string(pid[1]) + ", " +
                                            std::to_string(pid[2]) + "))");
  }
}

} // namespace terrazzo::interp
