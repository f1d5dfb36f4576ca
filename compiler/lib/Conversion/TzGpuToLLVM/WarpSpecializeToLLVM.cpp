//===- WarpSpecializeToLLVM.cpp - partitions become a branch on the warp --===//
//
// Runs after the tiles are lowered (their patterns needed the
// tzgpu.warp_specialize around them to know which partition's barriers and
// first thread to use). The block's last warps take the producer branch and
// give up registers; the others take the consumer branch and claim them:
//
//   if (tid.x >= consumer_warps * 32) { setmaxnreg.dec P; producer }
//   else                              { setmaxnreg.inc C; consumer }
//
// setmaxnreg is per warpgroup and needs the kernel's register count at
// entry, which ptxas takes from .reqntid and .minnctapersm 1 (markKernels);
// and it is dropped by nvJitLink, so such kernels are assembled whole by
// the driver (GpuPipeline.cpp).
#include "Patterns.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

void lowerWarpSpecializeToBranches(ModuleOp module) {
  SmallVector<WarpSpecializeOp> ops;
  module.walk([&](WarpSpecializeOp ws) { ops.push_back(ws); });
  for (WarpSpecializeOp ws : ops) {
    Location loc = ws.getLoc();
    OpBuilder b(ws);
    Value tid = NVVM::ThreadIdXOp::create(b, loc, b.getI32Type());
    Value isProducer =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, tid, i32Const(b, loc, ws.producerFirstThread()));
    auto branch = scf::IfOp::create(b, loc, TypeRange{}, isProducer, /*withElse=*/true);
    auto fill = [&](Region &into, Region &from, NVVM::SetMaxRegisterAction action, int registers) {
      Block &block = into.front();
      OpBuilder at = OpBuilder::atBlockBegin(&block);
      NVVM::SetMaxRegisterOp::create(at, loc, registers, action);
      block.getOperations().splice(block.getTerminator()->getIterator(), from.front().getOperations());
    };
    fill(branch.getThenRegion(), ws.getProducer(), NVVM::SetMaxRegisterAction::decrease, ws.getProducerRegisters());
    fill(branch.getElseRegion(), ws.getConsumer(), NVVM::SetMaxRegisterAction::increase, ws.getConsumerRegisters());
    ws.erase();
  }
}

} // namespace terrazzo::tzgpu::lowering
