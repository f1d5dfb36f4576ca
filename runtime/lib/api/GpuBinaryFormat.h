// The on-disk form of a compiled GPU kernel (the payload of a DiskCache
// entry; the cache checks integrity, this checks the layout).
#pragma once

#include "terrazzo/Pipeline/GpuPipeline.h"

#include <optional>
#include <string>
#include <string_view>

namespace terrazzo {
std::string encodeGpuBinary(const pipeline::GpuBinary &bin);
// nullopt for anything that is not a complete encoding of this version.
std::optional<pipeline::GpuBinary> decodeGpuBinary(std::string_view data);
} // namespace terrazzo
