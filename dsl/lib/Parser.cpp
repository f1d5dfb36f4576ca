// Recursive-descent parser for the kernel language. The grammar is the subset
// of Python's (see the PEG grammar in the Python language reference) that
// kernels use; constructs outside it are recognised just far enough to say
// they are not supported, at the place they appear.
#include "Lexer.h"
#include "terrazzo/dsl/AST.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace terrazzo::dsl {
namespace {

// Bounds recursion on chains the bracket limit does not cover (- - - x,
// not not x, a if b else c if ...), so hostile input cannot overflow the stack.
constexpr int kMaxNesting = 500;

struct BinaryOperator {
  const char *spelling;
  BinOpKind kind;
};

// Binary operator levels from loosest to tightest; `**` is handled apart
// because it is right-associative and binds tighter than unary minus.
const std::vector<std::vector<BinaryOperator>> kBinaryLevels = {
    {{"|", BinOpKind::BitOr}},
    {{"^", BinOpKind::BitXor}},
    {{"&", BinOpKind::BitAnd}},
    {{"<<", BinOpKind::LShift}, {">>", BinOpKind::RShift}},
    {{"+", BinOpKind::Add}, {"-", BinOpKind::Sub}},
    {{"*", BinOpKind::Mul},
     {"/", BinOpKind::Div},
     {"//", BinOpKind::FloorDiv},
     {"%", BinOpKind::Mod},
     {"@", BinOpKind::MatMul}},
};

const BinaryOperator kAugmentedOperators[] = {
    {"+=", BinOpKind::Add},      {"-=", BinOpKind::Sub},
    {"*=", BinOpKind::Mul},      {"/=", BinOpKind::Div},
    {"//=", BinOpKind::FloorDiv}, {"%=", BinOpKind::Mod},
    {"**=", BinOpKind::Pow},     {"<<=", BinOpKind::LShift},
    {">>=", BinOpKind::RShift},  {"&=", BinOpKind::BitAnd},
    {"|=", BinOpKind::BitOr},    {"^=", BinOpKind::BitXor},
    {"@=", BinOpKind::MatMul},
};

ExprPtr makeExpr(ExprKind kind, SourceLoc loc) {
  return std::make_unique<Expr>(kind, loc);
}
StmtPtr makeStmt(StmtKind kind, SourceLoc loc) {
  return std::make_unique<Stmt>(kind, loc);
}

// What an expression is, for "cannot assign to ..." messages.
std::string describeExpr(const Expr &expr) {
  switch (expr.kind) {
  case ExprKind::Call: return "function call";
  case ExprKind::Int:
  case ExprKind::Float:
  case ExprKind::String:
  case ExprKind::Bool:
  case ExprKind::None: return "literal";
  case ExprKind::Compare: return "comparison";
  case ExprKind::IfExp: return "conditional expression";
  default: return "expression";
  }
}

class Parser {
public:
  explicit Parser(SourceFilePtr source)
      : source_(std::move(source)), tokens_(tokenize(*source_)) {}

  std::unique_ptr<Module> parseModule();

private:
  class DepthGuard {
  public:
    explicit DepthGuard(Parser &parser) : parser_(parser) {
      if (parser_.depth_ >= kMaxNesting)
        parser_.fail(parser_.peek().loc, "expression is too deeply nested");
      ++parser_.depth_;
    }
    ~DepthGuard() { --parser_.depth_; }

  private:
    Parser &parser_;
  };

  // Token access. The token vector never changes, so references into it stay
  // valid for the parser's lifetime.
  const Token &peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token &advance() {
    const Token &token = tokens_[pos_];
    if (pos_ + 1 < tokens_.size())
      ++pos_;
    return token;
  }
  bool at(TokenKind kind) const { return peek().kind == kind; }
  bool atOp(const char *op) const { return peek().isOp(op); }
  bool atKeyword(const char *keyword) const { return peek().isKeyword(keyword); }
  bool acceptOp(const char *op) {
    if (!atOp(op))
      return false;
    advance();
    return true;
  }
  bool acceptKeyword(const char *keyword) {
    if (!atKeyword(keyword))
      return false;
    advance();
    return true;
  }
  const Token &expectOp(const char *op, const std::string &context) {
    if (!atOp(op))
      failExpected(std::string("'") + op + "' " + context);
    return advance();
  }
  void expectKeyword(const char *keyword, const std::string &context) {
    if (!acceptKeyword(keyword))
      failExpected(std::string("'") + keyword + "' " + context);
  }
  std::string expectName(const std::string &what) {
    if (!at(TokenKind::Name))
      failExpected(what);
    return advance().text;
  }

  [[noreturn]] void fail(SourceLoc loc, const std::string &message) const {
    throw DslError(source_.get(), loc, message);
  }
  [[noreturn]] void failExpected(const std::string &expected) const;
  [[noreturn]] void unsupported(const Token &token) const {
    fail(token.loc, "'" + token.text + "' is not supported in kernels");
  }
  bool startsExpression(const Token &token) const;

  // Statements.
  void parseStatement(std::vector<StmtPtr> &out);
  void parseSimpleStatements(std::vector<StmtPtr> &out);
  StmtPtr parseSimpleStatement();
  StmtPtr parseExpressionStatement();
  StmtPtr parseReturn();
  StmtPtr parseAssert();
  StmtPtr parseImport();
  StmtPtr parseFromImport();
  std::string parseDottedName();
  StmtPtr parseIf();
  StmtPtr parseFor();
  StmtPtr parseWhile();
  StmtPtr parseDecorated();
  StmtPtr parseFunctionDef(std::vector<ExprPtr> decorators);
  void parseParameters(Stmt &function);
  std::vector<StmtPtr> parseBlock(const std::string &owner, SourceLoc ownerLoc);
  std::vector<StmtPtr> parseElseBlock();
  void checkAssignable(const Expr &target) const;

  // Expressions, loosest binding first.
  ExprPtr parseExpressionList();
  ExprPtr parseTargetList();
  ExprPtr parseExpression();
  ExprPtr parseOr();
  ExprPtr parseAnd();
  ExprPtr parseNot();
  ExprPtr parseComparison();
  bool acceptCompareOp(CmpOpKind &op);
  ExprPtr parseBinary(size_t level);
  ExprPtr parseFactor();
  ExprPtr parsePower();
  ExprPtr parsePrimary();
  ExprPtr parseCall(ExprPtr callee, SourceLoc start);
  ExprPtr parseSubscript(ExprPtr base, SourceLoc start);
  ExprPtr parseIndex();
  ExprPtr parseAtom();
  ExprPtr parseStrings();
  ExprPtr parseParenthesized();
  ExprPtr parseList();

  SourceFilePtr source_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loopDepth_ = 0; // enclosing loops of the current function, for 'break'
  int elifDepth_ = 0; // elif branches being parsed: each nests one If deeper
};

void Parser::failExpected(const std::string &expected) const {
  const Token &token = peek();
  if (token.isOp(":="))
    fail(token.loc, "assignment expressions (':=') are not supported in kernels");
  if (token.kind == TokenKind::Indent)
    fail(token.loc, "unexpected indent");
  fail(token.loc, "expected " + expected + ", found " + describeToken(token));
}

bool Parser::startsExpression(const Token &token) const {
  switch (token.kind) {
  case TokenKind::Name:
  case TokenKind::Int:
  case TokenKind::Float:
  case TokenKind::String: return true;
  case TokenKind::Keyword:
    return token.text == "None" || token.text == "True" ||
           token.text == "False" || token.text == "not" ||
           token.text == "lambda" || token.text == "yield";
  case TokenKind::Op:
    // '*' and '...' are included so that they reach the "not supported" errors.
    for (const char *op : {"(", "[", "{", "-", "+", "~", "*", "**", "..."})
      if (token.text == op)
        return true;
    return false;
  default: return false;
  }
}

std::unique_ptr<Module> Parser::parseModule() {
  auto module = std::make_unique<Module>();
  module->source = source_;
  while (!at(TokenKind::EndOfFile))
    parseStatement(module->body);
  return module;
}

// ---------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------

void Parser::parseStatement(std::vector<StmtPtr> &out) {
  const Token &token = peek();
  if (token.kind == TokenKind::Indent)
    fail(token.loc, "unexpected indent");
  if (token.kind == TokenKind::Dedent)
    fail(token.loc, "unexpected unindent");
  if (token.isOp("@")) {
    out.push_back(parseDecorated());
    return;
  }
  if (token.kind == TokenKind::Keyword) {
    if (token.text == "def") {
      out.push_back(parseFunctionDef({}));
      return;
    }
    if (token.text == "if") {
      out.push_back(parseIf());
      return;
    }
    if (token.text == "for") {
      out.push_back(parseFor());
      return;
    }
    if (token.text == "while") {
      out.push_back(parseWhile());
      return;
    }
  }
  parseSimpleStatements(out);
}

// simple_stmt (';' simple_stmt)* [';'] NEWLINE
void Parser::parseSimpleStatements(std::vector<StmtPtr> &out) {
  while (true) {
    out.push_back(parseSimpleStatement());
    if (!acceptOp(";") || at(TokenKind::Newline))
      break;
  }
  if (!at(TokenKind::Newline))
    failExpected("end of line after statement");
  advance();
}

StmtPtr Parser::parseSimpleStatement() {
  const Token &token = peek();
  if (token.kind == TokenKind::Keyword) {
    const std::string &word = token.text;
    if (word == "pass") {
      advance();
      return makeStmt(StmtKind::Pass, token.loc);
    }
    if (word == "break" || word == "continue") {
      if (loopDepth_ == 0)
        fail(token.loc, "'" + word + "' outside loop");
      advance();
      return makeStmt(word == "break" ? StmtKind::Break : StmtKind::Continue,
                      token.loc);
    }
    if (word == "return")
      return parseReturn();
    if (word == "assert")
      return parseAssert();
    if (word == "import")
      return parseImport();
    if (word == "from")
      return parseFromImport();
    if (word == "class" || word == "with" || word == "try" || word == "global" ||
        word == "nonlocal" || word == "del" || word == "raise" ||
        word == "except")
      unsupported(token);
    if (word == "def" || word == "if" || word == "for" || word == "while")
      fail(token.loc, "invalid syntax: '" + word +
                          "' must start a new line, not follow ':' or ';'");
    if (word == "elif" || word == "else")
      fail(token.loc, "invalid syntax: '" + word + "' without a matching '" +
                          (word == "elif" ? "if" : "if', 'for' or 'while") +
                          "'");
  }
  if (token.kind == TokenKind::Name && token.text == "async")
    unsupported(token);
  return parseExpressionStatement();
}

// Expression statements and the three kinds of assignment, which all start
// with an expression list.
StmtPtr Parser::parseExpressionStatement() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseExpressionList();

  if (atOp(":")) {
    if (first->kind == ExprKind::Tuple)
      fail(first->loc, "only a single target (not a tuple) can be annotated");
    checkAssignable(*first);
    advance();
    auto stmt = makeStmt(StmtKind::AnnAssign, start);
    stmt->annotation = parseExpression();
    if (acceptOp("="))
      stmt->value = parseExpressionList();
    stmt->targets.push_back(std::move(first));
    return stmt;
  }

  for (const BinaryOperator &op : kAugmentedOperators) {
    if (!atOp(op.spelling))
      continue;
    if (first->kind != ExprKind::Name && first->kind != ExprKind::Attribute &&
        first->kind != ExprKind::Subscript)
      fail(first->loc, "cannot use augmented assignment on " +
                           (first->kind == ExprKind::Tuple ? std::string("a tuple")
                                                           : describeExpr(*first)));
    advance();
    auto stmt = makeStmt(StmtKind::AugAssign, start);
    stmt->augOp = op.kind;
    stmt->targets.push_back(std::move(first));
    stmt->value = parseExpressionList();
    return stmt;
  }

  if (atOp("=")) {
    // a = b = value: every list but the last is a target.
    std::vector<ExprPtr> chain;
    chain.push_back(std::move(first));
    while (acceptOp("="))
      chain.push_back(parseExpressionList());
    auto stmt = makeStmt(StmtKind::Assign, start);
    stmt->value = std::move(chain.back());
    chain.pop_back();
    for (ExprPtr &target : chain) {
      checkAssignable(*target);
      stmt->targets.push_back(std::move(target));
    }
    return stmt;
  }

  auto stmt = makeStmt(StmtKind::Expr, start);
  stmt->value = std::move(first);
  return stmt;
}

void Parser::checkAssignable(const Expr &target) const {
  switch (target.kind) {
  case ExprKind::Name:
  case ExprKind::Attribute:
  case ExprKind::Subscript: return;
  case ExprKind::Tuple:
  case ExprKind::List:
    for (const ExprPtr &element : target.operands)
      checkAssignable(*element);
    return;
  default: fail(target.loc, "cannot assign to " + describeExpr(target));
  }
}

StmtPtr Parser::parseReturn() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::Return, keyword.loc);
  if (!at(TokenKind::Newline) && !atOp(";"))
    stmt->value = parseExpressionList();
  return stmt;
}

StmtPtr Parser::parseAssert() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::Assert, keyword.loc);
  stmt->value = parseExpression();
  if (acceptOp(","))
    stmt->msg = parseExpression();
  return stmt;
}

std::string Parser::parseDottedName() {
  std::string name = expectName("a module name");
  while (acceptOp("."))
    name += "." + expectName("a name after '.'");
  return name;
}

// import a.b [as c], ...
StmtPtr Parser::parseImport() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::Import, keyword.loc);
  do {
    ImportName imported;
    imported.name = parseDottedName();
    if (acceptKeyword("as"))
      imported.alias = expectName("a name after 'as'");
    stmt->importNames.push_back(std::move(imported));
  } while (acceptOp(","));
  return stmt;
}

// from [.]*module import name [as alias], ...   (optionally parenthesised)
StmtPtr Parser::parseFromImport() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::Import, keyword.loc);
  while (atOp(".") || atOp("..."))
    stmt->importModule += advance().text;
  if (stmt->importModule.empty() || !atKeyword("import"))
    stmt->importModule += parseDottedName();
  expectKeyword("import", "after the module name");
  if (atOp("*"))
    fail(peek().loc, "'from ... import *' is not supported in kernels");
  bool parenthesized = acceptOp("(");
  do {
    if (parenthesized && atOp(")"))
      break;
    ImportName imported;
    imported.name = expectName("a name to import");
    if (acceptKeyword("as"))
      imported.alias = expectName("a name after 'as'");
    stmt->importNames.push_back(std::move(imported));
  } while (acceptOp(","));
  if (parenthesized)
    expectOp(")", "after imported names");
  return stmt;
}

// The suite after a ':' — an indented block, or simple statements on the same
// line. `owner` names the construct for the missing-block message.
std::vector<StmtPtr> Parser::parseBlock(const std::string &owner,
                                        SourceLoc ownerLoc) {
  std::vector<StmtPtr> body;
  if (!at(TokenKind::Newline)) {
    parseSimpleStatements(body);
    return body;
  }
  advance();
  if (!at(TokenKind::Indent))
    fail(peek().loc, "expected an indented block after " + owner + " on line " +
                         std::to_string(ownerLoc.line));
  advance();
  while (!at(TokenKind::Dedent) && !at(TokenKind::EndOfFile))
    parseStatement(body);
  advance();
  return body;
}

std::vector<StmtPtr> Parser::parseElseBlock() {
  const Token &keyword = advance();
  expectOp(":", "after 'else'");
  return parseBlock("'else' statement", keyword.loc);
}

// if/elif/else; an elif becomes an If that is the only statement of orelse.
StmtPtr Parser::parseIf() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::If, keyword.loc);
  stmt->value = parseExpression();
  expectOp(":", "after " + keyword.text + " condition");
  stmt->body = parseBlock("'" + keyword.text + "' statement", keyword.loc);
  if (atKeyword("elif")) {
    // Each elif is an If nested in the orelse of the previous one; code
    // generation recurses through the chain, so bound it like nesting.
    if (elifDepth_ >= kMaxNesting)
      fail(peek().loc, "too many 'elif' branches (at most " + std::to_string(kMaxNesting) + ")");
    ++elifDepth_;
    stmt->orelse.push_back(parseIf());
    --elifDepth_;
  } else if (atKeyword("else"))
    stmt->orelse = parseElseBlock();
  return stmt;
}

StmtPtr Parser::parseFor() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::For, keyword.loc);
  stmt->targets.push_back(parseTargetList());
  expectKeyword("in", "after for-loop target");
  stmt->value = parseExpressionList();
  expectOp(":", "after for-loop iterable");
  ++loopDepth_;
  stmt->body = parseBlock("'for' statement", keyword.loc);
  --loopDepth_;
  if (atKeyword("else"))
    stmt->orelse = parseElseBlock();
  return stmt;
}

StmtPtr Parser::parseWhile() {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::While, keyword.loc);
  stmt->value = parseExpression();
  expectOp(":", "after while condition");
  ++loopDepth_;
  stmt->body = parseBlock("'while' statement", keyword.loc);
  --loopDepth_;
  // The AST has no place for it, and dropping it silently would be wrong.
  if (atKeyword("else"))
    fail(peek().loc, "'else' after a 'while' loop is not supported in kernels");
  return stmt;
}

StmtPtr Parser::parseDecorated() {
  std::vector<ExprPtr> decorators;
  while (acceptOp("@")) {
    decorators.push_back(parseExpression());
    if (!at(TokenKind::Newline))
      failExpected("end of line after decorator");
    advance();
  }
  if (atKeyword("class") || (at(TokenKind::Name) && peek().text == "async"))
    unsupported(peek());
  if (!atKeyword("def"))
    failExpected("'def' after decorators");
  return parseFunctionDef(std::move(decorators));
}

StmtPtr Parser::parseFunctionDef(std::vector<ExprPtr> decorators) {
  const Token &keyword = advance();
  auto stmt = makeStmt(StmtKind::FunctionDef, keyword.loc);
  stmt->decorators = std::move(decorators);
  stmt->name = expectName("a function name after 'def'");
  expectOp("(", "after the function name");
  parseParameters(*stmt);
  expectOp(")", "after the parameters");
  if (acceptOp("->"))
    stmt->returns = parseExpression();
  expectOp(":", "after the function signature");
  // 'break' in a nested function cannot leave a loop around the definition.
  int enclosingLoops = loopDepth_;
  loopDepth_ = 0;
  stmt->body = parseBlock("function definition", keyword.loc);
  loopDepth_ = enclosingLoops;
  return stmt;
}

// name [: annotation] [= default], ...  up to (not including) ')'.
void Parser::parseParameters(Stmt &function) {
  std::set<std::string> seen;
  bool sawDefault = false;
  while (!atOp(")")) {
    if (atOp("*") || atOp("**"))
      fail(peek().loc, "star parameters are not supported in kernels");
    if (atOp("/"))
      fail(peek().loc, "positional-only parameters are not supported in kernels");
    Param param;
    param.loc = peek().loc;
    param.name = expectName("a parameter name");
    if (!seen.insert(param.name).second)
      fail(param.loc, "duplicate parameter '" + param.name + "'");
    if (acceptOp(":"))
      param.annotation = parseExpression();
    if (acceptOp("=")) {
      param.defaultValue = parseExpression();
      sawDefault = true;
    } else if (sawDefault) {
      fail(param.loc, "parameter without a default follows parameter with a default");
    }
    function.params.push_back(std::move(param));
    if (!acceptOp(","))
      break;
  }
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

// expression (',' expression)* [','] — a bare tuple when there is a comma.
ExprPtr Parser::parseExpressionList() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseExpression();
  if (!atOp(","))
    return first;
  auto tuple = makeExpr(ExprKind::Tuple, start);
  tuple->operands.push_back(std::move(first));
  while (acceptOp(",") && startsExpression(peek()))
    tuple->operands.push_back(parseExpression());
  return tuple;
}

// The targets of a for loop. They stop below comparisons so that the 'in' of
// the loop is not read as a membership test.
ExprPtr Parser::parseTargetList() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseBinary(0);
  ExprPtr targets;
  if (!atOp(",")) {
    targets = std::move(first);
  } else {
    targets = makeExpr(ExprKind::Tuple, start);
    targets->operands.push_back(std::move(first));
    while (acceptOp(",") && startsExpression(peek()))
      targets->operands.push_back(parseBinary(0));
  }
  checkAssignable(*targets);
  return targets;
}

// disjunction ['if' disjunction 'else' expression]
ExprPtr Parser::parseExpression() {
  DepthGuard guard(*this);
  if (atKeyword("lambda"))
    unsupported(peek());
  SourceLoc start = peek().loc;
  ExprPtr body = parseOr();
  if (!acceptKeyword("if"))
    return body;
  ExprPtr condition = parseOr();
  expectKeyword("else", "in conditional expression");
  ExprPtr orelse = parseExpression();
  auto ifExp = makeExpr(ExprKind::IfExp, start);
  ifExp->operands.push_back(std::move(condition));
  ifExp->operands.push_back(std::move(body));
  ifExp->operands.push_back(std::move(orelse));
  return ifExp;
}

ExprPtr Parser::parseOr() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseAnd();
  if (!atKeyword("or"))
    return first;
  auto boolOp = makeExpr(ExprKind::BoolOp, start);
  boolOp->boolOp = BoolOpKind::Or;
  boolOp->operands.push_back(std::move(first));
  while (acceptKeyword("or"))
    boolOp->operands.push_back(parseAnd());
  return boolOp;
}

ExprPtr Parser::parseAnd() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseNot();
  if (!atKeyword("and"))
    return first;
  auto boolOp = makeExpr(ExprKind::BoolOp, start);
  boolOp->boolOp = BoolOpKind::And;
  boolOp->operands.push_back(std::move(first));
  while (acceptKeyword("and"))
    boolOp->operands.push_back(parseNot());
  return boolOp;
}

ExprPtr Parser::parseNot() {
  if (!atKeyword("not"))
    return parseComparison();
  DepthGuard guard(*this);
  const Token &keyword = advance();
  auto unary = makeExpr(ExprKind::UnaryOp, keyword.loc);
  unary->unaryOp = UnaryOpKind::Not;
  unary->operands.push_back(parseNot());
  return unary;
}

// a < b <= c is one Compare with two operators, as in Python.
ExprPtr Parser::parseComparison() {
  SourceLoc start = peek().loc;
  ExprPtr first = parseBinary(0);
  CmpOpKind op;
  if (!acceptCompareOp(op))
    return first;
  auto compare = makeExpr(ExprKind::Compare, start);
  compare->operands.push_back(std::move(first));
  do {
    compare->cmpOps.push_back(op);
    compare->operands.push_back(parseBinary(0));
  } while (acceptCompareOp(op));
  return compare;
}

bool Parser::acceptCompareOp(CmpOpKind &op) {
  static const std::pair<const char *, CmpOpKind> kSymbols[] = {
      {"<", CmpOpKind::Lt},  {"<=", CmpOpKind::Le}, {">", CmpOpKind::Gt},
      {">=", CmpOpKind::Ge}, {"==", CmpOpKind::Eq}, {"!=", CmpOpKind::Ne},
  };
  for (const auto &[spelling, kind] : kSymbols) {
    if (acceptOp(spelling)) {
      op = kind;
      return true;
    }
  }
  if (acceptKeyword("in")) {
    op = CmpOpKind::In;
    return true;
  }
  if (atKeyword("not") && peek(1).isKeyword("in")) {
    advance();
    advance();
    op = CmpOpKind::NotIn;
    return true;
  }
  if (acceptKeyword("is")) {
    op = acceptKeyword("not") ? CmpOpKind::IsNot : CmpOpKind::Is;
    return true;
  }
  return false;
}

// Left-associative binary operators of kBinaryLevels[level] and tighter.
ExprPtr Parser::parseBinary(size_t level) {
  if (level == kBinaryLevels.size())
    return parseFactor();
  SourceLoc start = peek().loc;
  ExprPtr left = parseBinary(level + 1);
  // a + b + c + ... nests to the left: every walk of the tree recurses once
  // per operator, so a long chain is as deep as as many parentheses.
  for (int chain = 0;; ++chain) {
    const BinaryOperator *matched = nullptr;
    for (const BinaryOperator &op : kBinaryLevels[level])
      if (atOp(op.spelling))
        matched = &op;
    if (!matched)
      return left;
    if (depth_ + chain >= kMaxNesting)
      fail(peek().loc, "expression is too deeply nested");
    advance();
    auto binary = makeExpr(ExprKind::BinOp, start);
    binary->binOp = matched->kind;
    binary->operands.push_back(std::move(left));
    binary->operands.push_back(parseBinary(level + 1));
    left = std::move(binary);
  }
}

// Unary + - ~ bind looser than ** on their right: -2**2 is -(2**2).
ExprPtr Parser::parseFactor() {
  UnaryOpKind kind;
  if (atOp("-"))
    kind = UnaryOpKind::Neg;
  else if (atOp("+"))
    kind = UnaryOpKind::Pos;
  else if (atOp("~"))
    kind = UnaryOpKind::Invert;
  else
    return parsePower();
  DepthGuard guard(*this);
  const Token &op = advance();
  auto unary = makeExpr(ExprKind::UnaryOp, op.loc);
  unary->unaryOp = kind;
  unary->operands.push_back(parseFactor());
  return unary;
}

// primary ['**' factor]: right-associative through parseFactor.
ExprPtr Parser::parsePower() {
  SourceLoc start = peek().loc;
  ExprPtr base = parsePrimary();
  if (!acceptOp("**"))
    return base;
  auto power = makeExpr(ExprKind::BinOp, start);
  power->binOp = BinOpKind::Pow;
  power->operands.push_back(std::move(base));
  power->operands.push_back(parseFactor());
  return power;
}

// atom followed by .name, (args) and [indices]; every trailer's node is
// located at the start of the atom.
ExprPtr Parser::parsePrimary() {
  SourceLoc start = peek().loc;
  ExprPtr expr = parseAtom();
  while (true) {
    if (acceptOp(".")) {
      auto attribute = makeExpr(ExprKind::Attribute, start);
      attribute->name = expectName("an attribute name after '.'");
      attribute->value = std::move(expr);
      expr = std::move(attribute);
    } else if (atOp("(")) {
      expr = parseCall(std::move(expr), start);
    } else if (atOp("[")) {
      expr = parseSubscript(std::move(expr), start);
    } else {
      return expr;
    }
  }
}

ExprPtr Parser::parseCall(ExprPtr callee, SourceLoc start) {
  advance(); // (
  auto call = makeExpr(ExprKind::Call, start);
  call->value = std::move(callee);
  std::set<std::string> keywordNames;
  while (!atOp(")")) {
    if (atOp("*") || atOp("**"))
      fail(peek().loc, "star arguments are not supported");
    if (at(TokenKind::Name) && peek(1).isOp("=")) {
      Keyword keyword;
      keyword.loc = peek().loc;
      keyword.name = advance().text;
      advance(); // =
      if (!keywordNames.insert(keyword.name).second)
        fail(keyword.loc, "keyword argument repeated: '" + keyword.name + "'");
      keyword.value = parseExpression();
      call->keywords.push_back(std::move(keyword));
    } else {
      ExprPtr argument = parseExpression();
      if (atKeyword("for"))
        fail(peek().loc, "generator expressions are not supported in kernels");
      if (atOp("="))
        fail(argument->loc, "expression cannot be a keyword argument name; "
                            "did you mean '=='?");
      if (!call->keywords.empty())
        fail(argument->loc, "positional argument follows keyword argument");
      call->operands.push_back(std::move(argument));
    }
    if (!acceptOp(","))
      break;
  }
  expectOp(")", "after call arguments");
  return call;
}

// base[index, ...] with one operand per comma-separated index.
ExprPtr Parser::parseSubscript(ExprPtr base, SourceLoc start) {
  advance(); // [
  auto subscript = makeExpr(ExprKind::Subscript, start);
  subscript->value = std::move(base);
  if (atOp("]"))
    failExpected("an index or slice");
  do {
    if (atOp("]"))
      break; // trailing comma
    subscript->operands.push_back(parseIndex());
  } while (acceptOp(","));
  expectOp("]", "after subscript");
  return subscript;
}

// expression, or a slice [lower] ':' [upper] [':' [step]].
ExprPtr Parser::parseIndex() {
  SourceLoc start = peek().loc;
  ExprPtr lower;
  if (!atOp(":")) {
    lower = parseExpression();
    if (!atOp(":"))
      return lower;
  }
  advance(); // :
  auto slice = makeExpr(ExprKind::Slice, start);
  slice->operands.resize(3);
  slice->operands[0] = std::move(lower);
  auto endsPart = [&] { return atOp(":") || atOp(",") || atOp("]"); };
  if (!endsPart())
    slice->operands[1] = parseExpression();
  if (acceptOp(":") && !atOp(",") && !atOp("]"))
    slice->operands[2] = parseExpression();
  return slice;
}

ExprPtr Parser::parseAtom() {
  const Token &token = peek();
  switch (token.kind) {
  case TokenKind::Name: {
    if (token.text == "await" || token.text == "async")
      unsupported(token);
    advance();
    auto name = makeExpr(ExprKind::Name, token.loc);
    name->name = token.text;
    return name;
  }
  case TokenKind::Int: {
    advance();
    auto literal = makeExpr(ExprKind::Int, token.loc);
    literal->intValue = token.intValue;
    return literal;
  }
  case TokenKind::Float: {
    advance();
    auto literal = makeExpr(ExprKind::Float, token.loc);
    literal->floatValue = token.floatValue;
    return literal;
  }
  case TokenKind::String: return parseStrings();
  case TokenKind::Keyword:
    if (token.text == "None") {
      advance();
      return makeExpr(ExprKind::None, token.loc);
    }
    if (token.text == "True" || token.text == "False") {
      advance();
      auto literal = makeExpr(ExprKind::Bool, token.loc);
      literal->boolValue = token.text == "True";
      return literal;
    }
    if (token.text == "lambda" || token.text == "yield")
      unsupported(token);
    break;
  case TokenKind::Op:
    if (token.text == "(")
      return parseParenthesized();
    if (token.text == "[")
      return parseList();
    if (token.text == "{")
      fail(token.loc, "dict and set displays are not supported in kernels");
    if (token.text == "...")
      fail(token.loc, "'...' (Ellipsis) is not supported in kernels");
    if (token.text == "*" || token.text == "**")
      fail(token.loc, "starred expressions are not supported in kernels");
    break;
  default: break;
  }
  failExpected("an expression");
}

// Adjacent literals are one string: "a" "b" == "ab".
ExprPtr Parser::parseStrings() {
  auto string = makeExpr(ExprKind::String, peek().loc);
  while (at(TokenKind::String))
    string->name += advance().value;
  return string;
}

// () is the empty tuple, (a) is a, (a,) and (a, b) are tuples.
ExprPtr Parser::parseParenthesized() {
  const Token &open = advance();
  auto tuple = makeExpr(ExprKind::Tuple, open.loc);
  if (acceptOp(")"))
    return tuple;
  if (atKeyword("yield"))
    unsupported(peek());
  ExprPtr first = parseExpression();
  if (atKeyword("for"))
    fail(peek().loc, "generator expressions are not supported in kernels");
  if (!atOp(",")) {
    expectOp(")", "after parenthesized expression");
    return first;
  }
  tuple->operands.push_back(std::move(first));
  while (acceptOp(",") && !atOp(")"))
    tuple->operands.push_back(parseExpression());
  expectOp(")", "after tuple elements");
  return tuple;
}

ExprPtr Parser::parseList() {
  const Token &open = advance();
  auto list = makeExpr(ExprKind::List, open.loc);
  while (!atOp("]")) {
    list->operands.push_back(parseExpression());
    if (atKeyword("for"))
      fail(peek().loc, "list comprehensions are not supported in kernels");
    if (!acceptOp(","))
      break;
  }
  expectOp("]", "after list elements");
  return list;
}

// ---------------------------------------------------------------------------
// Debug dump: S-expressions, one statement per line, nested bodies indented.
// ---------------------------------------------------------------------------

class AstDumper {
public:
  std::string dumpModule(const Module &module) {
    for (const StmtPtr &stmt : module.body) {
      dumpStmt(*stmt, 0);
      out_ += '\n';
    }
    return std::move(out_);
  }

private:
  // A missing optional operand (slice bounds, parameter parts) prints as "_".
  void dumpExpr(const Expr *expr) {
    if (!expr) {
      out_ += '_';
      return;
    }
    switch (expr->kind) {
    case ExprKind::Name: out_ += "(Name " + expr->name + ")"; return;
    case ExprKind::Int: out_ += "(Int " + std::to_string(expr->intValue) + ")"; return;
    case ExprKind::Float: out_ += "(Float " + formatFloat(expr->floatValue) + ")"; return;
    case ExprKind::Bool: out_ += expr->boolValue ? "(Bool True)" : "(Bool False)"; return;
    case ExprKind::None: out_ += "(None)"; return;
    case ExprKind::String: out_ += "(String " + quote(expr->name) + ")"; return;
    case ExprKind::Attribute:
      out_ += "(Attribute ";
      dumpExpr(expr->value.get());
      out_ += " " + expr->name + ")";
      return;
    case ExprKind::Call:
      out_ += "(Call ";
      dumpExpr(expr->value.get());
      dumpOperands(*expr);
      for (const Keyword &keyword : expr->keywords) {
        out_ += " (kw " + keyword.name + " ";
        dumpExpr(keyword.value.get());
        out_ += ")";
      }
      out_ += ")";
      return;
    case ExprKind::BinOp:
      out_ += std::string("(BinOp ") + spelling(expr->binOp);
      dumpOperands(*expr);
      out_ += ")";
      return;
    case ExprKind::UnaryOp:
      out_ += std::string("(UnaryOp ") + spelling(expr->unaryOp);
      dumpOperands(*expr);
      out_ += ")";
      return;
    case ExprKind::Compare:
      out_ += "(Compare ";
      dumpExpr(expr->operands[0].get());
      for (size_t i = 0; i < expr->cmpOps.size(); ++i) {
        out_ += std::string(" ") + spelling(expr->cmpOps[i]) + " ";
        dumpExpr(expr->operands[i + 1].get());
      }
      out_ += ")";
      return;
    case ExprKind::BoolOp:
      out_ += expr->boolOp == BoolOpKind::And ? "(BoolOp and" : "(BoolOp or";
      dumpOperands(*expr);
      out_ += ")";
      return;
    case ExprKind::Subscript:
      out_ += "(Subscript ";
      dumpExpr(expr->value.get());
      dumpOperands(*expr);
      out_ += ")";
      return;
    case ExprKind::Tuple: out_ += "(Tuple"; break;
    case ExprKind::List: out_ += "(List"; break;
    case ExprKind::IfExp: out_ += "(IfExp"; break;
    case ExprKind::Slice: out_ += "(Slice"; break;
    }
    dumpOperands(*expr);
    out_ += ")";
  }

  void dumpOperands(const Expr &expr) {
    for (const ExprPtr &operand : expr.operands) {
      out_ += ' ';
      dumpExpr(operand.get());
    }
  }

  void dumpOptional(const Expr *expr) {
    if (expr) {
      out_ += ' ';
      dumpExpr(expr);
    }
  }

  void dumpStmt(const Stmt &stmt, int indent) {
    out_ += std::string(indent, ' ');
    switch (stmt.kind) {
    case StmtKind::Expr: out_ += "(Expr"; break;
    case StmtKind::Assign: out_ += "(Assign"; break;
    case StmtKind::AugAssign: out_ += std::string("(AugAssign ") + spelling(stmt.augOp) + "="; break;
    case StmtKind::AnnAssign: out_ += "(AnnAssign"; break;
    case StmtKind::If: out_ += "(If"; break;
    case StmtKind::For: out_ += "(For"; break;
    case StmtKind::While: out_ += "(While"; break;
    case StmtKind::Return: out_ += "(Return"; break;
    case StmtKind::Pass: out_ += "(Pass"; break;
    case StmtKind::Break: out_ += "(Break"; break;
    case StmtKind::Continue: out_ += "(Continue"; break;
    case StmtKind::Assert: out_ += "(Assert"; break;
    case StmtKind::FunctionDef: dumpFunctionHeader(stmt); break;
    case StmtKind::Import: dumpImport(stmt); break;
    }
    for (const ExprPtr &target : stmt.targets)
      dumpOptional(target.get());
    dumpOptional(stmt.annotation.get());
    dumpOptional(stmt.value.get());
    dumpOptional(stmt.msg.get());
    dumpBody(stmt.body, indent + 2);
    if (!stmt.orelse.empty()) {
      out_ += '\n' + std::string(indent + 2, ' ') + "(else";
      dumpBody(stmt.orelse, indent + 4);
      out_ += ')';
    }
    out_ += ')';
  }

  void dumpBody(const std::vector<StmtPtr> &body, int indent) {
    for (const StmtPtr &stmt : body) {
      out_ += '\n';
      dumpStmt(*stmt, indent);
    }
  }

  void dumpFunctionHeader(const Stmt &stmt) {
    out_ += "(FunctionDef " + stmt.name;
    if (!stmt.decorators.empty()) {
      out_ += " (decorators";
      for (const ExprPtr &decorator : stmt.decorators)
        dumpOptional(decorator.get());
      out_ += ')';
    }
    out_ += " (params";
    for (const Param &param : stmt.params) {
      out_ += " (Param " + param.name + " ";
      dumpExpr(param.annotation.get());
      out_ += ' ';
      dumpExpr(param.defaultValue.get());
      out_ += ')';
    }
    out_ += ')';
    if (stmt.returns) {
      out_ += " (returns ";
      dumpExpr(stmt.returns.get());
      out_ += ')';
    }
  }

  void dumpImport(const Stmt &stmt) {
    out_ += "(Import";
    if (!stmt.importModule.empty())
      out_ += " from " + stmt.importModule;
    for (const ImportName &imported : stmt.importNames) {
      out_ += " (" + imported.name;
      if (!imported.alias.empty())
        out_ += " as " + imported.alias;
      out_ += ')';
    }
  }

  // Shortest text that reads back as the same double.
  static std::string formatFloat(double value) {
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
  }

  static std::string quote(const std::string &text) {
    std::string quoted = "\"";
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        quoted += '\\';
        quoted += static_cast<char>(c);
      } else if (c == '\n') {
        quoted += "\\n";
      } else if (c == '\t') {
        quoted += "\\t";
      } else if (c < 0x20 || c == 0x7F) {
        char escape[8];
        std::snprintf(escape, sizeof escape, "\\x%02x", c);
        quoted += escape;
      } else {
        quoted += static_cast<char>(c);
      }
    }
    return quoted + "\"";
  }

  std::string out_;
};

} // namespace

std::unique_ptr<Module> parseModule(SourceFilePtr source) {
  if (!source)
    throw std::invalid_argument("parseModule: null source");
  return Parser(std::move(source)).parseModule();
}

std::string dumpAst(const Module &module) {
  return AstDumper().dumpModule(module);
}

const char *spelling(BinOpKind op) {
  switch (op) {
  case BinOpKind::Add: return "+";
  case BinOpKind::Sub: return "-";
  case BinOpKind::Mul: return "*";
  case BinOpKind::Div: return "/";
  case BinOpKind::FloorDiv: return "//";
  case BinOpKind::Mod: return "%";
  case BinOpKind::Pow: return "**";
  case BinOpKind::LShift: return "<<";
  case BinOpKind::RShift: return ">>";
  case BinOpKind::BitAnd: return "&";
  case BinOpKind::BitOr: return "|";
  case BinOpKind::BitXor: return "^";
  case BinOpKind::MatMul: return "@";
  }
  return "?";
}

const char *spelling(UnaryOpKind op) {
  switch (op) {
  case UnaryOpKind::Neg: return "-";
  case UnaryOpKind::Pos: return "+";
  case UnaryOpKind::Not: return "not";
  case UnaryOpKind::Invert: return "~";
  }
  return "?";
}

const char *spelling(CmpOpKind op) {
  switch (op) {
  case CmpOpKind::Lt: return "<";
  case CmpOpKind::Le: return "<=";
  case CmpOpKind::Gt: return ">";
  case CmpOpKind::Ge: return ">=";
  case CmpOpKind::Eq: return "==";
  case CmpOpKind::Ne: return "!=";
  case CmpOpKind::Is: return "is";
  case CmpOpKind::IsNot: return "is not";
  case CmpOpKind::In: return "in";
  case CmpOpKind::NotIn: return "not in";
  }
  return "?";
}

} // namespace terrazzo::dsl
