// Source text of a kernel and the diagnostics that point into it.
//
// Every frontend error is a DslError: it carries the file, 1-based line and
// column, and renders the offending source line with a caret under the column,
// the way compilers for the host language do, so users see where they went
// wrong without reading MLIR.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace terrazzo::dsl {

struct SourceLoc {
  int line = 0; // 1-based line within the file (lineOffset already applied)
  int col = 0;  // 1-based column
  bool valid() const { return line > 0; }
};

// A piece of source code. `lineOffset` lets a function extracted from a larger
// file (Python's inspect.getsource) report lines as they are in that file.
class SourceFile {
public:
  SourceFile(std::string filename, std::string text, int lineOffset = 0);

  const std::string &filename() const { return filename_; }
  const std::string &text() const { return text_; }
  int lineOffset() const { return lineOffset_; }
  // Text of a line as numbered in diagnostics (i.e. lineOffset applied),
  // without its newline; empty if out of range.
  std::string lineText(int line) const;

private:
  std::string filename_;
  std::string text_;
  int lineOffset_;
  std::vector<size_t> lineStarts_;
};

using SourceFilePtr = std::shared_ptr<const SourceFile>;

// Renders "file:line:col: error: message\n    <source line>\n    ^".
std::string formatDiagnostic(const SourceFile *file, SourceLoc loc,
                             const std::string &message,
                             const char *severity = "error");

// The one exception type the frontend throws for bad user input. Exported
// from libterrazzo.so so callers can catch it across the library boundary.
class __attribute__((visibility("default"))) DslError : public std::runtime_error {
public:
  DslError(const SourceFile *file, SourceLoc loc, const std::string &message);
  SourceLoc loc() const { return loc_; }
  const std::string &message() const { return message_; }
  const std::string &filename() const { return filename_; }

private:
  SourceLoc loc_;
  std::string message_;
  std::string filename_;
};

} // namespace terrazzo::dsl
