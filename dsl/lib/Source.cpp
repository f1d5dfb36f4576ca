// Line table of a source file and the caret-style rendering of diagnostics.
#include "terrazzo/dsl/Source.h"

namespace terrazzo::dsl {

SourceFile::SourceFile(std::string filename, std::string text, int lineOffset)
    : filename_(std::move(filename)), text_(std::move(text)),
      lineOffset_(lineOffset) {
  // Every '\n' starts a new line, so "a\n" has two lines: "a" and "". That
  // way a location just past the last newline still names an existing line.
  lineStarts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n')
      lineStarts_.push_back(i + 1);
}

std::string SourceFile::lineText(int line) const {
  long index = static_cast<long>(line) - lineOffset_ - 1;
  if (index < 0 || index >= static_cast<long>(lineStarts_.size()))
    return "";
  size_t begin = lineStarts_[index];
  size_t end = index + 1 < static_cast<long>(lineStarts_.size())
                   ? lineStarts_[index + 1] - 1
                   : text_.size();
  if (end > begin && text_[end - 1] == '\r')
    --end; // CRLF files: the '\r' is part of the line break, not the line
  return text_.substr(begin, end - begin);
}

namespace {

bool hasLine(const SourceFile &file, int line) {
  long index = static_cast<long>(line) - file.lineOffset() - 1;
  if (index < 0)
    return false;
  long newlines = 0;
  for (char c : file.text())
    newlines += c == '\n';
  return index <= newlines;
}

// Whitespace that puts the caret under column `col` of `lineText` when printed
// below it: tabs stay tabs so terminals expand both lines alike, and the
// continuation bytes of UTF-8 sequences take no room of their own.
std::string caretPrefix(const std::string &lineText, int col) {
  std::string prefix;
  for (int i = 0; i + 1 < col; ++i) {
    if (i >= static_cast<int>(lineText.size())) {
      prefix += ' ';
      continue;
    }
    unsigned char c = lineText[i];
    if (c == '\t')
      prefix += '\t';
    else if ((c & 0xC0) != 0x80)
      prefix += ' ';
  }
  return prefix;
}

} // namespace

// A NUL byte would end the diagnostic wherever it is read as a C string
// (what(), the Python exception): echo it as U+2400, one column wide. Both
// the source line and the message (a static_assert's text, a string the
// kernel wrote) may hold one.
static std::string showNul(const std::string &text) {
  std::string shown;
  for (char c : text)
    shown += c == '\0' ? std::string("\xE2\x90\x80") : std::string(1, c);
  return shown;
}

std::string formatDiagnostic(const SourceFile *file, SourceLoc loc,
                             const std::string &message,
                             const char *severity) {
  std::string out = file ? file->filename() : std::string("<unknown>");
  if (loc.valid())
    out += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
  out += ": ";
  out += severity;
  out += ": " + showNul(message) + "\n";
  if (file && loc.valid() && hasLine(*file, loc.line)) {
    std::string text = file->lineText(loc.line);
    out += showNul(text) + "\n";
    out += caretPrefix(text, loc.col) + "^\n";
  }
  return out;
}

DslError::DslError(const SourceFile *file, SourceLoc loc,
                   const std::string &message)
    : std::runtime_error(formatDiagnostic(file, loc, message)), loc_(loc),
      message_(message), filename_(file ? file->filename() : std::string()) {}

} // namespace terrazzo::dsl
