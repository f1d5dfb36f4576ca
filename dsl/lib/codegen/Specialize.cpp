// Entry points of code generation: binding launch arguments to parameters,
// the specialization key, and building one verified tz kernel.
#include "KernelBuilder.h"
#include "terrazzo/dsl/CodeGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstring>
#include <sstream>

using namespace mlir;

namespace terrazzo::dsl {

void loadKernelDialects(MLIRContext &context) {
  context.loadDialect<tz::TzDialect, arith::ArithDialect, math::MathDialect, scf::SCFDialect,
                      func::FuncDialect>();
}

namespace {
// A throwaway builder whose only use is evaluating default values.
struct DefaultEvaluator {
  MLIRContext context;
  DefaultEvaluator() { loadKernelDialects(context); }
};

HostValue cgToHost(const CgValue &v) {
  switch (v.kind) {
  case CgValue::Kind::Int: return HostValue::integer(v.intValue);
  case CgValue::Kind::Float: return HostValue::floating(v.floatValue);
  case CgValue::Kind::Bool: return HostValue::boolean(v.boolValue);
  case CgValue::Kind::String: return HostValue::string(v.text);
  case CgValue::Kind::Function: return HostValue::jitFunction(v.function);
  default: return HostValue::none();
  }
}
} // namespace

namespace {
bool isTerrazzoModuleName(const JitFunction &fn, const std::string &name) {
  auto v = fn.resolver().lookup(name);
  return v && v->kind == HostValue::Kind::TerrazzoModule;
}
} // namespace

bool globalsUnchanged(const SpecializedKernel &kernel) {
  for (auto &g : kernel.globals) {
    auto now = g.resolver->lookup(g.name);
    if (!now || !sameHostValue(*now, g.value))
      return false;
  }
  return true;
}

std::vector<HostValue> bindArguments(const JitFunction &fn, const std::vector<HostValue> &positional,
                                     const std::vector<std::pair<std::string, HostValue>> &keywords) {
  const SourceFile *src = &fn.source();
  SourceLoc defLoc = fn.definition().loc;
  size_t n = fn.numParams();
  if (positional.size() > n)
    throw DslError(src, defLoc, "kernel '" + fn.name() + "' takes " + std::to_string(n) + " arguments but " +
                                    std::to_string(positional.size()) + " were given");
  std::vector<std::optional<HostValue>> bound(n);
  for (size_t i = 0; i < positional.size(); ++i)
    bound[i] = positional[i];
  for (auto &[name, value] : keywords) {
    size_t i = 0;
    while (i < n && fn.param(i).name != name)
      ++i;
    if (i == n)
      throw DslError(src, defLoc, "kernel '" + fn.name() + "' has no parameter named '" + name + "'");
    if (bound[i])
      throw DslError(src, fn.param(i).loc, "kernel '" + fn.name() + "' got more than one value for '" + name + "'");
    bound[i] = value;
  }
  std::vector<HostValue> out;
  for (size_t i = 0; i < n; ++i) {
    const Param &p = fn.param(i);
    if (!bound[i]) {
      if (!p.defaultValue)
        throw DslError(src, p.loc, "kernel '" + fn.name() + "' is missing argument '" + p.name + "'");
      // Defaults are compile-time expressions of the kernel's module.
      if (p.defaultValue->kind == ExprKind::Int) bound[i] = HostValue::integer(p.defaultValue->intValue);
      else if (p.defaultValue->kind == ExprKind::Float) bound[i] = HostValue::floating(p.defaultValue->floatValue);
      else if (p.defaultValue->kind == ExprKind::Bool) bound[i] = HostValue::boolean(p.defaultValue->boolValue);
      else if (p.defaultValue->kind == ExprKind::None) bound[i] = HostValue::none();
      else if (p.defaultValue->kind == ExprKind::String) bound[i] = HostValue::string(p.defaultValue->name);
      else if (p.defaultValue->kind == ExprKind::Name) {
        auto g = fn.resolver().lookup(p.defaultValue->name);
        if (!g)
          throw DslError(src, p.defaultValue->loc, "unknown name '" + p.defaultValue->name + "'");
        bound[i] = *g;
      } else if (p.defaultValue->kind == ExprKind::UnaryOp && p.defaultValue->unaryOp == UnaryOpKind::Neg &&
                 p.defaultValue->operands[0]->kind == ExprKind::Int) {
        bound[i] = HostValue::integer(-p.defaultValue->operands[0]->intValue);
      } else if (p.defaultValue->kind == ExprKind::Attribute && p.defaultValue->value->kind == ExprKind::Name &&
                 isTerrazzoModuleName(fn, p.defaultValue->value->name)) {
        // tz.float32 and similar
        bound[i] = HostValue::dtype(p.defaultValue->name);
      } else {
        throw DslError(src, p.defaultValue->loc, "default value of '" + p.name +
                                                     "' must be a number, a string, None, a global name or a tz dtype");
      }
    }
    out.push_back(*bound[i]);
  }
  (void)cgToHost;
  return out;
}

std::string specializationKey(const JitFunction &fn, const std::vector<HostValue> &args) {
  return std::to_string(fn.fingerprint().size()) + ':' + fn.fingerprint() + argumentKey(fn, args);
}

std::string argumentKey(const JitFunction &fn, const std::vector<HostValue> &args) {
  std::ostringstream key;
  for (size_t i = 0; i < args.size(); ++i) {
    const HostValue &a = args[i];
    key << '|';
    bool constexprParam = fn.isConstexprParam(i);
    switch (a.kind) {
    case HostValue::Kind::Pointer:
      key << "p" << a.text << ((reinterpret_cast<uintptr_t>(a.data) % 16 == 0) ? "a16" : "");
      break;
    case HostValue::Kind::Int:
      if (constexprParam) key << "c" << a.intValue;
      else if (a.intValue == 1) key << "i==1";
      else key << ((a.intValue >= INT32_MIN && a.intValue <= INT32_MAX) ? "i32" : "i64")
               << (a.intValue % 16 == 0 ? "d16" : "");
      break;
    case HostValue::Kind::Float:
      if (constexprParam) key << "c" << std::hexfloat << a.floatValue << std::defaultfloat;
      else key << "f32";
      break;
    case HostValue::Kind::Bool: key << (constexprParam ? (a.boolValue ? "cT" : "cF") : "i1"); break;
    case HostValue::Kind::None: key << "None"; break;
    case HostValue::Kind::String: key << "s" << a.text.size() << ':' << a.text; break;
    case HostValue::Kind::Dtype: key << "d" << a.text; break;
    case HostValue::Kind::Function:
      // The object, not just its text: two closures of one factory differ.
      key << "fn" << static_cast<const void *>(a.function.get());
      break;
    case HostValue::Kind::TerrazzoModule: key << "mod"; break;
    case HostValue::Kind::Unsupported: key << "?" << a.text; break;
    }
  }
  return key.str();
}

SpecializedKernel generateKernel(MLIRContext &context, const JitFunction &fn, const std::vector<HostValue> &args) {
  loadKernelDialects(context);
  const SourceFile *src = &fn.source();
  SourceLoc defLoc = fn.definition().loc;
  OpBuilder b(&context);
  Location fileLoc = FileLineColLoc::get(&context, src->filename(), defLoc.line, defLoc.col);
  SpecializedKernel result;
  result.module = ModuleOp::create(fileLoc);
  result.kernelName = fn.name();

  // Decide which parameters stay run-time arguments.
  SmallVector<Type> argTypes;
  std::vector<int> paramToArg;
  KernelBuilder kb(context, *result.module);
  kb.setRootFunction(fn);
  std::vector<std::pair<size_t, Type>> runtimeParams;
  for (size_t i = 0; i < fn.numParams(); ++i) {
    const HostValue &a = args[i];
    const Param &p = fn.param(i);
    bool constexprParam = fn.isConstexprParam(i);
    Type t;
    if (a.kind == HostValue::Kind::Pointer) {
      if (constexprParam)
        throw DslError(src, p.loc, "argument '" + p.name + "' is a constexpr parameter but a tensor was given");
      Type elem = kb.dtypeFromName(a.text);
      if (!elem)
        throw DslError(src, p.loc, "argument '" + p.name + "' has unsupported dtype '" + a.text + "'");
      t = tz::PointerType::get(&context, elem);
    } else if (!constexprParam && a.kind == HostValue::Kind::Int && a.intValue != 1) {
      t = b.getIntegerType((a.intValue >= INT32_MIN && a.intValue <= INT32_MAX) ? 32 : 64);
    } else if (!constexprParam && a.kind == HostValue::Kind::Float) {
      t = b.getF32Type();
    } else if (!constexprParam && a.kind == HostValue::Kind::Bool) {
      t = b.getI1Type();
    } else if (a.kind == HostValue::Kind::Unsupported) {
      throw DslError(src, p.loc, "argument '" + p.name + "' is a Python object of type '" + a.text +
                                     "', which cannot be passed to a kernel");
    }
    if (t) {
      paramToArg.push_back(argTypes.size());
      argTypes.push_back(t);
    } else {
      paramToArg.push_back(-1);
    }
  }
  b.setInsertionPointToEnd(result.module->getBody());
  auto func = b.create<func::FuncOp>(fileLoc, fn.name(), b.getFunctionType(argTypes, {}));
  func->setAttr(tz::kKernelAttrName, b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  std::vector<CgValue> params;
  for (size_t i = 0; i < fn.numParams(); ++i) {
    const HostValue &a = args[i];
    if (paramToArg[i] >= 0) {
      Value arg = entry->getArgument(paramToArg[i]);
      if (a.kind == HostValue::Kind::Pointer && reinterpret_cast<uintptr_t>(a.data) % 16 == 0)
        func.setArgAttr(paramToArg[i], "tz.divisibility", b.getI32IntegerAttr(16));
      if (a.kind == HostValue::Kind::Int && a.intValue % 16 == 0)
        func.setArgAttr(paramToArg[i], "tz.divisibility", b.getI32IntegerAttr(16));
      params.push_back(CgValue::fromIr(arg));
    } else {
      params.push_back(kb.hostToCg(a, fn.param(i).loc, "argument '" + fn.param(i).name + "'"));
    }
  }
  kb.generateKernelBody(fn, func, std::move(params));
  result.paramToArgument = paramToArg;
  result.sources = kb.sources();
  result.globals = kb.globalsUsed();

  // The generator should only produce valid IR; if the verifier disagrees,
  // report it at the op's source line rather than dumping IR.
  std::string verifierMessage;
  Location verifierLoc = fileLoc;
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
      if (verifierMessage.empty()) {
        verifierMessage = d.str();
        verifierLoc = d.getLocation();
      }
      return success();
    });
    if (failed(verify(*result.module))) {
      SourceLoc loc = defLoc;
      if (auto fl = dyn_cast<FileLineColLoc>(verifierLoc))
        loc = {(int)fl.getLine(), (int)fl.getColumn()};
      throw DslError(src, loc, "internal compiler error: generated invalid IR: " + verifierMessage);
    }
    PassManager pm(&context);
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    if (failed(pm.run(*result.module)))
      throw DslError(src, defLoc, "internal compiler error while simplifying the kernel: " + verifierMessage);
  }
  return result;
}

} // namespace terrazzo::dsl
