// Abstract syntax tree of the kernel language: the subset of Python syntax a
// kernel may use. Nodes are plain structs tagged with a kind; every node keeps
// its source location so later stages (name resolution, constexpr evaluation,
// codegen) can report errors at the right line and column.
#pragma once

#include "terrazzo/dsl/Source.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace terrazzo::dsl {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

enum class ExprKind {
  Name,      // name
  Int,       // intValue
  Float,     // floatValue
  Bool,      // boolValue
  None,      //
  String,    // name holds the decoded string
  Attribute, // value.name
  Call,      // value(operands..., keywords...)
  BinOp,     // operands[0] binOp operands[1]
  UnaryOp,   // unaryOp operands[0]
  Compare,   // operands[0] cmpOps[0] operands[1] cmpOps[1] operands[2] ...
  BoolOp,    // operands[0] and/or operands[1] and/or ...
  Subscript, // value[operands...]; one operand per comma-separated index
  Tuple,     // (operands...)
  List,      // [operands...]
  IfExp,     // operands[1] if operands[0] else operands[2]
  Slice,     // lower:upper:step inside a subscript; operands[0..2], each may be null
};

enum class BinOpKind {
  Add, Sub, Mul, Div, FloorDiv, Mod, Pow, LShift, RShift, BitAnd, BitOr, BitXor, MatMul
};
enum class UnaryOpKind { Neg, Pos, Not, Invert };
enum class CmpOpKind { Lt, Le, Gt, Ge, Eq, Ne, Is, IsNot, In, NotIn };
enum class BoolOpKind { And, Or };

const char *spelling(BinOpKind op);   // "+", "//", ...
const char *spelling(UnaryOpKind op); // "-", "not", ...
const char *spelling(CmpOpKind op);   // "<", "is not", ...

struct Keyword {
  std::string name;
  ExprPtr value;
  SourceLoc loc;
};

struct Expr {
  ExprKind kind;
  SourceLoc loc;

  std::string name; // Name: identifier; Attribute: attribute name; String: text
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;
  BinOpKind binOp = BinOpKind::Add;
  UnaryOpKind unaryOp = UnaryOpKind::Neg;
  BoolOpKind boolOp = BoolOpKind::And;
  std::vector<CmpOpKind> cmpOps;

  ExprPtr value;                 // Attribute base, Call callee, Subscript base
  std::vector<ExprPtr> operands; // see ExprKind
  std::vector<Keyword> keywords; // Call only

  Expr(ExprKind kind, SourceLoc loc) : kind(kind), loc(loc) {}
};

enum class StmtKind {
  Expr,        // value
  Assign,      // targets[0] = targets[1] = ... = value
  AugAssign,   // targets[0] augOp= value
  AnnAssign,   // targets[0]: annotation (= value)?
  If,          // if value: body else: orelse   (elif is an If inside orelse)
  For,         // for targets[0] in value: body (else: orelse)
  While,       // while value: body
  Return,      // return value?  (value may be null)
  Pass,
  Break,
  Continue,
  Assert,      // assert value, msg
  FunctionDef, // decorators; def name(params) -> returns: body
  Import,      // import module as alias / from module import name as alias
};

struct Param {
  std::string name;
  ExprPtr annotation;   // may be null
  ExprPtr defaultValue; // may be null
  SourceLoc loc;
};

struct ImportName {
  std::string name;  // dotted module name for `import`, member for `from`
  std::string alias; // empty when no `as`
};

struct Stmt {
  StmtKind kind;
  SourceLoc loc;

  std::vector<ExprPtr> targets;
  ExprPtr value;
  ExprPtr msg;
  ExprPtr annotation;
  BinOpKind augOp = BinOpKind::Add;
  std::vector<StmtPtr> body;
  std::vector<StmtPtr> orelse;

  // FunctionDef
  std::string name;
  std::vector<Param> params;
  std::vector<ExprPtr> decorators;
  ExprPtr returns;

  // Import: `from importModule import names` or `import names` (importModule empty)
  std::string importModule;
  std::vector<ImportName> importNames;

  Stmt(StmtKind kind, SourceLoc loc) : kind(kind), loc(loc) {}
};

// A parsed source file: its top-level statements.
struct Module {
  SourceFilePtr source;
  std::vector<StmtPtr> body;
};

// Parses a whole source (a module, or one function as returned by
// inspect.getsource; common leading indentation is removed first).
// Throws DslError on a syntax error.
std::unique_ptr<Module> parseModule(SourceFilePtr source);

// Debug rendering of a tree, one node per line; used by tests.
std::string dumpAst(const Module &module);

} // namespace terrazzo::dsl
