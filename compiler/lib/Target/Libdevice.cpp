//===- Libdevice.cpp - the embedded libdevice and linking it --------------===//
//
// Math functions (exp, log, erf, ...) come from NVIDIA's libdevice bitcode as
// `__nv_*` calls. The bitcode is embedded into the library so that the runtime
// needs no CUDA toolkit path, and linked only into modules that call it.
//
//===----------------------------------------------------------------------===//
#include "terrazzo/Target/PTXBackend.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBufferRef.h"

#ifndef TERRAZZO_LIBDEVICE_PATH
#error "TERRAZZO_LIBDEVICE_PATH must name libdevice.10.bc (set by CMake)"
#endif

// The assembler copies the file in at build time (.incbin), which compiles in
// a moment where a generated C array of 450 KB would take seconds. The symbols
// are hidden so that they stay out of libterrazzo.so's dynamic table; the
// 16-byte alignment suits the bitcode reader, which reads 32-bit words.
__asm__(".pushsection .rodata.terrazzo_libdevice,\"a\",@progbits\n"
        ".balign 16\n"
        ".globl terrazzo_libdevice_begin\n"
        ".hidden terrazzo_libdevice_begin\n"
        "terrazzo_libdevice_begin:\n"
        ".incbin \"" TERRAZZO_LIBDEVICE_PATH "\"\n"
        ".globl terrazzo_libdevice_end\n"
        ".hidden terrazzo_libdevice_end\n"
        "terrazzo_libdevice_end:\n"
        ".popsection\n");

extern "C" {
__attribute__((visibility("hidden"))) extern const char terrazzo_libdevice_begin[];
__attribute__((visibility("hidden"))) extern const char terrazzo_libdevice_end[];
}

namespace terrazzo::target {

llvm::ArrayRef<char> embeddedLibdevice() {
  return llvm::ArrayRef<char>(terrazzo_libdevice_begin, terrazzo_libdevice_end);
}

static bool isLibdeviceName(llvm::StringRef name) { return name.starts_with("__nv_"); }

static bool declaresLibdeviceFunction(const llvm::Module &module) {
  for (const llvm::Function &fn : module)
    if (fn.isDeclaration() && isLibdeviceName(fn.getName()))
      return true;
  return false;
}

/// The string argument of a `__nvvm_reflect("...")` call, or "" if it is not a
/// constant string.
static llvm::StringRef reflectQuery(const llvm::CallInst &call) {
  auto *global = llvm::dyn_cast<llvm::GlobalVariable>(call.getArgOperand(0)->stripPointerCasts());
  if (!global || !global->hasInitializer())
    return "";
  auto *data = llvm::dyn_cast<llvm::ConstantDataSequential>(global->getInitializer());
  return data && data->isCString() ? data->getAsCString() : "";
}

/// NVVMReflect answers __CUDA_FTZ (module flag nvvm-reflect-ftz) and
/// __CUDA_ARCH, but any other query with 0 — and libdevice's sqrtf, rsqrtf and
/// division paths ask __CUDA_PREC_SQRT, so 0 would silently make them
/// approximate. Answer it here, before the pipeline runs NVVMReflect.
static void resolvePrecSqrt(llvm::Module &module, bool fastMath) {
  llvm::Function *reflect = module.getFunction("__nvvm_reflect");
  if (!reflect)
    return;
  auto *answer = llvm::ConstantInt::get(llvm::Type::getInt32Ty(module.getContext()), fastMath ? 0 : 1);
  for (llvm::User *user : llvm::make_early_inc_range(reflect->users())) {
    auto *call = llvm::dyn_cast<llvm::CallInst>(user);
    if (call && call->getCalledFunction() == reflect && reflectQuery(*call) == "__CUDA_PREC_SQRT") {
      call->replaceAllUsesWith(answer);
      call->eraseFromParent();
    }
  }
}

llvm::Error linkLibdevice(llvm::Module &module, bool fastMath) {
  if (!declaresLibdeviceFunction(module))
    return llvm::Error::success();

  llvm::ArrayRef<char> bitcode = embeddedLibdevice();
  llvm::MemoryBufferRef buffer(llvm::StringRef(bitcode.data(), bitcode.size()), "libdevice.10.bc");
  // Lazily: function bodies are read only when the linker materializes one
  // the module needs (parsing all of libdevice took a fifth of a compile).
  llvm::Expected<std::unique_ptr<llvm::Module>> libdevice = llvm::getLazyBitcodeModule(buffer, module.getContext());
  if (!libdevice)
    return llvm::createStringError("cannot read the embedded libdevice: " + llvm::toString(libdevice.takeError()));
  // libdevice says "nvptx64-nvidia-gpulibs" and a shorter data layout; adopt
  // ours so the linker does not warn about the mismatch.
  (*libdevice)->setTargetTriple(module.getTargetTriple());
  (*libdevice)->setDataLayout(module.getDataLayout());

  // LinkOnlyNeeded: only the functions the module calls (and what they call)
  // are materialized, not all ~500.
  if (llvm::Linker::linkModules(module, std::move(*libdevice), llvm::Linker::LinkOnlyNeeded))
    return llvm::createStringError("linking libdevice failed");

  for (const llvm::Function &fn : module)
    if (fn.isDeclaration() && isLibdeviceName(fn.getName()) && !fn.use_empty())
      return llvm::createStringError("'" + fn.getName().str() + "' is not a libdevice function");

  resolvePrecSqrt(module, fastMath);
  return llvm::Error::success();
}

} // namespace terrazzo::target
