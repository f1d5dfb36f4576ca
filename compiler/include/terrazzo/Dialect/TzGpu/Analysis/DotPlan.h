//===- DotPlan.h - how each tz.dot runs and where its operands come from -*- C++ -*-===//
//
// One function decides, for a dot at the tzgpu level, which unit runs it
// (wgmma, mma.sync or CUDA-core FMAs) and, for each operand, whether it is
// read from registers, from a buffer a tzgpu.local_load reads, or through
// the op's scratch space. tzgpu-accelerate-dot asks which unit fits,
// tzgpu-pipeline asks which buffers a dot can read, the shared-memory
// allocation asks how much scratch a dot needs and the lowering follows the
// plan: none of them repeats the tests.
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include <optional>

namespace terrazzo::tzgpu {

enum class MmaUnit { Fma, MmaSync, Wgmma };

// The tensor-core unit a dot of these operand and result types fits, with
// `numWarps` warps and wgmma available or not (sm_90a), before any layout is
// chosen: mma.sync needs f16/bf16 operands into f32 with M % 16, N % 8,
// K % 16; wgmma also needs whole 64-row blocks per warpgroup (M % (16 *
// numWarps), numWarps % 4), K and N multiples of 64 (128-byte swizzled
// rows) and N <= 256.
MmaUnit eligibleMmaUnit(tz::DotOp dot, int numWarps, bool wgmmaAvailable);

// An operand read straight from a buffer: a tzgpu.local_load, or for B
// tz.trans of one (the buffer then holds B transposed, K along its rows).
struct BufferOperand {
  LocalLoadOp read;
  bool transposed;
  MemDescType type() const {
    LocalLoadOp op = read; // generated accessors are not const
    return op.getSrc().getType();
  }
};

struct DotPlan {
  MmaUnit unit = MmaUnit::Fma;
  bool aInRegisters = false;           // A in LinearLayout::mmaOperandA
  std::optional<BufferOperand> aBuffer; // A read from a buffer
  std::optional<BufferOperand> bBuffer; // B read from a buffer
  bool bKMajor = false;                 // B stored [N, K] (from its buffer or in scratch)
  int64_t aScratchBytes = 0;            // A staged in scratch (B follows it)
  int64_t bScratchBytes = 0;
  int64_t scratchBytes() const { return aScratchBytes + bScratchBytes; }
  // Scratch alignment: wgmma descriptors need 1024 bytes.
  int64_t scratchAlignment() const { return unit == MmaUnit::Wgmma ? 1024 : 16; }
};

// The plan of a dot whose tiles have layouts (after tzgpu-accelerate-dot).
DotPlan planDot(tz::DotOp dot);

// The buffer operand `v` is read from, if any (see BufferOperand).
std::optional<BufferOperand> bufferOperand(mlir::Value v, bool allowTranspose);

// Whether the registers of `layout` run down the columns (as after tz.trans
// of a row-major tile): then the tile is stored column-major.
bool runsDownColumns(const LinearLayout &layout);

} // namespace terrazzo::tzgpu
