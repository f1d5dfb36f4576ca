//===- DotOperands.cpp - operands of tensor-core dots ----------------------===//
#include "DotOperands.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

Value bufferBase(ConversionPatternRewriter &rewriter, const BufferOperand &operand) {
  return rewriter.getRemappedValue(operand.read->getOperand(0));
}

SmallVector<Value> fragmentFromRegisters(OpBuilder &b, Location loc, ValueRange aVals, const LinearLayout &aLayout,
                                         int32_t row, int32_t k0) {
  SmallVector<Value> out;
  Type elem = aVals.front().getType();
  auto pairType = VectorType::get({2}, elem);
  for (auto [dr, dc] : {std::pair{0, 0}, {8, 0}, {0, 8}, {8, 8}}) {
    SmallVector<Value> pair;
    for (int32_t c : {0, 1}) {
      Coord want{row + dr, k0 + dc + c};
      int reg = -1;
      for (int r = 0; r < aLayout.numRegisters() && reg < 0; ++r)
        if (aLayout.applyPart(LinearLayout::InDim::Register, r) == want)
          reg = r;
      assert(reg >= 0 && "mmaOperandA holds every element of the warp's rows");
      pair.push_back(aVals[reg]);
    }
    Value packed = buildVector(b, loc, pairType, pair);
    out.push_back(elem.isBF16() ? LLVM::BitcastOp::create(b, loc, b.getI32Type(), packed).getResult() : packed);
  }
  return out;
}

void storeTileRuns(OpBuilder &b, Location loc, const LinearLayout &layout, ValueRange values, bool transposed,
                   int maxRun, llvm::function_ref<Value(int reg)> addressOf) {
  Type elem = values.front().getType();
  int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
  int width = runLength(layout, transposed ? 0 : 1, maxRun);
  for (int r = 0; r < layout.numRegisters(); r += width) {
    if (!isCanonicalRegister(layout, r))
      continue;
    Value addr = addressOf(r);
    Value v = width == 1 ? values[r] : buildVector(b, loc, VectorType::get({width}, elem), values.slice(r, width));
    LLVM::StoreOp::create(b, loc, v, addr, width * bytes);
  }
}

} // namespace terrazzo::tzgpu::lowering
