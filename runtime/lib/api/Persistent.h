// What a persistent launch (GpuOptions::persistent) needs beyond a plain
// one, shared by the GPU launches and the interpreter: the kernel made
// persistent (tz-make-persistent) and the tile count of the launch grid.
// Private to runtime/lib/api.
#pragma once

#include "KernelImpl.h"

#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <cstdint>
#include <mutex>

namespace terrazzo {

// The tiles of `grid` (the product of its dimensions). Throws when the
// kernel's i32 tile loop could not count to it plus `programs`.
int64_t persistentTileCount(const std::array<int64_t, 3> &grid, int64_t programs);

// `spec`'s kernel after tz-make-persistent, made once (under `mutex`) and
// kept with the specialization. A kernel the pass refuses throws a DslError
// at the kernel source line the pass names.
mlir::ModuleOp persistentModule(Specialization &spec, std::mutex &mutex);

// Counts a persistent launch of `tiles` tiles on `programs` programs in
// persistentLaunchStats (none when the grid is empty).
void countPersistentLaunch(bool onGpu, int64_t programs, int64_t tiles);

} // namespace terrazzo
