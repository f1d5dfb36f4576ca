// Unit tests of the kernel-language frontend's syntax half: diagnostics,
// tokenizer and parser (checked through dumpAst), plus a mutation fuzz test
// that every malformed input ends in a DslError pointing into the text.
#include "Lexer.h"
#include "terrazzo/dsl/AST.h"
#include "terrazzo/dsl/Source.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace terrazzo::dsl;

namespace {

SourceFilePtr makeSource(const std::string &text, int lineOffset = 0) {
  return std::make_shared<SourceFile>("kernel.py", text, lineOffset);
}

std::string dump(const std::string &text) {
  return dumpAst(*parseModule(makeSource(text)));
}

// The dump of a single expression, parsed as an expression statement.
std::string dumpExpr(const std::string &expr) {
  std::string full = dump(expr + "\n");
  const std::string prefix = "(Expr ";
  EXPECT_EQ(full.compare(0, prefix.size(), prefix), 0) << full;
  EXPECT_EQ(full.substr(full.size() - 2), ")\n") << full;
  return full.substr(prefix.size(), full.size() - prefix.size() - 2);
}

struct Failure {
  SourceLoc loc;
  std::string message;
  std::string rendered;
};

// Parses `text`, which must be rejected with a DslError.
Failure parseFailure(const std::string &text, int lineOffset = 0) {
  try {
    parseModule(makeSource(text, lineOffset));
  } catch (const DslError &error) {
    return {error.loc(), error.message(), error.what()};
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}

#define EXPECT_PARSE_ERROR(text, line_, col_, messageFragment)                 \
  do {                                                                         \
    Failure failure = parseFailure(text);                                      \
    EXPECT_EQ(failure.loc.line, line_) << failure.rendered;                    \
    EXPECT_EQ(failure.loc.col, col_) << failure.rendered;                      \
    EXPECT_NE(failure.message.find(messageFragment), std::string::npos)        \
        << failure.rendered;                                                   \
  } while (0)

std::vector<Token> lex(const std::string &text) {
  SourceFile file("kernel.py", text);
  return tokenize(file);
}

// Token kinds and spellings in a compact form: names/ops as spelled, plus
// NL / IN / DE / EOF for the synthetic tokens.
std::string tokenSummary(const std::string &text) {
  std::string out;
  for (const Token &token : lex(text)) {
    if (!out.empty())
      out += ' ';
    switch (token.kind) {
    case TokenKind::Newline: out += "NL"; break;
    case TokenKind::Indent: out += "IN"; break;
    case TokenKind::Dedent: out += "DE"; break;
    case TokenKind::EndOfFile: out += "EOF"; break;
    default: out += token.text;
    }
  }
  return out;
}

const char *const kVectorAdd = R"(import terrazzo as tz


@tz.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr = 128):
    """Adds two vectors."""
    pid = tz.program_id(axis=0)
    offsets = pid * BLOCK + tz.arange(0, BLOCK)
    mask = offsets < n
    x = tz.load(x_ptr + offsets, mask=mask, other=0.0)
    y = tz.load(y_ptr + offsets, mask=mask)
    tz.store(out_ptr + offsets, x + y, mask=mask)
)";

} // namespace

// ---------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------

TEST(SourceTest, LineTextAppliesLineOffset) {
  SourceFile file("a.py", "one\ntwo\r\nthree", 10);
  EXPECT_EQ(file.lineText(11), "one");
  EXPECT_EQ(file.lineText(12), "two");
  EXPECT_EQ(file.lineText(13), "three");
  EXPECT_EQ(file.lineText(10), "");
  EXPECT_EQ(file.lineText(14), "");
  EXPECT_EQ(file.lineText(-5), "");
}

TEST(SourceTest, CaretRendering) {
  SourceFile file("k.py", "def f(x):\n    return x $ 1\n");
  EXPECT_EQ(formatDiagnostic(&file, {2, 14}, "invalid character '$'"),
            "k.py:2:14: error: invalid character '$'\n"
            "    return x $ 1\n"
            "             ^\n");
  EXPECT_EQ(formatDiagnostic(&file, {1, 1}, "note text", "note"),
            "k.py:1:1: note: note text\ndef f(x):\n^\n");
}

TEST(SourceTest, CaretKeepsTabsAndSkipsUtf8ContinuationBytes) {
  SourceFile file("k.py", "if a:\n\tb = 'é' + $\n");
  // '$' is byte 13 of the line: tab, "b = '", two bytes of é, "' + ".
  EXPECT_EQ(formatDiagnostic(&file, {2, 13}, "m"),
            "k.py:2:13: error: m\n\tb = 'é' + $\n\t" + std::string(10, ' ') + "^\n");
}

TEST(SourceTest, UnknownLineRendersOnlyTheHeader) {
  SourceFile file("k.py", "x = 1\n");
  EXPECT_EQ(formatDiagnostic(&file, {99, 3}, "m"), "k.py:99:3: error: m\n");
  EXPECT_EQ(formatDiagnostic(&file, {}, "m"), "k.py: error: m\n");
  EXPECT_EQ(formatDiagnostic(nullptr, {1, 1}, "m"), "<unknown>:1:1: error: m\n");
}

TEST(SourceTest, DslErrorCarriesLocationAndRenderedText) {
  SourceFile file("k.py", "x = 1\n");
  DslError error(&file, {1, 5}, "bad");
  EXPECT_EQ(error.loc().line, 1);
  EXPECT_EQ(error.loc().col, 5);
  EXPECT_EQ(error.message(), "bad");
  EXPECT_EQ(error.filename(), "k.py");
  EXPECT_STREQ(error.what(), "k.py:1:5: error: bad\nx = 1\n    ^\n");
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

TEST(LexerTest, IndentAndDedent) {
  EXPECT_EQ(tokenSummary("if a:\n    b\n    if c:\n        d\ne\n"),
            "if a : NL IN b NL if c : NL IN d NL DE DE e NL EOF");
}

TEST(LexerTest, DedentsAtEndOfFileWithoutNewline) {
  EXPECT_EQ(tokenSummary("if a:\n  if b:\n    c"),
            "if a : NL IN if b : NL IN c NL DE DE EOF");
}

TEST(LexerTest, BlankLinesAndCommentsDoNotAffectIndentation) {
  EXPECT_EQ(tokenSummary("if a:  # comment\n\n    b\n  # odd comment\n\n    c\n"),
            "if a : NL IN b NL c NL DE EOF");
}

TEST(LexerTest, ImplicitLineJoiningInsideBrackets) {
  EXPECT_EQ(tokenSummary("x = f(1,\n  2,\n        [3,\n4], {5:\n6})\ny\n"),
            "x = f ( 1 , 2 , [ 3 , 4 ] , { 5 : 6 } ) NL y NL EOF");
}

TEST(LexerTest, BackslashContinuation) {
  EXPECT_EQ(tokenSummary("x = 1 + \\\n        2\ny\n"), "x = 1 + 2 NL y NL EOF");
}

TEST(LexerTest, CrLfLineEndings) {
  EXPECT_EQ(tokenSummary("if a:\r\n    b\r\n"), "if a : NL IN b NL DE EOF");
}

TEST(LexerTest, TabsIndentToMultiplesOfEight) {
  EXPECT_EQ(tokenSummary("if a:\n\tif b:\n\t    c\n\td\n"),
            "if a : NL IN if b : NL IN c NL DE d NL DE EOF");
}

TEST(LexerTest, TabsAndSpacesThatDependOnTabWidthAreRejected) {
  EXPECT_PARSE_ERROR("if a:\n\tb\n        c\n", 3, 9,
                     "inconsistent use of tabs and spaces in indentation");
}

TEST(LexerTest, InconsistentDedent) {
  EXPECT_PARSE_ERROR("if a:\n    b\n  c\n", 3, 3,
                     "unindent does not match any outer indentation level");
}

TEST(LexerTest, KeywordsAndNames) {
  std::vector<Token> tokens = lex("def define None none is_ lambda\n");
  ASSERT_GE(tokens.size(), 6u);
  EXPECT_EQ(tokens[0].kind, TokenKind::Keyword);
  EXPECT_EQ(tokens[1].kind, TokenKind::Name);
  EXPECT_EQ(tokens[2].kind, TokenKind::Keyword);
  EXPECT_EQ(tokens[3].kind, TokenKind::Name);
  EXPECT_EQ(tokens[4].kind, TokenKind::Name);
  EXPECT_EQ(tokens[5].kind, TokenKind::Keyword);
}

TEST(LexerTest, IntegerLiterals) {
  std::vector<Token> tokens = lex("0 42 1_000 0x_Ff 0o17 0b1010 00 9223372036854775807\n");
  std::vector<int64_t> expected = {0, 42, 1000, 255, 15, 10, 0, INT64_MAX};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(tokens[i].kind, TokenKind::Int) << i;
    EXPECT_EQ(tokens[i].intValue, expected[i]) << i;
  }
}

TEST(LexerTest, FloatLiterals) {
  std::vector<Token> tokens = lex("1.0 1. .5 1e-3 1.5E+3 1_0.2_5 1e400\n");
  std::vector<double> expected = {1.0, 1.0, 0.5, 1e-3, 1.5e3, 10.25, HUGE_VAL};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(tokens[i].kind, TokenKind::Float) << i;
    EXPECT_EQ(tokens[i].floatValue, expected[i]) << i;
  }
}

TEST(LexerTest, InvalidNumbers) {
  EXPECT_PARSE_ERROR("x = 1__0\n", 1, 5, "invalid decimal literal");
  EXPECT_PARSE_ERROR("x = 1_\n", 1, 5, "invalid decimal literal");
  EXPECT_PARSE_ERROR("x = 0x\n", 1, 5, "invalid hexadecimal literal");
  EXPECT_PARSE_ERROR("x = 0b102\n", 1, 5, "invalid binary literal");
  EXPECT_PARSE_ERROR("x = 012\n", 1, 5, "leading zeros");
  EXPECT_PARSE_ERROR("x = 1e\n", 1, 5, "invalid decimal literal");
  EXPECT_PARSE_ERROR("x = 12abc\n", 1, 5, "invalid decimal literal");
  EXPECT_PARSE_ERROR("x = 2j\n", 1, 5, "complex literals are not supported");
  EXPECT_PARSE_ERROR("x = 9223372036854775808\n", 1, 5, "too large");
}

TEST(LexerTest, StringLiterals) {
  std::vector<Token> tokens =
      lex("'a\\tb' \"q'\" r'\\n' b'\\x41' U'\\u00e9' '''x\n'y'\n''' Rb\"\\\"\"\n");
  std::vector<std::string> expected = {"a\tb", "q'", "\\n", "A", "\xc3\xa9", "x\n'y'\n", "\\\""};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(tokens[i].kind, TokenKind::String) << i;
    EXPECT_EQ(tokens[i].value, expected[i]) << i;
  }
  // The token after the triple-quoted string is on line 3.
  EXPECT_EQ(tokens[6].loc.line, 3);
  EXPECT_EQ(tokens[6].loc.col, 5);
}

TEST(LexerTest, StringErrors) {
  EXPECT_PARSE_ERROR("x = 'abc\ny = 1\n", 1, 5, "unterminated string literal");
  EXPECT_PARSE_ERROR("x = 1\ny = \"\"\"abc\n\n", 2, 5,
                     "unterminated triple-quoted string literal");
  EXPECT_PARSE_ERROR("x = f'{y}'\n", 1, 5, "f-strings are not supported in kernels");
  EXPECT_PARSE_ERROR("x = Rf'{y}'\n", 1, 5, "f-strings are not supported in kernels");
  EXPECT_PARSE_ERROR("x = '\\x4'\n", 1, 6, "truncated \\x escape");
}

TEST(LexerTest, AllOperators) {
  const std::string ops =
      "** // << >> -> := @ += -= *= /= //= %= **= &= |= ^= <<= >>= @= == != <= "
      ">= ... + - * / % & | ^ ~ < > ( ) [ ] { } , : . ; =";
  EXPECT_EQ(tokenSummary(ops + "\n"), ops + " NL EOF");
  // Longest match without spaces.
  EXPECT_EQ(tokenSummary("a**=b//c>>=d...\n"), "a **= b // c >>= d ... NL EOF");
}

TEST(LexerTest, BracketErrors) {
  EXPECT_PARSE_ERROR("x = (1 + 2))\n", 1, 12, "unmatched ')'");
  EXPECT_PARSE_ERROR("x = [1, 2)\n", 1, 10,
                     "closing parenthesis ')' does not match opening parenthesis '['");
  EXPECT_PARSE_ERROR("x = f(a,\n  [b\n", 2, 3, "'[' was never closed");
}

TEST(LexerTest, UnknownCharacters) {
  EXPECT_PARSE_ERROR("x = a $ b\n", 1, 7, "invalid character '$'");
  EXPECT_PARSE_ERROR("x = a ? b\n", 1, 7, "invalid character '?'");
  EXPECT_PARSE_ERROR("x = a ! b\n", 1, 7, "invalid character '!'");
  EXPECT_PARSE_ERROR("x = \x01\n", 1, 5, "non-printable character U+0001");
  EXPECT_PARSE_ERROR("\xc3\xa9 = 1\n", 1, 1, "non-ASCII");
  EXPECT_PARSE_ERROR("x = 1 \\ y\n", 1, 7, "unexpected character after line continuation");
}

TEST(LexerTest, CommentsAndStringsMayHoldNonAscii) {
  EXPECT_EQ(dump("x = 'é'  # déjà vu\n"), "(Assign (Name x) (String \"é\"))\n");
}

// ---------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------

TEST(ParserTest, VectorAddKernel) {
  EXPECT_EQ(dump(kVectorAdd),
            "(Import (terrazzo as tz))\n"
            "(FunctionDef add_kernel (decorators (Attribute (Name tz) jit)) "
            "(params (Param x_ptr _ _) (Param y_ptr _ _) (Param out_ptr _ _) "
            "(Param n _ _) (Param BLOCK (Attribute (Name tz) constexpr) (Int 128)))\n"
            "  (Expr (String \"Adds two vectors.\"))\n"
            "  (Assign (Name pid) (Call (Attribute (Name tz) program_id) (kw axis (Int 0))))\n"
            "  (Assign (Name offsets) (BinOp + (BinOp * (Name pid) (Name BLOCK)) "
            "(Call (Attribute (Name tz) arange) (Int 0) (Name BLOCK))))\n"
            "  (Assign (Name mask) (Compare (Name offsets) < (Name n)))\n"
            "  (Assign (Name x) (Call (Attribute (Name tz) load) (BinOp + (Name x_ptr) "
            "(Name offsets)) (kw mask (Name mask)) (kw other (Float 0))))\n"
            "  (Assign (Name y) (Call (Attribute (Name tz) load) (BinOp + (Name y_ptr) "
            "(Name offsets)) (kw mask (Name mask))))\n"
            "  (Expr (Call (Attribute (Name tz) store) (BinOp + (Name out_ptr) "
            "(Name offsets)) (BinOp + (Name x) (Name y)) (kw mask (Name mask)))))\n");
}

TEST(ParserTest, Assignments) {
  EXPECT_EQ(dump("x = a + 1\n"), "(Assign (Name x) (BinOp + (Name a) (Int 1)))\n");
  EXPECT_EQ(dump("a = b = 0\n"), "(Assign (Name a) (Name b) (Int 0))\n");
  EXPECT_EQ(dump("a, b = f()\n"),
            "(Assign (Tuple (Name a) (Name b)) (Call (Name f)))\n");
  EXPECT_EQ(dump("(a, b), c = x\n"),
            "(Assign (Tuple (Tuple (Name a) (Name b)) (Name c)) (Name x))\n");
  EXPECT_EQ(dump("[a, b] = 1, 2,\n"),
            "(Assign (List (Name a) (Name b)) (Tuple (Int 1) (Int 2)))\n");
  EXPECT_EQ(dump("x.y[i] = v\n"),
            "(Assign (Subscript (Attribute (Name x) y) (Name i)) (Name v))\n");
}

TEST(ParserTest, AugmentedAssignments) {
  const char *ops[] = {"+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "@"};
  for (const char *op : ops)
    EXPECT_EQ(dump(std::string("acc ") + op + "= x\n"),
              std::string("(AugAssign ") + op + "= (Name acc) (Name x))\n");
  EXPECT_EQ(dump("a[i] += 1, 2\n"),
            "(AugAssign += (Subscript (Name a) (Name i)) (Tuple (Int 1) (Int 2)))\n");
}

TEST(ParserTest, AnnotatedAssignments) {
  EXPECT_EQ(dump("x: tz.int32 = 0\n"),
            "(AnnAssign (Name x) (Attribute (Name tz) int32) (Int 0))\n");
  EXPECT_EQ(dump("x: int\n"), "(AnnAssign (Name x) (Name int))\n");
}

TEST(ParserTest, IfElifElse) {
  EXPECT_EQ(dump("if a:\n    x = 1\nelif b:\n    x = 2\nelif c:\n    pass\nelse:\n    x = 3\n"),
            "(If (Name a)\n"
            "  (Assign (Name x) (Int 1))\n"
            "  (else\n"
            "    (If (Name b)\n"
            "      (Assign (Name x) (Int 2))\n"
            "      (else\n"
            "        (If (Name c)\n"
            "          (Pass)\n"
            "          (else\n"
            "            (Assign (Name x) (Int 3))))))))\n");
}

TEST(ParserTest, ForAndWhile) {
  EXPECT_EQ(dump("for i in range(0, n, 2):\n    if i == 3:\n        continue\n    break\n"
                 "else:\n    done = True\n"),
            "(For (Name i) (Call (Name range) (Int 0) (Name n) (Int 2))\n"
            "  (If (Compare (Name i) == (Int 3))\n"
            "    (Continue))\n"
            "  (Break)\n"
            "  (else\n"
            "    (Assign (Name done) (Bool True))))\n");
  EXPECT_EQ(dump("for i, (j, k) in pairs:\n    pass\n"),
            "(For (Tuple (Name i) (Tuple (Name j) (Name k))) (Name pairs)\n  (Pass))\n");
  EXPECT_EQ(dump("for x in a, b:\n    pass\n"),
            "(For (Name x) (Tuple (Name a) (Name b))\n  (Pass))\n");
  EXPECT_EQ(dump("while k < n:\n    k += 1\n"),
            "(While (Compare (Name k) < (Name n))\n  (AugAssign += (Name k) (Int 1)))\n");
}

TEST(ParserTest, ReturnAssertPass) {
  EXPECT_EQ(dump("def f():\n    return\n"), "(FunctionDef f (params)\n  (Return))\n");
  EXPECT_EQ(dump("def f():\n    return a, b\n"),
            "(FunctionDef f (params)\n  (Return (Tuple (Name a) (Name b))))\n");
  EXPECT_EQ(dump("assert x > 0\n"), "(Assert (Compare (Name x) > (Int 0)))\n");
  EXPECT_EQ(dump("assert x, 'message'\n"), "(Assert (Name x) (String \"message\"))\n");
  EXPECT_EQ(dump("pass\n"), "(Pass)\n");
}

TEST(ParserTest, FunctionDefinitions) {
  EXPECT_EQ(dump("@tz.jit(num_warps=4)\n@other\ndef k(a, b: tz.constexpr, c=1, d: int = 2,) -> None:\n"
                 "    pass\n"),
            "(FunctionDef k (decorators (Call (Attribute (Name tz) jit) (kw num_warps (Int 4))) "
            "(Name other)) (params (Param a _ _) (Param b (Attribute (Name tz) constexpr) _) "
            "(Param c _ (Int 1)) (Param d (Name int) (Int 2))) (returns (None))\n"
            "  (Pass))\n");
  EXPECT_EQ(dump("def outer():\n    def inner(x):\n        return x\n    return inner\n"),
            "(FunctionDef outer (params)\n"
            "  (FunctionDef inner (params (Param x _ _))\n"
            "    (Return (Name x)))\n"
            "  (Return (Name inner)))\n");
}

TEST(ParserTest, FunctionDefinitionLocations) {
  auto module = parseModule(makeSource("@tz.jit\ndef k(a, b):\n    pass\n"));
  const Stmt &def = *module->body[0];
  EXPECT_EQ(def.loc.line, 2);
  EXPECT_EQ(def.loc.col, 1);
  EXPECT_EQ(def.decorators[0]->loc.line, 1);
  EXPECT_EQ(def.decorators[0]->loc.col, 2);
  EXPECT_EQ(def.params[1].loc.col, 10);
}

TEST(ParserTest, Imports) {
  EXPECT_EQ(dump("import triton.language as tl, math\n"),
            "(Import (triton.language as tl) (math))\n");
  EXPECT_EQ(dump("from terrazzo import jit as j, language\n"),
            "(Import from terrazzo (jit as j) (language))\n");
  EXPECT_EQ(dump("from a.b import (c,\n    d,)\n"), "(Import from a.b (c) (d))\n");
  EXPECT_EQ(dump("from .. import x\n"), "(Import from .. (x))\n");
  EXPECT_EQ(dump("from .m import x\n"), "(Import from .m (x))\n");
}

TEST(ParserTest, SimpleStatementsOnOneLine) {
  EXPECT_EQ(dump("a = 1; b = 2;\n"), "(Assign (Name a) (Int 1))\n(Assign (Name b) (Int 2))\n");
  EXPECT_EQ(dump("if x: y = 1; z = 2\nelse: pass\n"),
            "(If (Name x)\n"
            "  (Assign (Name y) (Int 1))\n"
            "  (Assign (Name z) (Int 2))\n"
            "  (else\n"
            "    (Pass)))\n");
  EXPECT_EQ(dump("while x: x -= 1\n"),
            "(While (Name x)\n  (AugAssign -= (Name x) (Int 1)))\n");
}

TEST(ParserTest, DocstringsAreExpressionStatements) {
  EXPECT_EQ(dump("def f():\n    '''Doc\n    string.'''\n    pass\n"),
            "(FunctionDef f (params)\n"
            "  (Expr (String \"Doc\\n    string.\"))\n"
            "  (Pass))\n");
}

TEST(ParserTest, EmptyAndCommentOnlyModules) {
  EXPECT_EQ(dump(""), "");
  EXPECT_EQ(dump("\n\n# nothing\n   \n"), "");
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

TEST(ParserTest, ArithmeticPrecedence) {
  EXPECT_EQ(dumpExpr("a + b * c"), "(BinOp + (Name a) (BinOp * (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("a - b - c"), "(BinOp - (BinOp - (Name a) (Name b)) (Name c))");
  EXPECT_EQ(dumpExpr("a // b % c @ d / e"),
            "(BinOp / (BinOp @ (BinOp % (BinOp // (Name a) (Name b)) (Name c)) (Name d)) (Name e))");
  EXPECT_EQ(dumpExpr("(a + b) * c"), "(BinOp * (BinOp + (Name a) (Name b)) (Name c))");
  EXPECT_EQ(dumpExpr("a << b + c"), "(BinOp << (Name a) (BinOp + (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("a & b << c"), "(BinOp & (Name a) (BinOp << (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("a ^ b & c"), "(BinOp ^ (Name a) (BinOp & (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("a | b ^ c"), "(BinOp | (Name a) (BinOp ^ (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("a | b < c"), "(Compare (BinOp | (Name a) (Name b)) < (Name c))");
}

TEST(ParserTest, PowerAndUnary) {
  EXPECT_EQ(dumpExpr("-2**2"), "(UnaryOp - (BinOp ** (Int 2) (Int 2)))");
  EXPECT_EQ(dumpExpr("2**-1"), "(BinOp ** (Int 2) (UnaryOp - (Int 1)))");
  EXPECT_EQ(dumpExpr("a**b**c"), "(BinOp ** (Name a) (BinOp ** (Name b) (Name c)))");
  EXPECT_EQ(dumpExpr("-a * b"), "(BinOp * (UnaryOp - (Name a)) (Name b))");
  EXPECT_EQ(dumpExpr("~+-x"), "(UnaryOp ~ (UnaryOp + (UnaryOp - (Name x))))");
  EXPECT_EQ(dumpExpr("x.y ** 2"), "(BinOp ** (Attribute (Name x) y) (Int 2))");
}

TEST(ParserTest, BooleanPrecedence) {
  EXPECT_EQ(dumpExpr("a or b and not c"),
            "(BoolOp or (Name a) (BoolOp and (Name b) (UnaryOp not (Name c))))");
  EXPECT_EQ(dumpExpr("a or b or c"), "(BoolOp or (Name a) (Name b) (Name c))");
  EXPECT_EQ(dumpExpr("not a == b"), "(UnaryOp not (Compare (Name a) == (Name b)))");
  EXPECT_EQ(dumpExpr("a if b or c else d"),
            "(IfExp (BoolOp or (Name b) (Name c)) (Name a) (Name d))");
  EXPECT_EQ(dumpExpr("a if b else c if d else e"),
            "(IfExp (Name b) (Name a) (IfExp (Name d) (Name c) (Name e)))");
}

TEST(ParserTest, ChainedComparisons) {
  EXPECT_EQ(dumpExpr("a < b <= c"), "(Compare (Name a) < (Name b) <= (Name c))");
  EXPECT_EQ(dumpExpr("a is not None"), "(Compare (Name a) is not (None))");
  EXPECT_EQ(dumpExpr("a not in b in c"), "(Compare (Name a) not in (Name b) in (Name c))");
  EXPECT_EQ(dumpExpr("a > b >= c == d != e is f"),
            "(Compare (Name a) > (Name b) >= (Name c) == (Name d) != (Name e) is (Name f))");
}

TEST(ParserTest, Subscripts) {
  EXPECT_EQ(dumpExpr("x[:, None]"), "(Subscript (Name x) (Slice _ _ _) (None))");
  EXPECT_EQ(dumpExpr("x[None, :]"), "(Subscript (Name x) (None) (Slice _ _ _))");
  EXPECT_EQ(dumpExpr("x[1:3]"), "(Subscript (Name x) (Slice (Int 1) (Int 3) _))");
  EXPECT_EQ(dumpExpr("x[::2]"), "(Subscript (Name x) (Slice _ _ (Int 2)))");
  EXPECT_EQ(dumpExpr("x[a:]"), "(Subscript (Name x) (Slice (Name a) _ _))");
  EXPECT_EQ(dumpExpr("x[:b:]"), "(Subscript (Name x) (Slice _ (Name b) _))");
  EXPECT_EQ(dumpExpr("x[i + 1, j]"),
            "(Subscript (Name x) (BinOp + (Name i) (Int 1)) (Name j))");
  EXPECT_EQ(dumpExpr("x[(i, j)]"), "(Subscript (Name x) (Tuple (Name i) (Name j)))");
  EXPECT_EQ(dumpExpr("x[i,]"), "(Subscript (Name x) (Name i))");
  EXPECT_EQ(dumpExpr("x[i][j]"), "(Subscript (Subscript (Name x) (Name i)) (Name j))");
}

TEST(ParserTest, Atoms) {
  EXPECT_EQ(dumpExpr("()"), "(Tuple)");
  EXPECT_EQ(dumpExpr("(a,)"), "(Tuple (Name a))");
  EXPECT_EQ(dumpExpr("(a)"), "(Name a)");
  EXPECT_EQ(dumpExpr("[]"), "(List)");
  EXPECT_EQ(dumpExpr("[a, [b],]"), "(List (Name a) (List (Name b)))");
  EXPECT_EQ(dumpExpr("a, b"), "(Tuple (Name a) (Name b))");
  EXPECT_EQ(dumpExpr("('a' \"b\"\n'''c''')"), "(String \"abc\")");
  EXPECT_EQ(dumpExpr("True, False, None"), "(Tuple (Bool True) (Bool False) (None))");
  EXPECT_EQ(dumpExpr("1.5e3, 0.1"), "(Tuple (Float 1500) (Float 0.1))");
  EXPECT_EQ(dumpExpr("f(a, b=2,)"), "(Call (Name f) (Name a) (kw b (Int 2)))");
  EXPECT_EQ(dumpExpr("f()()"), "(Call (Call (Name f)))");
}

TEST(ParserTest, ExpressionLocations) {
  auto module = parseModule(makeSource("y = (a + b) * f.g(c)[d]\n"));
  const Expr &mul = *module->body[0]->value;
  EXPECT_EQ(mul.kind, ExprKind::BinOp);
  EXPECT_EQ(mul.loc.col, 5); // at '(' of the left operand
  const Expr &subscript = *mul.operands[1];
  EXPECT_EQ(subscript.kind, ExprKind::Subscript);
  EXPECT_EQ(subscript.loc.col, 15);
  const Expr &call = *subscript.value;
  EXPECT_EQ(call.kind, ExprKind::Call);
  EXPECT_EQ(call.loc.col, 15); // the callee's start, not '('
  EXPECT_EQ(call.value->kind, ExprKind::Attribute);
  EXPECT_EQ(call.value->loc.col, 15); // the base's start, not '.'
  EXPECT_EQ(call.operands[0]->loc.col, 19);
  EXPECT_EQ(module->body[0]->targets[0]->loc.col, 1);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

TEST(ParserErrorTest, SyntaxErrorLocations) {
  EXPECT_PARSE_ERROR("if x\n    pass\n", 1, 5, "expected ':' after if condition, found NEWLINE");
  EXPECT_PARSE_ERROR("x = 1\n    y = 2\n", 2, 5, "unexpected indent");
  EXPECT_PARSE_ERROR("def f(x):\nreturn x\n", 2, 1,
                     "expected an indented block after function definition on line 1");
  EXPECT_PARSE_ERROR("x = (1 +)\n", 1, 9, "expected an expression, found ')'");
  EXPECT_PARSE_ERROR("x = 1 2\n", 1, 7, "expected end of line after statement, found number '2'");
  EXPECT_PARSE_ERROR("f(a b)\n", 1, 5, "expected ')' after call arguments, found name 'b'");
  EXPECT_PARSE_ERROR("x = a if b\n", 1, 11, "expected 'else' in conditional expression");
  EXPECT_PARSE_ERROR("for i range(3):\n    pass\n", 1, 7, "expected 'in' after for-loop target");
  EXPECT_PARSE_ERROR("def (x):\n    pass\n", 1, 5, "expected a function name after 'def', found '('");
  EXPECT_PARSE_ERROR("x = [1, 2\n", 1, 5, "'[' was never closed");
  EXPECT_PARSE_ERROR("x =\n", 1, 4, "expected an expression, found NEWLINE");
  EXPECT_PARSE_ERROR("if x:\n", 1, 6, "expected an indented block after 'if' statement on line 1");
  EXPECT_PARSE_ERROR("else:\n    pass\n", 1, 1, "invalid syntax");
  EXPECT_PARSE_ERROR("if a: if b: pass\n", 1, 7, "invalid syntax");
  EXPECT_PARSE_ERROR("x[]\n", 1, 3, "expected an index or slice, found ']'");
}

TEST(ParserErrorTest, InvalidTargets) {
  EXPECT_PARSE_ERROR("f() = 1\n", 1, 1, "cannot assign to function call");
  EXPECT_PARSE_ERROR("a, 1 = x\n", 1, 4, "cannot assign to literal");
  EXPECT_PARSE_ERROR("a + b += 1\n", 1, 1, "cannot use augmented assignment on expression");
  EXPECT_PARSE_ERROR("a, b: int = 1, 2\n", 1, 1, "only a single target");
  EXPECT_PARSE_ERROR("for f() in x:\n    pass\n", 1, 5, "cannot assign to function call");
}

TEST(ParserErrorTest, CallAndParameterRules) {
  EXPECT_PARSE_ERROR("f(*args)\n", 1, 3, "star arguments are not supported");
  EXPECT_PARSE_ERROR("f(a, **kw)\n", 1, 6, "star arguments are not supported");
  EXPECT_PARSE_ERROR("f(a=1, b)\n", 1, 8, "positional argument follows keyword argument");
  EXPECT_PARSE_ERROR("f(a=1, a=2)\n", 1, 8, "keyword argument repeated");
  EXPECT_PARSE_ERROR("def f(*a):\n    pass\n", 1, 7, "star parameters are not supported");
  EXPECT_PARSE_ERROR("def f(a=1, b):\n    pass\n", 1, 12, "parameter without a default");
  EXPECT_PARSE_ERROR("def f(a, a):\n    pass\n", 1, 10, "duplicate parameter 'a'");
}

TEST(ParserErrorTest, UnsupportedConstructs) {
  EXPECT_PARSE_ERROR("class A:\n    pass\n", 1, 1, "'class' is not supported in kernels");
  EXPECT_PARSE_ERROR("with a as b:\n    pass\n", 1, 1, "'with' is not supported in kernels");
  EXPECT_PARSE_ERROR("try:\n    pass\nexcept E:\n    pass\n", 1, 1, "'try' is not supported in kernels");
  EXPECT_PARSE_ERROR("def f():\n    yield 1\n", 2, 5, "'yield' is not supported in kernels");
  EXPECT_PARSE_ERROR("g = lambda x: x\n", 1, 5, "'lambda' is not supported in kernels");
  EXPECT_PARSE_ERROR("def f():\n    global g\n", 2, 5, "'global' is not supported in kernels");
  EXPECT_PARSE_ERROR("nonlocal g\n", 1, 1, "'nonlocal' is not supported in kernels");
  EXPECT_PARSE_ERROR("del x\n", 1, 1, "'del' is not supported in kernels");
  EXPECT_PARSE_ERROR("raise E\n", 1, 1, "'raise' is not supported in kernels");
  EXPECT_PARSE_ERROR("x = {1: 2}\n", 1, 5, "dict and set displays are not supported");
  EXPECT_PARSE_ERROR("x = [i for i in y]\n", 1, 8, "list comprehensions are not supported");
  EXPECT_PARSE_ERROR("x = f(i for i in y)\n", 1, 9, "generator expressions are not supported");
  EXPECT_PARSE_ERROR("if (n := 3) > 2:\n    pass\n", 1, 7, "':=') are not supported");
  EXPECT_PARSE_ERROR("x = await y\n", 1, 5, "'await' is not supported in kernels");
  EXPECT_PARSE_ERROR("async def f():\n    pass\n", 1, 1, "'async' is not supported in kernels");
  EXPECT_PARSE_ERROR("a, *b = c\n", 1, 4, "starred expressions are not supported");
  EXPECT_PARSE_ERROR("x = ...\n", 1, 5, "'...' (Ellipsis) is not supported");
  EXPECT_PARSE_ERROR("while a:\n    pass\nelse:\n    pass\n", 3, 1,
                     "'else' after a 'while' loop is not supported");
  EXPECT_PARSE_ERROR("from m import *\n", 1, 15, "'from ... import *' is not supported");
}

TEST(ParserErrorTest, BreakOutsideLoop) {
  EXPECT_PARSE_ERROR("break\n", 1, 1, "'break' outside loop");
  EXPECT_PARSE_ERROR("for i in r:\n    def f():\n        continue\n", 3, 9,
                     "'continue' outside loop");
}

TEST(ParserErrorTest, DeepNestingIsAnErrorNotACrash) {
  EXPECT_PARSE_ERROR("x = " + std::string(300, '(') + "1" + std::string(300, ')') + "\n",
                     1, 205, "too many nested parentheses");
  EXPECT_PARSE_ERROR("x = " + std::string(100000, '-') + "1\n", 1, 504,
                     "too deeply nested");
  std::string notChain;
  for (int i = 0; i < 2000; ++i)
    notChain += "not ";
  Failure failure = parseFailure("x = " + notChain + "y\n");
  EXPECT_NE(failure.message.find("too deeply nested"), std::string::npos);
}

TEST(ParserErrorTest, RenderedErrorHasCaret) {
  Failure failure = parseFailure("def f(x):\n    y = x +\n    return y\n");
  EXPECT_EQ(failure.rendered,
            "kernel.py:2:12: error: expected an expression, found NEWLINE\n"
            "    y = x +\n"
            "           ^\n");
}

// ---------------------------------------------------------------------------
// Function sources from inspect.getsource: indentation and line offsets
// ---------------------------------------------------------------------------

TEST(ParserSourceTest, IndentedFunctionKeepsOriginalColumns) {
  const std::string text = "    @tz.jit\n"
                           "    def kernel(x_ptr, n: tz.constexpr):\n"
                           "        pid = tz.program_id(0)\n"
                           "\n"
                           "        if pid < n:\n"
                           "            tz.store(x_ptr + pid, 1)\n";
  auto module = parseModule(makeSource(text));
  ASSERT_EQ(module->body.size(), 1u);
  const Stmt &def = *module->body[0];
  EXPECT_EQ(def.loc.col, 5);
  EXPECT_EQ(def.decorators[0]->loc.col, 6);
  EXPECT_EQ(def.params[1].loc.col, 23);
  const Stmt &assign = *def.body[0];
  EXPECT_EQ(assign.loc.line, 3);
  EXPECT_EQ(assign.loc.col, 9);
  EXPECT_EQ(assign.value->loc.col, 15);
  const Stmt &store = *def.body[1]->body[0];
  EXPECT_EQ(store.loc.line, 6);
  EXPECT_EQ(store.loc.col, 13);
  EXPECT_EQ(store.value->operands[0]->operands[1]->loc.col, 30);
}

TEST(ParserSourceTest, IndentedFunctionErrorsPointIntoTheOriginalText) {
  const std::string text = "\tdef kernel(x):\n"
                           "\t    y = x $ 2\n";
  Failure failure = parseFailure(text);
  EXPECT_EQ(failure.loc.line, 2);
  EXPECT_EQ(failure.loc.col, 12);
  EXPECT_EQ(failure.rendered,
            "kernel.py:2:12: error: invalid character '$'\n"
            "\t    y = x $ 2\n"
            "\t          ^\n");
}

TEST(ParserSourceTest, IndentationRelativeToTheFirstLine) {
  // The first line sets no indentation of its own; a deeper one is unexpected.
  EXPECT_PARSE_ERROR("    x = 1\n        y = 2\n", 2, 9, "unexpected indent");
  EXPECT_PARSE_ERROR("    x = 1\n  y = 2\n", 2, 3,
                     "unindent does not match any outer indentation level");
  EXPECT_PARSE_ERROR("        x = 1\n\ty = 2\n", 2, 2,
                     "inconsistent use of tabs and spaces in indentation");
}

TEST(ParserSourceTest, CommentsContinuationsAndStringsMayBeIndentedLess) {
  const std::string text = "    def kernel(x):\n"
                           "# a comment in column 0\n"
                           "        y = f(x,\n"
                           "x)\n"
                           "        s = '''\n"
                           "text'''\n"
                           "        return y\n";
  EXPECT_EQ(dump(text), "(FunctionDef kernel (params (Param x _ _))\n"
                        "  (Assign (Name y) (Call (Name f) (Name x) (Name x)))\n"
                        "  (Assign (Name s) (String \"\\ntext\"))\n"
                        "  (Return (Name y)))\n");
}

TEST(ParserSourceTest, LineOffsetIsApplied) {
  const std::string text = "def kernel(x):\n    return x +\n";
  Failure failure = parseFailure(text, 41);
  EXPECT_EQ(failure.loc.line, 43);
  EXPECT_EQ(failure.loc.col, 15);
  EXPECT_EQ(failure.rendered,
            "kernel.py:43:15: error: expected an expression, found NEWLINE\n"
            "    return x +\n"
            "              ^\n");
  auto module = parseModule(makeSource("\n\ndef k():\n    pass\n", 100));
  EXPECT_EQ(module->body[0]->loc.line, 103);
  EXPECT_EQ(module->body[0]->body[0]->loc.line, 104);
}

// ---------------------------------------------------------------------------
// Fuzz: mutated kernels either parse or fail with a DslError inside the text.
// ---------------------------------------------------------------------------

namespace {

const char *const kFuzzSeeds[] = {
    kVectorAdd,
    R"(    @tz.jit
    def matmul(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, BLOCK_M: tz.constexpr = 64):
        pid_m = tz.program_id(0)
        offs_m = pid_m * BLOCK_M + tz.arange(0, BLOCK_M)
        acc = tz.zeros((BLOCK_M, BLOCK_M), dtype=tz.float32)
        for k in range(0, K, BLOCK_M):
            a = tz.load(a_ptr + offs_m[:, None] * stride_am + k, mask=offs_m[:, None] < M)
            acc += tz.dot(a, a) if k > 0 else -a ** 2
        while K > 0 and not (M is None):
            K -= 1; M //= 2
        tz.store(c_ptr + offs_m[None, :], acc, mask=(offs_m < M) & (offs_m >= 0))
)",
    "def f(x, y: int = 0x1F) -> float:\n"
    "    '''doc'''\n"
    "    if x < y <= 3:\n"
    "        return 1.5e-3\n"
    "    elif x: pass\n"
    "    else:\n"
    "        assert y != 0, \"y\" 'z'\n"
    "    a, b = (x, y)\n"
    "    return [a, b][0:1:2], (), (a,), ~b << 2 | 3 ^ 4\n",
};

// Fragments that make interesting damage: brackets, quotes, indentation,
// keywords and operators.
const char *const kFuzzFragments[] = {
    "(", ")", "[", "]", "{", "}", ":", ",", ";", "'", "\"", "'''", "\\", "\n",
    "\n    ", "\t", "    ", "#", "if ", "else", "elif x:", "for ", " in ", "while ",
    "def ", "return", "lambda", "class ", "**", "//", "=", "==", "+=", ":=", "...",
    "@", "->", "None", "not ", " is not ", "0x", "1e", "1_", ".5", "f'", "r'", "\r\n",
    "\xc3\xa9", "$", "x[:, None]", "(((", ")))", "*", "yield ",
};

class Mutator {
public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  // Below n; computed from the raw engine output so the sequence is the same
  // on every standard library.
  size_t below(size_t n) { return n == 0 ? 0 : rng_() % n; }

  void mutate(std::string &text) {
    size_t size = text.size();
    switch (below(7)) {
    case 0: // delete a run of characters
      if (size)
        text.erase(below(size), 1 + below(4));
      break;
    case 1: // insert a random byte
      text.insert(below(size + 1), 1, static_cast<char>(below(128)));
      break;
    case 2: { // insert a fragment
      const char *fragment = kFuzzFragments[below(std::size(kFuzzFragments))];
      text.insert(below(size + 1), fragment);
      break;
    }
    case 3: // duplicate a range
      if (size) {
        size_t begin = below(size);
        std::string piece = text.substr(begin, 1 + below(20));
        text.insert(below(size + 1), piece);
      }
      break;
    case 4: // swap two characters
      if (size)
        std::swap(text[below(size)], text[below(size)]);
      break;
    case 5: // truncate
      text.resize(below(size + 1));
      break;
    case 6: { // swap two whitespace-separated words
      std::vector<std::pair<size_t, size_t>> words;
      for (size_t i = 0; i < size;) {
        while (i < size && (text[i] == ' ' || text[i] == '\n'))
          ++i;
        size_t begin = i;
        while (i < size && text[i] != ' ' && text[i] != '\n')
          ++i;
        if (i > begin)
          words.emplace_back(begin, i - begin);
      }
      if (words.size() >= 2) {
        auto a = words[below(words.size())], b = words[below(words.size())];
        if (a.first > b.first)
          std::swap(a, b);
        if (a.first != b.first) {
          std::string first = text.substr(a.first, a.second);
          std::string second = text.substr(b.first, b.second);
          text.replace(b.first, b.second, first);
          text.replace(a.first, a.second, second);
        }
      }
      break;
    }
    }
  }

private:
  std::mt19937 rng_;
};

bool locationIsInText(const SourceFile &file, SourceLoc loc) {
  int lines = 1;
  for (char c : file.text())
    lines += c == '\n';
  int first = file.lineOffset() + 1;
  if (loc.line < first || loc.line >= first + lines || loc.col < 1)
    return false;
  return loc.col <= static_cast<int>(file.lineText(loc.line).size()) + 1;
}

} // namespace

TEST(ParserFuzzTest, MutatedKernelsFailCleanly) {
  const int kIterationsPerSeed = 3000;
  int parsed = 0, rejected = 0;
  for (size_t seedIndex = 0; seedIndex < std::size(kFuzzSeeds); ++seedIndex) {
    Mutator mutator(static_cast<uint32_t>(1234 + seedIndex));
    for (int iteration = 0; iteration < kIterationsPerSeed; ++iteration) {
      std::string text = kFuzzSeeds[seedIndex];
      size_t mutations = 1 + mutator.below(4);
      for (size_t i = 0; i < mutations; ++i)
        mutator.mutate(text);
      auto source = std::make_shared<SourceFile>("fuzz.py", text, static_cast<int>(iteration % 3));
      try {
        auto module = parseModule(source);
        dumpAst(*module);
        ++parsed;
      } catch (const DslError &error) {
        ++rejected;
        ASSERT_TRUE(locationIsInText(*source, error.loc()))
            << "location " << error.loc().line << ":" << error.loc().col
            << " outside the text for seed " << seedIndex << " iteration "
            << iteration << ":\n" << text << "\n" << error.what();
        ASSERT_EQ(std::string(error.what()).rfind("fuzz.py:", 0), 0u);
      } catch (const std::exception &error) {
        FAIL() << "unexpected exception " << error.what() << " for:\n" << text;
      } catch (...) {
        FAIL() << "unexpected non-standard exception for:\n" << text;
      }
    }
  }
  // Both outcomes must be well represented for the test to mean anything.
  EXPECT_GT(parsed, 500);
  EXPECT_GT(rejected, 5000);
}
