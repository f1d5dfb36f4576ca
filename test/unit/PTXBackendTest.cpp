//===- PTXBackendTest.cpp - LLVM + NVVM dialects to PTX and cubin ---------===//
//
// Small kernels written directly in the LLVM + NVVM dialects go through
// translateToPTX and nvJitLink; the checks look at the PTX text, the cubin
// and the errors a user would see.
#include "terrazzo/Target/PTXBackend.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace terrazzo::target;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// out[tid] = expf(in[tid]) for tid < n, through libdevice.
constexpr const char *kExpKernel = R"mlir(
llvm.func @__nv_expf(f32) -> f32
llvm.func @k(%p: !llvm.ptr<1>, %n: i32) attributes {nvvm.kernel} {
  %tid = nvvm.read.ptx.sreg.tid.x : i32
  %in = llvm.icmp "slt" %tid, %n : i32
  llvm.cond_br %in, ^body, ^exit
^body:
  %a = llvm.getelementptr %p[%tid] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %x = llvm.load %a : !llvm.ptr<1> -> f32
  %y = llvm.call @__nv_expf(%x) : (f32) -> f32
  llvm.store %y, %a : f32, !llvm.ptr<1>
  llvm.br ^exit
^exit:
  llvm.return
}
)mlir";

// libdevice's sqrtf asks __CUDA_PREC_SQRT and __CUDA_FTZ.
constexpr const char *kSqrtKernel = R"mlir(
llvm.func @__nv_sqrtf(f32) -> f32
llvm.func @s(%p: !llvm.ptr<1>) attributes {nvvm.kernel} {
  %x = llvm.load %p : !llvm.ptr<1> -> f32
  %y = llvm.call @__nv_sqrtf(%x) : (f32) -> f32
  llvm.store %y, %p : f32, !llvm.ptr<1>
  llvm.return
}
)mlir";

// mbarrier.arrive.expect_tx and try_wait.parity exist only as inline PTX, so
// translating them needs convert-nvvm-to-llvm first.
constexpr const char *kInlinePTXKernel = R"mlir(
llvm.mlir.global internal @bar() {addr_space = 3 : i32, alignment = 8 : i64} : i64
llvm.func @sync(%p: !llvm.ptr<1>) attributes {nvvm.kernel, nvvm.reqntid = array<i32: 128, 1, 1>} {
  %mbar = llvm.mlir.addressof @bar : !llvm.ptr<3>
  %c0 = llvm.mlir.constant(0 : i32) : i32
  %c1 = llvm.mlir.constant(1 : i32) : i32
  %c31 = llvm.mlir.constant(31 : i32) : i32
  %all = llvm.mlir.constant(-1 : i32) : i32
  %ticks = llvm.mlir.constant(1000000 : i32) : i32
  %tid = nvvm.read.ptx.sreg.tid.x : i32
  nvvm.mbarrier.init %mbar, %c1 : !llvm.ptr<3>, i32
  nvvm.barrier0
  nvvm.mbarrier.arrive.expect_tx %mbar, %c0 : !llvm.ptr<3>, i32
  nvvm.mbarrier.try_wait.parity %mbar, %c0, %ticks : !llvm.ptr<3>, i32, i32
  %a = llvm.getelementptr %p[%tid] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
  %x = llvm.load %a : !llvm.ptr<1> -> f32
  %y = nvvm.shfl.sync bfly %all, %x, %c1, %c31 : f32 -> f32
  llvm.store %y, %a : f32, !llvm.ptr<1>
  llvm.return
}
)mlir";

class PTXBackendTest : public ::testing::Test {
protected:
  PTXBackendTest() { context.loadDialect<mlir::LLVM::LLVMDialect, mlir::NVVM::NVVMDialect>(); }

  mlir::OwningOpRef<mlir::ModuleOp> parse(const char *source) {
    auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
    EXPECT_TRUE(module) << "the test kernel does not parse";
    return module;
  }

  /// The PTX of `source` for `arch`; fails the test on an error.
  std::string ptxFor(const char *source, TargetOptions options, std::string *llvmIR = nullptr) {
    auto module = parse(source);
    if (!module)
      return "";
    llvm::Expected<std::string> ptx = translateToPTX(*module, options, llvmIR);
    if (!ptx) {
      ADD_FAILURE() << llvm::toString(ptx.takeError());
      return "";
    }
    return *ptx;
  }

  static TargetOptions forArch(const char *arch) {
    TargetOptions options;
    options.arch = arch;
    return options;
  }

  mlir::MLIRContext context;
};

TEST_F(PTXBackendTest, EmbeddedLibdeviceIsBitcode) {
  llvm::ArrayRef<char> bitcode = embeddedLibdevice();
  ASSERT_GT(bitcode.size(), 100000u);
  EXPECT_EQ(llvm::StringRef(bitcode.data(), 4), llvm::StringRef("BC\xC0\xDE", 4));
}

TEST_F(PTXBackendTest, LinksLibdeviceAndResolvesReflect) {
  for (const char *arch : {"sm_80", "sm_90a"}) {
    SCOPED_TRACE(arch);
    std::string llvmIR;
    std::string ptx = ptxFor(kExpKernel, forArch(arch), &llvmIR);
    EXPECT_THAT(ptx, HasSubstr(std::string(".target ") + arch));
    EXPECT_THAT(ptx, HasSubstr(".version 8.6"));
    EXPECT_THAT(ptx, HasSubstr(".visible .entry k("));
    EXPECT_THAT(ptx, HasSubstr("ex2.approx"));
    EXPECT_THAT(ptx, Not(HasSubstr("__nv_expf")));
    EXPECT_THAT(ptx, Not(HasSubstr("__nvvm_reflect")));
    EXPECT_THAT(llvmIR, Not(HasSubstr("__nvvm_reflect")));
    EXPECT_THAT(llvmIR, Not(HasSubstr("@__nv_expf")));
  }
}

TEST_F(PTXBackendTest, PreciseSqrtUnlessFastMath) {
  std::string precise = ptxFor(kSqrtKernel, forArch("sm_90a"));
  EXPECT_THAT(precise, HasSubstr("sqrt.rn.f32"));
  EXPECT_THAT(precise, Not(HasSubstr("sqrt.approx")));

  TargetOptions fast = forArch("sm_90a");
  fast.fastMath = true;
  std::string approx = ptxFor(kSqrtKernel, fast);
  EXPECT_THAT(approx, HasSubstr("sqrt.approx.ftz.f32"));
}

TEST_F(PTXBackendTest, WithoutLibdeviceCallsNothingIsLinked) {
  std::string llvmIR;
  std::string ptx = ptxFor(kInlinePTXKernel, forArch("sm_90a"), &llvmIR);
  EXPECT_THAT(llvmIR, Not(HasSubstr("__nv_")));
  EXPECT_THAT(ptx, HasSubstr(".visible .entry sync("));
  EXPECT_THAT(ptx, HasSubstr("mbarrier.try_wait.parity"));
  EXPECT_THAT(ptx, HasSubstr("mbarrier.arrive.expect_tx"));
  EXPECT_THAT(ptx, HasSubstr("shfl.sync.bfly.b32"));
  EXPECT_THAT(ptx, HasSubstr("bar.sync"));
}

// The default middle end is LLVM's O1 with GVN and O3's unroller (the
// tailored pipeline, not its O3 fallback); TZ_LLVM_OPT_LEVEL=3 is plain O3.
TEST_F(PTXBackendTest, DefaultMiddleEndIsO1WithGVNAndO3Unrolling) {
  unsetenv("TZ_LLVM_OPT_LEVEL");
  unsetenv("TZ_LLVM_PASSES");
  llvm::Expected<std::string> tailored = middleEndPipeline(TargetOptions());
  ASSERT_TRUE(static_cast<bool>(tailored)) << llvm::toString(tailored.takeError());
  EXPECT_THAT(*tailored, HasSubstr("nvvm-reflect"));
  EXPECT_THAT(*tailored, HasSubstr("mldst-motion<no-split-footer-bb>,gvn<>"));
  EXPECT_THAT(*tailored, HasSubstr("loop-unroll<O3>"));
  EXPECT_THAT(*tailored, Not(HasSubstr("loop-unroll<O1>")));
  EXPECT_THAT(*tailored, Not(HasSubstr("aggressive-instcombine"))); // an O3-only pass
  setenv("TZ_LLVM_OPT_LEVEL", "3", 1);
  llvm::Expected<std::string> o3 = middleEndPipeline(TargetOptions());
  unsetenv("TZ_LLVM_OPT_LEVEL");
  ASSERT_TRUE(static_cast<bool>(o3)) << llvm::toString(o3.takeError());
  EXPECT_THAT(*o3, HasSubstr("aggressive-instcombine"));
}

TEST_F(PTXBackendTest, UnknownArchIsAnError) {
  auto module = parse(kExpKernel);
  ASSERT_TRUE(module);
  llvm::Expected<std::string> ptx = translateToPTX(*module, forArch("sm_75"));
  ASSERT_FALSE(ptx);
  EXPECT_THAT(llvm::toString(ptx.takeError()), HasSubstr("unsupported GPU architecture 'sm_75'"));
}

TEST_F(PTXBackendTest, UnknownLibdeviceFunctionIsAnError) {
  auto module = parse(R"mlir(
    llvm.func @__nv_nosuchfunction(f32) -> f32
    llvm.func @k(%x: f32) attributes {nvvm.kernel} {
      %y = llvm.call @__nv_nosuchfunction(%x) : (f32) -> f32
      llvm.return
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<std::string> ptx = translateToPTX(*module, forArch("sm_90a"));
  ASSERT_FALSE(ptx);
  EXPECT_THAT(llvm::toString(ptx.takeError()), HasSubstr("'__nv_nosuchfunction' is not a libdevice function"));
}

TEST_F(PTXBackendTest, TranslationFailureCarriesTheDiagnostic) {
  // A cast that no pass removes cannot be translated.
  auto module = parse(R"mlir(
    llvm.func @k(%p: !llvm.ptr<1>, %n: i32) attributes {nvvm.kernel} {
      %w = builtin.unrealized_conversion_cast %n : i32 to i64
      llvm.store %w, %p : i64, !llvm.ptr<1>
      llvm.return
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<std::string> ptx = translateToPTX(*module, forArch("sm_90a"));
  ASSERT_FALSE(ptx);
  EXPECT_THAT(llvm::toString(ptx.takeError()), HasSubstr("unrealized_conversion_cast"));
}

class CubinTest : public PTXBackendTest {
protected:
  void SetUp() override {
    if (!nvJitLinkAvailable())
      GTEST_SKIP() << "nvJitLink is not installed";
  }
};

TEST_F(CubinTest, CompilesForEachArch) {
  for (const char *arch : {"sm_80", "sm_90a"}) {
    SCOPED_TRACE(arch);
    std::string ptx = ptxFor(kExpKernel, forArch(arch));
    llvm::Expected<CubinResult> cubin = compilePTXToCubin(ptx, arch, "k");
    ASSERT_TRUE(bool(cubin)) << llvm::toString(cubin.takeError());
    ASSERT_GE(cubin->cubin.size(), 4u);
    EXPECT_EQ(llvm::StringRef(cubin->cubin.data(), 4), "\x7f" "ELF");
    EXPECT_GT(cubin->registers, 0) << cubin->infoLog;
    EXPECT_EQ(cubin->spillStoreBytes, 0);
    EXPECT_EQ(cubin->spillLoadBytes, 0);
    EXPECT_EQ(cubin->sharedBytes, 0);
  }
}

TEST_F(CubinTest, ReportsSharedMemoryOfInlinePTXKernel) {
  std::string ptx = ptxFor(kInlinePTXKernel, forArch("sm_90a"));
  llvm::Expected<CubinResult> cubin = compilePTXToCubin(ptx, "sm_90a");
  ASSERT_TRUE(bool(cubin)) << llvm::toString(cubin.takeError());
  EXPECT_GT(cubin->registers, 0) << cubin->infoLog;
  // The 8-byte mbarrier (ptxas rounds it up), without the 1 KB sm_90 reserves
  // per block.
  EXPECT_GE(cubin->sharedBytes, 8) << cubin->infoLog;
  EXPECT_LT(cubin->sharedBytes, 1024) << cubin->infoLog;
}

TEST_F(CubinTest, SyntaxErrorCarriesTheErrorLog) {
  std::string ptx = ptxFor(kExpKernel, forArch("sm_90a"));
  size_t ret = ptx.find("ret;");
  ASSERT_NE(ret, std::string::npos);
  ptx.replace(ret, 4, "ret %r1;");
  llvm::Expected<CubinResult> cubin = compilePTXToCubin(ptx, "sm_90a", "k");
  ASSERT_FALSE(cubin);
  std::string message = llvm::toString(cubin.takeError());
  EXPECT_THAT(message, HasSubstr("NVJITLINK_ERROR_PTX_COMPILE"));
  EXPECT_THAT(message, HasSubstr("ptxas"));
}

// nvJitLink itself would end the process on this.
TEST_F(CubinTest, UnknownArchIsAnError) {
  std::string ptx = ptxFor(kExpKernel, forArch("sm_90a"));
  llvm::Expected<CubinResult> cubin = compilePTXToCubin(ptx, "sm_1");
  ASSERT_FALSE(cubin);
  EXPECT_THAT(llvm::toString(cubin.takeError()), HasSubstr("unsupported GPU architecture 'sm_1'"));
}

} // namespace
