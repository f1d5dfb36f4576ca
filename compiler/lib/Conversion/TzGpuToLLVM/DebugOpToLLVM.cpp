//===- DebugOpToLLVM.cpp - device_print (vprintf) and device_assert ------===//
//
// device_print prints one line per element held by a canonical thread:
//   pid (x, y, z) idx (i, j) <prefix> <value> ...
// (scalars alone: one line per program, from thread 0), through the PTX
// system call vprintf. device_assert calls __assertfail where an element of
// the condition is false; the launch then fails with a device-side assert.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

// A private constant global holding `text` (NUL-terminated); its address.
Value stringConstant(OpBuilder &b, Location loc, Operation *user, StringRef text) {
  auto module = user->getParentOfType<ModuleOp>();
  std::string value = text.str();
  value.push_back('\0');
  std::string name;
  for (int i = 0;; ++i) {
    name = "tz_str_" + std::to_string(i);
    auto existing = module.lookupSymbol<LLVM::GlobalOp>(name);
    if (!existing)
      break;
    if (auto v = dyn_cast_or_null<StringAttr>(existing.getValueOrNull()); v && v.getValue() == value)
      return LLVM::AddressOfOp::create(b, loc, existing);
  }
  LLVM::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), value.size());
    global = LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true, LLVM::Linkage::Internal, name,
                                    b.getStringAttr(value));
  }
  return LLVM::AddressOfOp::create(b, loc, global);
}

LLVM::LLVMFuncOp declare(OpBuilder &b, Operation *user, StringRef name, LLVM::LLVMFunctionType type) {
  auto module = user->getParentOfType<ModuleOp>();
  if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return f;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(b, user->getLoc(), name, type);
}

// What vprintf receives for a value (C varargs promotion), and its format.
std::pair<Value, std::string> promote(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType();
  if (isa<FloatType>(t))
    return {t.isF64() ? v : arith::ExtFOp::create(b, loc, b.getF64Type(), v).getResult(), "%f"};
  if (isa<LLVM::LLVMPointerType>(t))
    return {v, "%p"};
  if (t.isInteger(64))
    return {v, "%lld"};
  if (t.isInteger(1))
    return {arith::ExtUIOp::create(b, loc, b.getI32Type(), v), "%d"};
  if (t.getIntOrFloatBitWidth() < 32)
    return {arith::ExtSIOp::create(b, loc, b.getI32Type(), v), "%d"};
  return {v, "%d"};
}

void emitPrintf(OpBuilder &b, Location loc, Operation *user, const std::string &format, ArrayRef<Value> values) {
  MLIRContext *ctx = b.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto vprintf = declare(b, user, "vprintf", LLVM::LLVMFunctionType::get(b.getI32Type(), {ptr, ptr}));
  Value fmt = stringConstant(b, loc, user, format);
  Value buffer;
  if (values.empty()) {
    buffer = LLVM::ZeroOp::create(b, loc, ptr);
  } else {
    SmallVector<Type> fields;
    for (Value v : values)
      fields.push_back(v.getType());
    auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
    buffer = LLVM::AllocaOp::create(b, loc, ptr, structType, i32Const(b, loc, 1), 8);
    for (auto [i, v] : llvm::enumerate(values)) {
      Value field = LLVM::GEPOp::create(b, loc, ptr, structType, buffer,
                                        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
      LLVM::StoreOp::create(b, loc, v, field);
    }
  }
  LLVM::CallOp::create(b, loc, vprintf, ValueRange{fmt, buffer});
}

SmallVector<Value> programIds(OpBuilder &b, Location loc) {
  Type i32 = b.getI32Type();
  return {NVVM::BlockIdXOp::create(b, loc, i32), NVVM::BlockIdYOp::create(b, loc, i32),
          NVVM::BlockIdZOp::create(b, loc, i32)};
}

struct PrintOpLowering : OpConversionPattern<tz::PrintOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::PrintOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    // The tile every line walks (all tile arguments share its shape).
    RankedTensorType tile;
    for (Value a : op.getArgs())
      if (auto t = dyn_cast<RankedTensorType>(a.getType())) {
        if (tile && t.getShape() != tile.getShape())
          return rewriter.notifyMatchFailure(op, "device_print of tiles of different shapes");
        tile = t;
      }
    SmallVector<Value> pid = programIds(rewriter, loc);
    std::string head = "pid (%d, %d, %d) ";
    if (!tile) {
      std::string format = head + op.getPrefix().str();
      SmallVector<Value> values(pid);
      for (ValueRange v : adaptor.getArgs()) {
        auto [p, f] = promote(rewriter, loc, v.front());
        format += " " + f;
        values.push_back(p);
      }
      format += "\n";
      guardedEffect(rewriter, loc, isFirstThread(rewriter, loc),
             [&](OpBuilder &b) { emitPrintf(b, loc, op, format, values); });
      rewriter.eraseOp(op);
      return success();
    }
    LinearLayout layout = layoutOf(tile);
    ThreadIds ids = threadIds(rewriter, loc);
    ThreadCoords tc = threadCoords(rewriter, loc, layout, ids);
    Value canonical = isCanonicalThread(rewriter, loc, layout, ids);
    std::string idx = "idx (";
    for (int d = 0; d < layout.rank(); ++d)
      idx += d ? ", %d" : "%d";
    idx += ") ";
    for (int r = 0; r < layout.numRegisters(); ++r) {
      if (!isCanonicalRegister(layout, r))
        continue;
      std::string format = head + idx + op.getPrefix().str();
      SmallVector<Value> values(pid);
      for (Value c : registerCoord(rewriter, loc, tc, r))
        values.push_back(c);
      for (auto [arg, converted] : llvm::zip(op.getArgs(), adaptor.getArgs())) {
        auto [p, f] = promote(rewriter, loc, isa<RankedTensorType>(arg.getType()) ? converted[r] : converted.front());
        format += " " + f;
        values.push_back(p);
      }
      format += "\n";
      guardedEffect(rewriter, loc, canonical, [&](OpBuilder &b) { emitPrintf(b, loc, op, format, values); });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct AssertOpLowering : OpConversionPattern<tz::AssertOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(tz::AssertOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto assertFail = declare(rewriter, op, "__assertfail",
                              LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                                          {ptr, ptr, rewriter.getI32Type(), ptr, rewriter.getI64Type()}));
    std::string file = "<kernel>";
    int line = 0;
    if (auto fl = dyn_cast<FileLineColLoc>(loc)) {
      file = fl.getFilename().str();
      line = fl.getLine();
    }
    Value msg = stringConstant(rewriter, loc, op, op.getMessage());
    Value fileStr = stringConstant(rewriter, loc, op, file);
    Value func = stringConstant(rewriter, loc, op, "kernel");
    Value lineV = i32Const(rewriter, loc, line);
    Value charSize = i64Const(rewriter, loc, 1);
    for (Value cond : adaptor.getCond()) {
      Value failed = arith::XOrIOp::create(rewriter, loc, cond, boolConst(rewriter, loc, true));
      guardedEffect(rewriter, loc, failed, [&](OpBuilder &b) {
        LLVM::CallOp::create(b, loc, assertFail, ValueRange{msg, fileStr, lineV, func, charSize});
      });
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void populateDebugPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<PrintOpLowering, AssertOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
