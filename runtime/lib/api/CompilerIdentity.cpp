// The compiler's identity in on-disk cache keys (KernelImpl.h).
#include "KernelImpl.h"

#include "SourceHash.h"

namespace terrazzo {

const char *compilerIdentity() { return TERRAZZO_SOURCE_HASH; }

} // namespace terrazzo
