//===- DotPlan.cpp - how each tz.dot runs and where its operands come from -===//
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"

#include "terrazzo/Dialect/TzGpu/Analysis/Scratch.h"

using namespace mlir;

namespace terrazzo::tzgpu {

MmaUnit eligibleMmaUnit(tz::DotOp dot, int numWarps, bool wgmmaAvailable) {
  auto a = cast<RankedTensorType>(dot.getA().getType());
  auto b = cast<RankedTensorType>(dot.getB().getType());
  auto c = cast<RankedTensorType>(dot.getType());
  if (a.getRank() != 2)
    return MmaUnit::Fma;
  Type in = a.getElementType();
  if (in != b.getElementType() || !(in.isF16() || in.isBF16()) || !c.getElementType().isF32())
    return MmaUnit::Fma;
  int64_t M = c.getShape()[0], N = c.getShape()[1], K = a.getShape()[1];
  if (M % 16 != 0 || N % 8 != 0 || K % 16 != 0)
    return MmaUnit::Fma;
  if (wgmmaAvailable && numWarps % 4 == 0 && M % (16 * numWarps) == 0 && K % 64 == 0 && N % 64 == 0 && N <= 256)
    return MmaUnit::Wgmma;
  return MmaUnit::MmaSync;
}

std::optional<BufferOperand> bufferOperand(Value v, bool allowTranspose) {
  if (auto read = v.getDefiningOp<LocalLoadOp>())
    return BufferOperand{read, false};
  if (auto trans = v.getDefiningOp<tz::TransOp>(); trans && allowTranspose)
    if (auto read = trans.getSrc().getDefiningOp<LocalLoadOp>())
      return BufferOperand{read, true};
  return std::nullopt;
}

bool runsDownColumns(const LinearLayout &layout) {
  const auto &regs = layout.bases(LinearLayout::InDim::Register);
  return !regs.empty() && regs[0] == Coord{1, 0};
}

namespace {
// Only buffers in the encoding the unit reads qualify: swizzled for
// wgmma, padded for ldmatrix.
std::optional<BufferOperand> readableBuffer(Value v, bool allowTranspose, bool swizzled) {
  auto buffer = bufferOperand(v, allowTranspose);
  if (buffer && buffer->type().getEncoding().isSwizzled() == swizzled)
    return buffer;
  return std::nullopt;
}
} // namespace

DotPlan planDot(tz::DotOp dot) {
  DotPlan plan;
  auto aType = cast<RankedTensorType>(dot.getA().getType());
  auto bType = cast<RankedTensorType>(dot.getB().getType());
  auto cType = cast<RankedTensorType>(dot.getType());
  int64_t M = aType.getShape()[0], K = aType.getShape()[1], N = bType.getShape()[1];
  int numWarps = moduleNumWarps(dot);
  Type in = aType.getElementType();
  // tzgpu-accelerate-dot gave the accumulator of every dot that runs on
  // tensor cores this layout (the same registers for mma.sync and wgmma);
  // the module says whether the target has warpgroup MMAs.
  bool wgmmaTarget = dot->getParentOfType<ModuleOp>()->hasAttr(kWgmmaAttrName);
  if (MmaUnit unit = eligibleMmaUnit(dot, numWarps, wgmmaTarget);
      unit != MmaUnit::Fma && getLayout(cType) == LinearLayout::mmaAccumulator(cType.getShape(), numWarps))
    plan.unit = unit;

  if (plan.unit == MmaUnit::Fma) {
    // a at offset 0, b after it (16-byte aligned).
    plan.aScratchBytes = (M * K * sharedStorageBytesOf(in) + 15) / 16 * 16;
    plan.bScratchBytes = K * N * sharedStorageBytesOf(bType.getElementType());
    return plan;
  }
  bool swizzled = plan.unit == MmaUnit::Wgmma;
  plan.aInRegisters = inMmaOperandA(aType, numWarps);
  if (!plan.aInRegisters)
    plan.aBuffer = readableBuffer(dot.getA(), /*allowTranspose=*/false, swizzled);
  plan.bBuffer = readableBuffer(dot.getB(), /*allowTranspose=*/true, swizzled);
  plan.bKMajor = plan.bBuffer ? plan.bBuffer->transposed : runsDownColumns(getLayout(bType));
  bool aScratch = !plan.aInRegisters && !plan.aBuffer, bScratch = !plan.bBuffer;
  if (swizzled) {
    // Swizzled tiles of multiples of 64 x 64 halves: multiples of 1024 bytes.
    plan.aScratchBytes = aScratch ? M * K * 2 : 0;
    plan.bScratchBytes = bScratch ? K * N * 2 : 0;
  } else {
    // Rows padded by 8 halves (16 bytes) for conflict-free ldmatrix.
    plan.aScratchBytes = aScratch ? (M * (K + 8) * 2 + 15) / 16 * 16 : 0;
    plan.bScratchBytes = bScratch ? (plan.bKMajor ? N : K) * ((plan.bKMajor ? K : N) + 8) * 2 : 0;
  }
  return plan;
}

} // namespace terrazzo::tzgpu
