// Tokenizer for the kernel language; see Lexer.h. The rules are Python's (the
// language reference's "Lexical analysis" chapter); anything a kernel cannot
// use is still recognised here when that gives a clearer error later.
#include "Lexer.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

namespace terrazzo::dsl {
namespace {

// CPython's limits; they also bound the parser's recursion.
constexpr size_t kMaxBracketDepth = 200;
constexpr size_t kMaxIndentDepth = 100;
constexpr int kTabSize = 8;

const char *const kKeywords[] = {
    "def",   "return", "if",     "elif",   "else",     "for",    "in",
    "while", "break",  "continue", "pass", "and",      "or",     "not",
    "is",    "None",   "True",   "False",  "import",   "from",   "as",
    "assert", "lambda", "global", "nonlocal", "with",  "class",  "yield",
    "try",   "except", "raise",  "del",
};

// Longest operators first, so that matching in order finds the longest one.
const char *const kOperators[] = {
    "**=", "//=", ">>=", "<<=", "...", //
    "**", "//", "<<", ">>", "->", ":=", "+=", "-=", "*=", "/=", "%=", "&=",
    "|=", "^=", "@=", "==", "!=", "<=", ">=", //
    "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")",
    "[", "]", "{", "}", ",", ":", ".", ";", "=",
};

bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentStart(char c) { return isAsciiLetter(c) || c == '_'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

int digitValue(char c) {
  if (isDigit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return 99;
}

bool isKeyword(std::string_view word) {
  for (const char *keyword : kKeywords)
    if (word == keyword)
      return true;
  return false;
}

// The leading whitespace of the first line with code on it. A function taken
// from a class or from another function (inspect.getsource) comes indented:
// every logical line of it starts with this prefix, which is not part of the
// program. Unlike textwrap.dedent this tolerates continuation lines and string
// contents that are indented less.
std::string_view baseIndentation(std::string_view text) {
  size_t lineStart = 0;
  while (lineStart < text.size()) {
    size_t indentEnd = lineStart;
    while (indentEnd < text.size() && isBlank(text[indentEnd]))
      ++indentEnd;
    std::string_view rest = text.substr(indentEnd);
    bool blank = rest.empty() || rest[0] == '#' || rest[0] == '\n' ||
                 rest.substr(0, 2) == "\r\n";
    if (!blank)
      return text.substr(lineStart, indentEnd - lineStart);
    size_t lineEnd = text.find('\n', indentEnd);
    if (lineEnd == std::string_view::npos)
      break;
    lineStart = lineEnd + 1;
  }
  return {};
}

// Column reached by indentation `whitespace` with tab stops every `tabSize`.
int indentColumns(std::string_view whitespace, int tabSize) {
  int col = 0;
  for (char c : whitespace) {
    if (c == '\t')
      col = (col / tabSize + 1) * tabSize;
    else if (c == '\f')
      col = 0; // as in CPython: a form feed resets the count
    else
      ++col;
  }
  return col;
}

void appendUtf8(std::string &out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

struct OpenBracket {
  char bracket;
  SourceLoc loc;
};

class Lexer {
public:
  explicit Lexer(const SourceFile &file)
      : file_(file), text_(file.text()),
        baseIndent_(baseIndentation(file.text())) {
    lastTokenEnd_ = locAt(0);
  }

  std::vector<Token> run();

private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool atEnd() const { return pos_ >= text_.size(); }
  size_t newlineLength(size_t at) const {
    if (at < text_.size() && text_[at] == '\n')
      return 1;
    if (at + 1 < text_.size() && text_[at] == '\r' && text_[at + 1] == '\n')
      return 2;
    return 0;
  }
  // Call after consuming a line break.
  void startPhysicalLine() {
    ++line_;
    lineStart_ = pos_;
  }
  SourceLoc locAt(size_t offset) const {
    return {line_ + file_.lineOffset(), static_cast<int>(offset - lineStart_) + 1};
  }
  SourceLoc here() const { return locAt(pos_); }
  [[noreturn]] void fail(SourceLoc loc, const std::string &message) const {
    throw DslError(&file_, loc, message);
  }

  void startLogicalLine();
  void applyIndentation(int col, int altCol);
  void lexContinuation();
  void lexToken();
  void lexName();
  void lexNumber();
  void lexRadixInteger(SourceLoc start, size_t begin);
  void scanDigits(std::string &out, int base);
  size_t stringPrefixLength() const;
  void lexString(size_t prefixLength);
  void lexEscape(std::string &value, bool raw, bool bytes);
  bool lexOperator();
  [[noreturn]] void invalidCharacter();

  void emit(Token token);
  void emitSynthetic(TokenKind kind, SourceLoc loc);
  void emitNewline();
  void finish();

  const SourceFile &file_;
  std::string_view text_;
  std::string_view baseIndent_;
  size_t pos_ = 0;
  int line_ = 1;          // physical line of pos_, 1-based, without lineOffset
  size_t lineStart_ = 0;  // offset of that line's first character
  bool atLineStart_ = true;
  bool lineHasTokens_ = false; // the current logical line needs a NEWLINE
  SourceLoc lastTokenEnd_;
  // Indentation columns with tabs to multiples of 8 and with tabs as one
  // column: when the two orders disagree the meaning depends on tab width.
  std::vector<int> indents_{0};
  std::vector<int> altIndents_{0};
  std::vector<OpenBracket> brackets_;
  std::vector<Token> tokens_;
};

std::vector<Token> Lexer::run() {
  while (true) {
    if (atLineStart_ && brackets_.empty())
      startLogicalLine();
    atLineStart_ = false;
    while (!atEnd() && isBlank(peek()))
      ++pos_;
    if (atEnd())
      break;
    if (peek() == '#') {
      while (!atEnd() && !newlineLength(pos_))
        ++pos_;
      continue;
    }
    if (size_t length = newlineLength(pos_)) {
      if (lineHasTokens_ && brackets_.empty())
        emitNewline();
      pos_ += length;
      startPhysicalLine();
      atLineStart_ = true;
      continue;
    }
    if (peek() == '\\') {
      lexContinuation();
      continue;
    }
    lexToken();
  }
  finish();
  return std::move(tokens_);
}

// Skips blank and comment-only lines, then turns the indentation of the next
// line into INDENT/DEDENT tokens.
void Lexer::startLogicalLine() {
  while (true) {
    size_t indentEnd = pos_;
    while (indentEnd < text_.size() && isBlank(text_[indentEnd]))
      ++indentEnd;
    std::string_view indentation = text_.substr(pos_, indentEnd - pos_);
    pos_ = indentEnd;
    if (peek() == '#')
      while (!atEnd() && !newlineLength(pos_))
        ++pos_;
    if (atEnd())
      return;
    if (size_t length = newlineLength(pos_)) {
      pos_ += length;
      startPhysicalLine();
      continue;
    }
    if (indentation.substr(0, baseIndent_.size()) != baseIndent_)
      fail(here(), indentColumns(indentation, kTabSize) <
                           indentColumns(baseIndent_, kTabSize)
                       ? "unindent does not match any outer indentation level"
                       : "inconsistent use of tabs and spaces in indentation");
    indentation.remove_prefix(baseIndent_.size());
    applyIndentation(indentColumns(indentation, kTabSize),
                     indentColumns(indentation, 1));
    return;
  }
}

void Lexer::applyIndentation(int col, int altCol) {
  SourceLoc loc = here();
  const char *inconsistent = "inconsistent use of tabs and spaces in indentation";
  if (col > indents_.back()) {
    if (altCol <= altIndents_.back())
      fail(loc, inconsistent);
    if (indents_.size() > kMaxIndentDepth)
      fail(loc, "too many levels of indentation");
    indents_.push_back(col);
    altIndents_.push_back(altCol);
    emitSynthetic(TokenKind::Indent, loc);
    return;
  }
  while (col < indents_.back()) {
    indents_.pop_back();
    altIndents_.pop_back();
    emitSynthetic(TokenKind::Dedent, loc);
  }
  if (col != indents_.back())
    fail(loc, "unindent does not match any outer indentation level");
  if (altCol != altIndents_.back())
    fail(loc, inconsistent);
}

void Lexer::lexContinuation() {
  SourceLoc backslash = here();
  ++pos_;
  if (atEnd())
    fail(backslash, "unexpected end of file after line continuation character");
  size_t length = newlineLength(pos_);
  if (!length)
    fail(backslash, "unexpected character after line continuation character");
  pos_ += length;
  startPhysicalLine();
}

void Lexer::lexToken() {
  char c = peek();
  if (isIdentStart(c)) {
    if (size_t prefixLength = stringPrefixLength())
      lexString(prefixLength);
    else
      lexName();
  } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
    lexNumber();
  } else if (c == '\'' || c == '"') {
    lexString(0);
  } else if (!lexOperator()) {
    invalidCharacter();
  }
}

void Lexer::lexName() {
  size_t begin = pos_;
  while (!atEnd() && isIdentChar(peek()))
    ++pos_;
  Token token{TokenKind::Name, locAt(begin)};
  token.text = std::string(text_.substr(begin, pos_ - begin));
  if (isKeyword(token.text))
    token.kind = TokenKind::Keyword;
  emit(std::move(token));
}

// Appends the digits of `base` starting at pos_, dropping single underscores
// between digits (1_000). A stray underscore stops the scan; the caller then
// rejects it as part of an invalid literal.
void Lexer::scanDigits(std::string &out, int base) {
  while (true) {
    if (digitValue(peek()) < base) {
      out += peek();
      ++pos_;
    } else if (peek() == '_' && digitValue(peek(1)) < base) {
      ++pos_;
    } else {
      return;
    }
  }
}

void Lexer::lexRadixInteger(SourceLoc start, size_t begin) {
  char marker = static_cast<char>(peek(1) | 0x20);
  int base = marker == 'x' ? 16 : marker == 'o' ? 8 : 2;
  std::string what = base == 16  ? "invalid hexadecimal literal"
                     : base == 8 ? "invalid octal literal"
                                 : "invalid binary literal";
  pos_ += 2;
  if (peek() == '_') // 0x_ff is allowed
    ++pos_;
  std::string digits;
  scanDigits(digits, base);
  if (digits.empty() || isIdentChar(peek()))
    fail(start, what);
  uint64_t value = 0;
  for (char digit : digits) {
    uint64_t d = digitValue(digit);
    if (value > (std::numeric_limits<int64_t>::max() - d) / base)
      fail(start, "integer literal is too large for a 64-bit integer");
    value = value * base + d;
  }
  Token token{TokenKind::Int, start};
  token.text = std::string(text_.substr(begin, pos_ - begin));
  token.intValue = static_cast<int64_t>(value);
  emit(std::move(token));
}

void Lexer::lexNumber() {
  SourceLoc start = here();
  size_t begin = pos_;
  if (peek() == '0' && peek(1) != '\0' && std::strchr("xXoObB", peek(1))) {
    lexRadixInteger(start, begin);
    return;
  }
  std::string digits; // the literal without underscores, for conversion
  bool isFloat = false;
  scanDigits(digits, 10);
  if (peek() == '.') {
    isFloat = true;
    digits += '.';
    ++pos_;
    scanDigits(digits, 10);
  }
  if (peek() == 'e' || peek() == 'E') {
    size_t signLength = (peek(1) == '+' || peek(1) == '-') ? 1 : 0;
    if (!isDigit(peek(1 + signLength)))
      fail(start, "invalid decimal literal");
    isFloat = true;
    digits += 'e';
    if (signLength)
      digits += peek(1);
    pos_ += 1 + signLength;
    scanDigits(digits, 10);
  }
  if (peek() == 'j' || peek() == 'J')
    fail(start, "complex literals are not supported in kernels");
  if (isIdentChar(peek()))
    fail(start, "invalid decimal literal");

  Token token{isFloat ? TokenKind::Float : TokenKind::Int, start};
  token.text = std::string(text_.substr(begin, pos_ - begin));
  if (isFloat) {
    const char *first = digits.data();
    const char *last = first + digits.size();
    auto [end, error] = std::from_chars(first, last, token.floatValue);
    // from_chars leaves the value alone when it over- or underflows; strtod
    // gives Python's answer (inf, or 0 / a denormal) there.
    if (error == std::errc::result_out_of_range || end != last)
      token.floatValue = std::strtod(digits.c_str(), nullptr);
  } else {
    if (digits.size() > 1 && digits[0] == '0' &&
        digits.find_first_not_of('0') != std::string::npos)
      fail(start, "leading zeros in decimal integer literals are not "
                  "permitted; use an 0o prefix for octal integers");
    uint64_t value = 0;
    for (char digit : digits) {
      uint64_t d = digit - '0';
      if (value > (std::numeric_limits<int64_t>::max() - d) / 10)
        fail(start, "integer literal is too large for a 64-bit integer");
      value = value * 10 + d;
    }
    token.intValue = static_cast<int64_t>(value);
  }
  emit(std::move(token));
}

// Length of a string prefix (r, b, u, f and their pairs, any case) at pos_ if
// a quote follows it, else 0.
size_t Lexer::stringPrefixLength() const {
  std::string prefix;
  size_t length = 0;
  while (length < 3 && isAsciiLetter(peek(length))) {
    prefix += static_cast<char>(peek(length) | 0x20);
    ++length;
  }
  if (length == 0 || length > 2 || (peek(length) != '\'' && peek(length) != '"'))
    return 0;
  static const char *const kPrefixes[] = {"r", "b", "u", "f", "rb", "br", "fr", "rf"};
  for (const char *valid : kPrefixes)
    if (prefix == valid)
      return length;
  return 0;
}

void Lexer::lexString(size_t prefixLength) {
  SourceLoc start = here();
  size_t begin = pos_;
  bool raw = false, bytes = false;
  for (size_t i = 0; i < prefixLength; ++i) {
    char c = static_cast<char>(peek(i) | 0x20);
    raw |= c == 'r';
    bytes |= c == 'b';
    if (c == 'f')
      fail(start, "f-strings are not supported in kernels");
  }
  pos_ += prefixLength;
  char quote = peek();
  bool triple = peek(1) == quote && peek(2) == quote;
  pos_ += triple ? 3 : 1;
  const char *unterminated = triple ? "unterminated triple-quoted string literal"
                                    : "unterminated string literal";
  std::string value;
  while (true) {
    if (atEnd())
      fail(start, unterminated);
    char c = peek();
    if (c == quote) {
      if (!triple) {
        ++pos_;
        break;
      }
      if (peek(1) == quote && peek(2) == quote) {
        pos_ += 3;
        break;
      }
      value += c;
      ++pos_;
    } else if (size_t length = newlineLength(pos_)) {
      if (!triple)
        fail(start, unterminated);
      value += '\n';
      pos_ += length;
      startPhysicalLine();
    } else if (c == '\\') {
      lexEscape(value, raw, bytes);
    } else {
      if (bytes && static_cast<unsigned char>(c) >= 0x80)
        fail(here(), "bytes literals can only contain ASCII characters");
      value += c;
      ++pos_;
    }
  }
  Token token{TokenKind::String, start};
  token.text = std::string(text_.substr(begin, pos_ - begin));
  token.value = std::move(value);
  emit(std::move(token));
}

// Decodes the escape sequence at pos_ (a backslash) into `value`.
void Lexer::lexEscape(std::string &value, bool raw, bool bytes) {
  SourceLoc loc = here();
  ++pos_;
  if (atEnd())
    return; // the string loop reports the missing quote
  if (size_t length = newlineLength(pos_)) {
    if (raw)
      value += "\\\n"; // a raw string keeps the backslash and the line break
    pos_ += length;
    startPhysicalLine();
    return;
  }
  char c = peek();
  ++pos_;
  if (raw) {
    // The backslash stays, but still keeps the next character (a quote) from
    // ending the string.
    value += '\\';
    value += c;
    return;
  }
  auto appendCode = [&](uint32_t code) {
    if (bytes)
      value += static_cast<char>(code & 0xFF);
    else
      appendUtf8(value, code);
  };
  auto readHex = [&](int count) -> uint32_t {
    uint32_t code = 0;
    for (int i = 0; i < count; ++i) {
      int d = digitValue(peek());
      if (d >= 16)
        fail(loc, std::string("truncated \\") + c + " escape");
      code = code * 16 + d;
      ++pos_;
    }
    return code;
  };
  switch (c) {
  case '\\': value += '\\'; return;
  case '\'': value += '\''; return;
  case '"': value += '"'; return;
  case 'a': value += '\a'; return;
  case 'b': value += '\b'; return;
  case 'f': value += '\f'; return;
  case 'n': value += '\n'; return;
  case 'r': value += '\r'; return;
  case 't': value += '\t'; return;
  case 'v': value += '\v'; return;
  case 'x': appendCode(readHex(2)); return;
  default: break;
  }
  if (c >= '0' && c <= '7') {
    uint32_t code = c - '0';
    for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i, ++pos_)
      code = code * 8 + (peek() - '0');
    appendCode(code);
    return;
  }
  if (!bytes && (c == 'u' || c == 'U')) {
    uint32_t code = readHex(c == 'u' ? 4 : 8);
    if (code > 0x10FFFF)
      fail(loc, "illegal Unicode character in \\U escape");
    appendUtf8(value, code);
    return;
  }
  if (!bytes && c == 'N')
    fail(loc, "\\N{...} escapes are not supported in kernels");
  // Unknown escapes stay as written, as in Python.
  value += '\\';
  value += c;
}

bool Lexer::lexOperator() {
  for (const char *op : kOperators) {
    size_t length = std::strlen(op);
    if (text_.compare(pos_, length, op) != 0)
      continue;
    SourceLoc loc = here();
    char c = op[0];
    if (length == 1 && (c == '(' || c == '[' || c == '{')) {
      if (brackets_.size() >= kMaxBracketDepth)
        fail(loc, "too many nested parentheses");
      brackets_.push_back({c, loc});
    } else if (length == 1 && (c == ')' || c == ']' || c == '}')) {
      if (brackets_.empty())
        fail(loc, std::string("unmatched '") + c + "'");
      char open = brackets_.back().bracket;
      char expected = open == '(' ? ')' : open == '[' ? ']' : '}';
      if (c != expected)
        fail(loc, std::string("closing parenthesis '") + c +
                      "' does not match opening parenthesis '" + open + "'");
      brackets_.pop_back();
    }
    pos_ += length;
    Token token{TokenKind::Op, loc};
    token.text = op;
    emit(std::move(token));
    return true;
  }
  return false;
}

void Lexer::invalidCharacter() {
  unsigned char c = static_cast<unsigned char>(peek());
  if (c >= 0x80)
    fail(here(), "invalid non-ASCII character; only strings and comments may "
                 "contain them");
  if (c < 0x20 || c == 0x7F) {
    char code[8];
    std::snprintf(code, sizeof code, "%04X", c);
    fail(here(), std::string("invalid non-printable character U+") + code);
  }
  fail(here(), std::string("invalid character '") + static_cast<char>(c) + "'");
}

void Lexer::emit(Token token) {
  lastTokenEnd_ = here();
  lineHasTokens_ = true;
  tokens_.push_back(std::move(token));
}

void Lexer::emitSynthetic(TokenKind kind, SourceLoc loc) {
  tokens_.push_back(Token{kind, loc});
}

// NEWLINE sits just past the line's last token, which is where a missing ':'
// or ')' would have gone.
void Lexer::emitNewline() {
  emitSynthetic(TokenKind::Newline, lastTokenEnd_);
  lineHasTokens_ = false;
}

void Lexer::finish() {
  if (!brackets_.empty())
    fail(brackets_.back().loc,
         std::string("'") + brackets_.back().bracket + "' was never closed");
  if (lineHasTokens_)
    emitNewline();
  while (indents_.size() > 1) {
    indents_.pop_back();
    emitSynthetic(TokenKind::Dedent, lastTokenEnd_);
  }
  emitSynthetic(TokenKind::EndOfFile, lastTokenEnd_);
}

} // namespace

std::vector<Token> tokenize(const SourceFile &file) {
  return Lexer(file).run();
}

std::string describeToken(const Token &token) {
  switch (token.kind) {
  case TokenKind::Name: return "name '" + token.text + "'";
  case TokenKind::Keyword: return "'" + token.text + "'";
  case TokenKind::Int:
  case TokenKind::Float: return "number '" + token.text + "'";
  case TokenKind::String: return "string literal";
  case TokenKind::Op: return "'" + token.text + "'";
  case TokenKind::Newline: return "NEWLINE";
  case TokenKind::Indent: return "INDENT";
  case TokenKind::Dedent: return "DEDENT";
  case TokenKind::EndOfFile: return "end of file";
  }
  return "token";
}

} // namespace terrazzo::dsl
