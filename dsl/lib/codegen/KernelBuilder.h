// The state of code generation for one specialized kernel: compile-time
// values, lexical scopes of the functions being inlined, and the helpers that
// give operators and builtins Triton's semantics.
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/dsl/AST.h"
#include "terrazzo/dsl/CodeGen.h"
#include "terrazzo/dsl/JitFunction.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace terrazzo::dsl {

// A value during code generation. Kernel code mixes run-time values (MLIR
// SSA values: scalars and tiles) with compile-time ones (Python numbers,
// dtypes, functions, tuples), which are folded as the code is generated.
struct CgValue {
  enum class Kind {
    Undefined,      // a name that may not be used here; `text` says why
    Ir,             // run-time scalar or tile
    Int,
    Float,
    Bool,
    None,
    String,
    Dtype,          // `type`
    Function,       // a jit function
    Module,         // the terrazzo module
    Builtin,        // a terrazzo builtin; `text` = its name
    Method,         // `elems[0].text` bound method; `text` = method name
    ConstexprClass, // tz.constexpr itself
    Tuple,          // `elems`
    BlockPtr,       // make_block_ptr: elems = base, shape[r], strides[r], offsets[r]
    TensorDesc,     // make_tensor_descriptor: elems = base, shape[r], strides[r]
    Derivative,     // tz.derivative(function, argnum): `function`, `intValue` = argnum
  };
  Kind kind = Kind::None;
  mlir::Value ir;
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;
  std::string text;
  mlir::Type type;
  std::shared_ptr<const JitFunction> function;
  std::vector<CgValue> elems;
  std::vector<int64_t> blockShape; // BlockPtr, TensorDesc
  std::vector<int64_t> order;      // BlockPtr

  static CgValue fromIr(mlir::Value v) { CgValue c; c.kind = Kind::Ir; c.ir = v; return c; }
  static CgValue integer(int64_t v) { CgValue c; c.kind = Kind::Int; c.intValue = v; return c; }
  static CgValue floating(double v) { CgValue c; c.kind = Kind::Float; c.floatValue = v; return c; }
  static CgValue boolean(bool v) { CgValue c; c.kind = Kind::Bool; c.boolValue = v; return c; }
  static CgValue none() { return CgValue(); }
  static CgValue string(std::string s) { CgValue c; c.kind = Kind::String; c.text = std::move(s); return c; }
  static CgValue dtype(mlir::Type t) { CgValue c; c.kind = Kind::Dtype; c.type = t; return c; }
  static CgValue builtin(std::string name) { CgValue c; c.kind = Kind::Builtin; c.text = std::move(name); return c; }
  static CgValue tuple(std::vector<CgValue> elems) { CgValue c; c.kind = Kind::Tuple; c.elems = std::move(elems); return c; }
  static CgValue undefined(std::string why) { CgValue c; c.kind = Kind::Undefined; c.text = std::move(why); return c; }

  bool isIr() const { return kind == Kind::Ir; }
  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float || kind == Kind::Bool; }
  bool isConstexpr() const;
  // Same compile-time value, or the same SSA value.
  bool sameAs(const CgValue &other) const;
};

// What a call site passes: positional and keyword arguments, evaluated.
struct CallArgs {
  std::vector<CgValue> positional;
  std::vector<std::pair<std::string, CgValue>> keywords;
  std::vector<SourceLoc> positionalLocs;
};

class KernelBuilder {
public:
  KernelBuilder(mlir::MLIRContext &context, mlir::ModuleOp module);

  // Generates the body of `fn` as kernel `func` whose parameters are bound to
  // `params`.
  void generateKernelBody(const JitFunction &fn, mlir::func::FuncOp func,
                          std::vector<CgValue> params);

  // --- diagnostics ----------------------------------------------------------
  [[noreturn]] void fail(SourceLoc loc, const std::string &message) const;
  // An error at the source position an op was generated from (the first of
  // a fused location), in whichever function's source it lies; `fallback`
  // where the op has no such position.
  [[noreturn]] void failAt(mlir::Location at, SourceLoc fallback, const std::string &message) const;
  mlir::Location location(SourceLoc loc) const;

  // --- values and types (Semantics.cpp) --------------------------------------
  mlir::OpBuilder &builder() { return builder_; }
  mlir::MLIRContext &context() { return context_; }
  // Run-time value of `v` (numbers become constants of their default type).
  mlir::Value materialize(const CgValue &v, SourceLoc loc);
  // Run-time value of `v` converted to the scalar-or-tile `type`.
  mlir::Value materializeAs(const CgValue &v, mlir::Type type, SourceLoc loc);
  mlir::Value constantScalar(mlir::Type type, double value, SourceLoc loc);
  mlir::Value constantLike(mlir::Type scalarOrTile, double value, SourceLoc loc);
  mlir::Value castTo(mlir::Value v, mlir::Type element, SourceLoc loc, bool bitcast = false);
  mlir::Value toCondition(const CgValue &v, SourceLoc loc); // scalar i1
  // Makes `v` have `shape` by the broadcasting rules (scalars splat).
  mlir::Value broadcastTo(mlir::Value v, llvm::ArrayRef<int64_t> shape, SourceLoc loc);
  std::vector<int64_t> broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b,
                                       SourceLoc loc, const char *what);
  // Both operands converted to a common element type and shape.
  std::pair<mlir::Value, mlir::Value> unify(const CgValue &a, const CgValue &b, SourceLoc loc,
                                            const char *what);
  mlir::Type commonElementType(const CgValue &a, const CgValue &b, SourceLoc loc);
  CgValue binaryOp(BinOpKind op, const CgValue &a, const CgValue &b, SourceLoc loc);
  CgValue unaryOp(UnaryOpKind op, const CgValue &a, SourceLoc loc);
  CgValue compareOp(CmpOpKind op, const CgValue &a, const CgValue &b, SourceLoc loc);
  mlir::Type dtypeFromName(const std::string &name) const; // null if unknown
  std::string typeName(mlir::Type type) const;
  std::string describe(const CgValue &v) const;

  // --- constexpr helpers -----------------------------------------------------
  int64_t requireInt(const CgValue &v, SourceLoc loc, const std::string &what);
  // Tiles are capped (as in Triton) so a typo cannot ask for a tile that
  // exhausts memory or overflows the element count.
  static constexpr int64_t kMaxTileElements = 1 << 20;
  void checkTileSize(llvm::ArrayRef<int64_t> shape, SourceLoc loc);
  std::vector<int64_t> requireShape(const CgValue &v, SourceLoc loc, const std::string &what);
  mlir::Value requireIr(const CgValue &v, SourceLoc loc, const std::string &what);

  // --- builtins (Builtins.cpp) -----------------------------------------------
  bool isBuiltin(const std::string &name) const;
  CgValue callBuiltin(const std::string &name, CallArgs &args, SourceLoc loc);
  CgValue memberOfModule(const std::string &name, SourceLoc loc);
  CgValue attributeOf(const CgValue &base, const std::string &name, SourceLoc loc);

  // --- block pointers and tensor descriptors (BlockPointers.cpp) ------------
  CgValue makeBlockPtr(const CgValue &base, const CgValue &shape, const CgValue &strides, const CgValue &offsets,
                       const CgValue &blockShape, const CgValue &order, SourceLoc loc);
  CgValue advanceBlockPtr(const CgValue &ptr, const CgValue &offsets, SourceLoc loc);
  CgValue makeTensorDesc(const CgValue &base, const CgValue &shape, const CgValue &strides,
                         const CgValue &blockShape, SourceLoc loc);
  // The pointer tile a block pointer or descriptor (at `offsets`) addresses,
  // and the mask of elements inside the tensor along `checkedDims`.
  struct Window {
    mlir::Value ptr;
    mlir::Value mask; // null when no dimension is checked
  };
  Window windowOf(const CgValue &v, const CgValue *offsets, const std::vector<int64_t> &checkedDims, SourceLoc loc);
  std::vector<int64_t> boundaryCheckDims(const CgValue &v, size_t rank, SourceLoc loc);

  // --- expressions and statements --------------------------------------------
  CgValue eval(const Expr &expr);
  CgValue callValue(const CgValue &callee, CallArgs &args, SourceLoc loc);
  CgValue inlineCall(const JitFunction &fn, CallArgs &args, SourceLoc loc);
  // Differentiation (DerivativeBuiltins.cpp): a call of tz.derivative(fn,
  // argnum), and tz.add_load_gradients.
  CgValue callDerivative(const CgValue &derivative, CallArgs &args, SourceLoc loc);
  void addLoadGradients(const JitFunction &fn, CallArgs &args, int64_t argnum, mlir::Value gradPtr,
                        const CgValue &cotangent, SourceLoc loc);
  void genBlock(const std::vector<StmtPtr> &stmts);
  void genStmt(const Stmt &stmt);

  CgValue hostToCg(const HostValue &h, SourceLoc loc, const std::string &what);
  // Globals read so far, for SpecializedKernel::globals.
  const std::vector<SpecializedKernel::GlobalUse> &globalsUsed() const { return globals_; }
  // The function whose parameters are being bound before its body is
  // generated; diagnostics then point into its source.
  void setRootFunction(const JitFunction &fn) { rootFn_ = &fn; }
  // Sources of every function generated so far.
  const std::vector<SourceFilePtr> &sources() const { return sources_; }

private:
  // One inlined function: its scope and how it returns.
  struct Frame {
    const JitFunction *fn = nullptr;
    std::map<std::string, CgValue> vars;
    std::optional<CgValue> returnValue;
    int loopDepth = 0;
    int dynamicIfDepth = 0;
  };
  Frame &frame() { return frames_.back(); }
  const Frame &frame() const { return frames_.back(); }

  CgValue lookupName(const std::string &name, SourceLoc loc);
  void assignTarget(const Expr &target, const CgValue &value);
  CgValue evalSubscript(const Expr &expr);
  CgValue evalCall(const Expr &expr);
  CgValue evalBoolOp(const Expr &expr);
  CgValue evalCompare(const Expr &expr);
  CgValue evalIfExp(const Expr &expr);

  void genIf(const Stmt &stmt);
  void genFor(const Stmt &stmt);
  void genStaticFor(const Stmt &stmt, CallArgs &rangeArgs);
  void genWhile(const Stmt &stmt);
  // Names a loop body may rebind: candidates for loop-carried values.
  std::vector<std::string> loopCarriedNames(const Stmt &loop) const;
  // Loop-carried values flattened to SSA leaves (Statements.cpp).
  struct Carried {
    std::vector<std::string> names;
    std::vector<CgValue> before;      // value of each name before the loop
    std::vector<mlir::Type> leafTypes; // null while only a number is known
  };
  Carried collectCarried(const Stmt &loop);
  llvm::SmallVector<mlir::Value> carriedInits(Carried &c, SourceLoc loc);
  void bindCarried(const Carried &c, mlir::ValueRange values);
  // The values to yield at the end of the body, or nullopt when a number
  // became a tile and the loop must be generated again with the new types.
  std::optional<llvm::SmallVector<mlir::Value>> carriedYields(Carried &c, bool firstAttempt, SourceLoc loc);
  void finishLoopScope(const Carried &c, const std::map<std::string, CgValue> &before, mlir::ValueRange results,
                       int line);

  mlir::MLIRContext &context_;
  mlir::ModuleOp module_;
  mlir::OpBuilder builder_;
  std::vector<Frame> frames_;
  std::vector<SourceFilePtr> sources_;
  std::vector<SpecializedKernel::GlobalUse> globals_;
  const JitFunction *rootFn_ = nullptr;
  const JitFunction *currentFunction() const { return frames_.empty() ? rootFn_ : frames_.back().fn; }
  void noteSource(const JitFunction &fn);
};

// Structured values across control flow (StructuredValues.cpp): run-time
// leaves in order, structural equality, and rebuilding from new SSA values.
void flattenLeaves(const CgValue &v, std::vector<CgValue> &leaves);
bool sameStructure(const CgValue &a, const CgValue &b);
CgValue rebuildFromLeaves(const CgValue &shape, llvm::ArrayRef<mlir::Value> leaves, size_t &pos);

// Collects every name a statement list assigns (assignment targets, for-loop
// targets), in order of first appearance.
void collectAssignedNames(const std::vector<StmtPtr> &stmts, std::vector<std::string> &names);

} // namespace terrazzo::dsl
