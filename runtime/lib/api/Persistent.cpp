// The persistent kernel of a specialization and the tile count of a launch
// (see Persistent.h).
#include "Persistent.h"

#include "terrazzo/Dialect/Tz/Transforms/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <atomic>
#include <climits>
#include <optional>
#include <stdexcept>
#include <string>

namespace terrazzo {

namespace {
struct Counters {
  std::atomic<size_t> launches{0}, programs{0}, tiles{0};
};
Counters gpuCounters, interpretedCounters;
} // namespace

void countPersistentLaunch(bool onGpu, int64_t programs, int64_t tiles) {
  if (programs <= 0)
    return;
  Counters &c = onGpu ? gpuCounters : interpretedCounters;
  ++c.launches;
  c.programs += size_t(programs);
  c.tiles += size_t(tiles);
}

PersistentLaunchStats persistentLaunchStats() {
  PersistentLaunchStats s;
  s.gpuLaunches = gpuCounters.launches;
  s.gpuPrograms = gpuCounters.programs;
  s.gpuTiles = gpuCounters.tiles;
  s.interpretedLaunches = interpretedCounters.launches;
  s.interpretedPrograms = interpretedCounters.programs;
  s.interpretedTiles = interpretedCounters.tiles;
  return s;
}

int64_t persistentTileCount(const std::array<int64_t, 3> &grid, int64_t programs) {
  // The tile loop of the kernel counts in i32, one step of `programs` past
  // the last tile.
  const int64_t limit = INT32_MAX - programs;
  int64_t tiles = 1;
  for (int64_t g : grid) {
    if (g == 0)
      return 0;
    if (tiles > limit / g)
      throw std::invalid_argument("a persistent launch counts its tiles in 32 bits: the grid (" +
                                  std::to_string(grid[0]) + ", " + std::to_string(grid[1]) + ", " +
                                  std::to_string(grid[2]) + ") has more than " + std::to_string(limit));
    tiles *= g;
  }
  return tiles;
}

mlir::ModuleOp persistentModule(Specialization &spec, std::mutex &mutex) {
  std::lock_guard<std::mutex> lock(mutex);
  if (spec.persistent)
    return spec.persistent.get();
  mlir::OwningOpRef<mlir::ModuleOp> module(mlir::cast<mlir::ModuleOp>(spec.kernel.module.get()->clone()));
  std::optional<std::pair<mlir::Location, std::string>> firstError;
  mlir::ScopedDiagnosticHandler handler(module->getContext(), [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error && !firstError)
      firstError.emplace(d.getLocation(), d.str());
    return mlir::success();
  });
  mlir::PassManager pm(module->getContext());
  pm.addPass(tz::createTzMakePersistent());
  if (mlir::failed(pm.run(*module))) {
    if (firstError)
      throwAtSource(firstError->first, firstError->second, spec.kernel);
    throw std::runtime_error("tz-make-persistent failed on '" + spec.key + "'");
  }
  spec.persistent = std::move(module);
  return spec.persistent.get();
}

} // namespace terrazzo
