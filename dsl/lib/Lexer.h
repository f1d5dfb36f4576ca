// Tokenizer for the kernel language, following Python's lexical rules: logical
// lines end in NEWLINE, indentation changes become INDENT/DEDENT, and line
// breaks inside brackets or after a backslash do not end a line.
#pragma once

#include "terrazzo/dsl/Source.h"

#include <cstdint>
#include <string>
#include <vector>

namespace terrazzo::dsl {

enum class TokenKind {
  Name,    // identifier that is not a keyword
  Keyword, // reserved word, including None/True/False
  Int,
  Float,
  String,  // one literal; adjacent literals are joined by the parser
  Op,      // operator or delimiter
  Newline, // end of a logical line
  Indent,
  Dedent,
  EndOfFile,
};

struct Token {
  TokenKind kind;
  SourceLoc loc;
  std::string text;   // spelling in the source (empty for synthetic tokens)
  std::string value;  // String: decoded contents
  int64_t intValue = 0;
  double floatValue = 0;

  Token(TokenKind kind, SourceLoc loc) : kind(kind), loc(loc) {}

  bool is(TokenKind k, const char *spelling) const {
    return kind == k && text == spelling;
  }
  bool isOp(const char *spelling) const { return is(TokenKind::Op, spelling); }
  bool isKeyword(const char *spelling) const {
    return is(TokenKind::Keyword, spelling);
  }
};

// Tokenizes the whole file; the result always ends with EndOfFile. The
// indentation of the first line of code is taken off every logical line (a
// function nested in a class or another function comes indented from
// inspect.getsource), while locations keep the columns of the original text.
// Throws DslError.
std::vector<Token> tokenize(const SourceFile &file);

// "NEWLINE", "end of file", "')'", "name 'x'", ... for "found ..." messages.
std::string describeToken(const Token &token);

} // namespace terrazzo::dsl
