// The CPU interpreter of the tz dialect.
//
// It runs a kernel (a func.func in the tz dialect, with arith/math/scf ops on
// scalars and tiles) once per program of the launch grid, on host memory.
// Every load, store and atomic is bounds-checked against the buffers the
// caller registered: an access outside them stops the run with an
// InterpreterError naming the op's source location and the offending index.
// Floating-point results are rounded to their element type after every op, so
// f16/bf16 kernels see the precision they would see on a GPU.
#pragma once

#include "mlir/IR/Location.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlir::func {
class FuncOp;
}

namespace terrazzo::interp {

// A region of host memory the kernel may access through a pointer argument.
struct HostBuffer {
  void *data = nullptr;
  size_t bytes = 0;
  std::string name; // argument name, for error messages
  bool readOnly = false; // stores and atomics into it are refused
  // A strided array: the bytes of its elements are the only ones accessible
  // (the gaps between them are not). Empty shape: every byte is.
  size_t itemBytes = 0;
  std::vector<int64_t> shape, byteStrides;
};

// The value of one kernel argument, in the order of the func.func arguments.
// A pointer argument refers to one of the registered buffers by index.
struct KernelArgument {
  enum class Kind { Pointer, Int, Float } kind = Kind::Int;
  int bufferIndex = -1; // Pointer
  int64_t intValue = 0; // Int (also i1)
  double floatValue = 0; // Float
};

class InterpreterError : public std::runtime_error {
public:
  InterpreterError(mlir::Location loc, const std::string &message)
      : std::runtime_error(message), loc_(loc), message_(message) {}
  mlir::Location loc() const { return loc_; }
  const std::string &message() const { return message_; }

private:
  mlir::Location loc_;
  std::string message_;
};

struct LaunchGrid {
  std::array<int64_t, 3> programs = {1, 1, 1};
};

// Runs `kernel` over every program of `grid`. Throws InterpreterError on an
// out-of-bounds access, a failed device_assert, an integer division by zero,
// or an op it cannot execute; the message ends with the failing program, as
// " (in program (x, y, z))". Programs run one at a time, x fastest, then y,
// then z. `printOutput` receives the output of device_print (stdout if null),
// one line "pid (x, y, z) <prefix> <values>" per print op and program.
// The function runKernel calls between programs and every 4096 loop
// iterations (see terrazzo::setInterruptCheck); it may throw to stop the run.
void setInterruptCheck(void (*check)());

void runKernel(mlir::func::FuncOp kernel, const LaunchGrid &grid,
               const std::vector<HostBuffer> &buffers,
               const std::vector<KernelArgument> &arguments,
               std::string *printOutput = nullptr);

} // namespace terrazzo::interp
