// The kernel library's DSL sources (kernels/*.py), compiled into
// libterrazzo.so so the library works wherever the .so is copied.
#pragma once

#include <string>
#include <vector>

namespace terrazzo::library {

struct EmbeddedSource {
  const char *filename; // e.g. "flash_attention.py"
  const char *text;
};

// Every kernels/*.py file, as it was at build time.
const std::vector<EmbeddedSource> &embeddedSources();

} // namespace terrazzo::library
