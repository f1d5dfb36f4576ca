// A content-addressed cache on disk for compiled kernels and autotuning
// results: one file per key, named after the SHA-256 of the key.
//
// The cache is an optimisation, so it never fails a compile: an entry that is
// truncated, corrupt, oversized, not a regular file (a FIFO never blocks a
// read) or belongs to another key is a miss (and a damaged one is deleted, to
// be rebuilt by the next put); a write that fails is dropped, and the cache
// works from memory. The first write failure, the first damaged entry and
// the first entry of another format version of a cache are reported once on
// stderr; counters let tests see every one.
// Entries are published atomically (written to a temporary file, fsynced,
// then renamed), so concurrent readers and writers, in threads or
// processes, see either an old or a new complete entry. A relative
// directory is taken relative to the working directory at library load.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace terrazzo::gpu {

// Hex SHA-256 of `data` (64 lowercase digits), for cache keys.
std::string hashHex(std::string_view data);

class DiskCache {
public:
  // No entry is read or written past this size (cubins are a few MB).
  static constexpr uint64_t kMaxEntryBytes = 256ull << 20;

  // A cache rooted at `dir`, created on the first put. An empty `dir`
  // disables the cache: every get misses and puts are dropped.
  explicit DiskCache(std::string dir);
  DiskCache(const DiskCache &) = delete;
  DiskCache &operator=(const DiskCache &) = delete;

  // The process-wide cache in defaultDirectory().
  static DiskCache &global();
  // $TZ_CACHE_DIR, else $XDG_CACHE_HOME/terrazzo, else ~/.cache/terrazzo.
  static std::string defaultDirectory();

  std::optional<std::string> get(const std::string &key);
  void put(const std::string &key, std::string_view payload);
  void remove(const std::string &key);

  const std::string &directory() const { return dir_; }
  // Where the entry for `key` lives: <dir>/ab/cdef….tzc.
  std::string pathFor(const std::string &key) const;

  // Entries found damaged and deleted by get().
  uint64_t corruptEntriesDropped() const { return corruptDropped_; }
  // Puts that could not write their entry.
  uint64_t writeFailures() const { return writeFailures_; }

private:
  void noteWriteFailure(const std::string &what, int error);
  void noteDamaged(const std::string &path, const std::string &why);

  std::string dir_;
  std::atomic<uint64_t> corruptDropped_{0};
  std::atomic<uint64_t> writeFailures_{0};
  std::atomic<bool> warnedWrite_{false}, warnedDamaged_{false}, warnedForeign_{false};
};

} // namespace terrazzo::gpu
