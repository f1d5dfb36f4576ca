// The on-disk kernel cache. An entry file reads, integers little-endian:
//
//   "TZCACHE1"                 magic
//   u32 format version         kFormatVersion
//   u32 key size, key bytes    the full key: a stale file or a hash collision
//                              at this path is told apart from a hit
//   u64 payload size
//   u64 payload checksum       FNV-1a 64
//   payload
//
// and must end exactly where the payload does.
#include "terrazzo/gpu/DiskCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

namespace terrazzo::gpu {
namespace {

constexpr char kMagic[8] = {'T', 'Z', 'C', 'A', 'C', 'H', 'E', '1'};
constexpr uint32_t kFormatVersion = 1;

// The working directory when the library was loaded: a relative
// $TZ_CACHE_DIR means relative to it, so a later chdir() does not move the
// cache (or send every write to a directory that does not exist).
const std::filesystem::path kLoadDirectory = [] {
  std::error_code error;
  return std::filesystem::current_path(error);
}();

std::string absoluteDirectory(const std::string &dir) {
  if (dir.empty() || dir[0] == '/' || kLoadDirectory.empty())
    return dir;
  return (kLoadDirectory / dir).lexically_normal().string();
}

void warn(const std::string &message) { std::fprintf(stderr, "terrazzo: warning: %s\n", message.c_str()); }

uint64_t checksum(std::string_view data) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

template <typename T> void appendLE(std::string &out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(char((value >> (8 * i)) & 0xff));
}

// Reads a little-endian T at `pos`, advancing it; false when past the end.
template <typename T> bool readLE(std::string_view data, size_t &pos, T &value) {
  if (data.size() - pos < sizeof(T))
    return false;
  value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= T(static_cast<unsigned char>(data[pos + i])) << (8 * i);
  pos += sizeof(T);
  return true;
}

enum class Check { Hit, OtherKey, OtherVersion, Damaged };

// Checks an entry file's bytes against `key`; on a hit, sets payload.
Check parseEntry(std::string_view file, const std::string &key, std::string_view &payload) {
  size_t pos = 0;
  if (file.size() < sizeof(kMagic) || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0)
    return Check::Damaged;
  pos = sizeof(kMagic);
  uint32_t version, keySize;
  if (!readLE(file, pos, version) || !readLE(file, pos, keySize))
    return Check::Damaged;
  // Another format version is a well-formed file this build cannot read.
  if (version != kFormatVersion)
    return Check::OtherVersion;
  if (file.size() - pos < keySize)
    return Check::Damaged;
  std::string_view storedKey = file.substr(pos, keySize);
  pos += keySize;
  uint64_t size, sum;
  if (!readLE(file, pos, size) || !readLE(file, pos, sum) || file.size() - pos != size)
    return Check::Damaged;
  std::string_view body = file.substr(pos);
  if (checksum(body) != sum)
    return Check::Damaged;
  if (storedKey != key)
    return Check::OtherKey;
  payload = body;
  return Check::Hit;
}

bool readAll(int fd, size_t size, std::string &out) {
  out.resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// A temporary name no other writer, thread or process, uses at the same time.
std::string temporaryName(const std::string &path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) + "." +
         std::to_string(counter++);
}

std::string homeDirectory() {
  if (const char *home = std::getenv("HOME"); home && *home)
    return home;
  struct passwd entry, *result = nullptr;
  std::vector<char> buffer(16384);
  if (getpwuid_r(getuid(), &entry, buffer.data(), buffer.size(), &result) == 0 && result && result->pw_dir)
    return result->pw_dir;
  return "";
}

} // namespace

std::string hashHex(std::string_view data) {
  auto digest = llvm::SHA256::hash(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data.data()), data.size()));
  return llvm::toHex(digest, /*LowerCase=*/true);
}

DiskCache::DiskCache(std::string dir) : dir_(absoluteDirectory(dir)) {}

void DiskCache::noteWriteFailure(const std::string &what, int error) {
  ++writeFailures_;
  if (warnedWrite_.exchange(true))
    return;
  if (error == EFBIG) {
    warn("a kernel cache entry is over the " + std::to_string(kMaxEntryBytes) +
         "-byte limit of an entry and is kept in memory only");
    return;
  }
  warn("cannot write the kernel cache in " + dir_ + " (" + what + ": " + std::strerror(error) +
       "); compiled kernels stay in this process's memory only. Set TZ_CACHE_DIR to a writable directory.");
}

void DiskCache::noteDamaged(const std::string &path, const std::string &why) {
  ++corruptDropped_;
  if (warnedDamaged_.exchange(true))
    return;
  warn("dropped a damaged kernel cache entry " + path + " (" + why + "); it is rebuilt on the next compile");
}

std::string DiskCache::defaultDirectory() {
  if (const char *dir = std::getenv("TZ_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/terrazzo";
  std::string home = homeDirectory();
  return home.empty() ? "" : home + "/.cache/terrazzo";
}

// Never destroyed, so that static destructors may still use it.
DiskCache &DiskCache::global() {
  static DiskCache *cache = new DiskCache(defaultDirectory());
  return *cache;
}

std::string DiskCache::pathFor(const std::string &key) const {
  std::string hex = hashHex(key);
  return dir_ + "/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".tzc";
}

std::optional<std::string> DiskCache::get(const std::string &key) {
  if (dir_.empty())
    return std::nullopt;
  std::string path = pathFor(key);
  // O_NONBLOCK: a FIFO planted at the path must not block the open; it is
  // then refused as not a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return std::nullopt;
  struct stat opened;
  if (::fstat(fd, &opened) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  std::string file, damage;
  if (!S_ISREG(opened.st_mode))
    damage = "not a regular file";
  else if (uint64_t(opened.st_size) > kMaxEntryBytes)
    damage = std::to_string(opened.st_size) + " bytes, over the " + std::to_string(kMaxEntryBytes) +
             "-byte limit of an entry";
  else if (!readAll(fd, size_t(opened.st_size), file))
    damage = "unreadable";
  ::close(fd);

  std::string_view payload;
  if (damage.empty()) {
    switch (parseEntry(file, key, payload)) {
    case Check::Hit:
      return std::string(payload);
    case Check::OtherKey:
      return std::nullopt;
    case Check::OtherVersion:
      // Left in place (another build may still read it); the next put for
      // this key replaces it.
      if (!warnedForeign_.exchange(true))
        warn("kernel cache entry " + path + " has another format version; it is rebuilt on the next compile");
      return std::nullopt;
    case Check::Damaged:
      damage = "truncated or corrupt";
      break;
    }
  }
  // Delete the damaged file only if it is still the one we read: a writer
  // may have published a good entry over it meanwhile. (A directory there
  // cannot be unlinked; it stays a miss.)
  struct stat current;
  if (::lstat(path.c_str(), &current) == 0 && current.st_dev == opened.st_dev && current.st_ino == opened.st_ino &&
      !S_ISDIR(current.st_mode))
    ::unlink(path.c_str());
  noteDamaged(path, damage);
  return std::nullopt;
}

void DiskCache::put(const std::string &key, std::string_view payload) {
  if (dir_.empty())
    return;
  if (key.size() > UINT32_MAX || payload.size() + key.size() + 64 > kMaxEntryBytes) {
    noteWriteFailure("entry too large", EFBIG);
    return;
  }
  std::string path = pathFor(key);
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  if (error) {
    noteWriteFailure("creating " + std::filesystem::path(path).parent_path().string(), error.value());
    return;
  }

  std::string header(kMagic, sizeof(kMagic));
  appendLE<uint32_t>(header, kFormatVersion);
  appendLE<uint32_t>(header, uint32_t(key.size()));
  header += key;
  appendLE<uint64_t>(header, payload.size());
  appendLE<uint64_t>(header, checksum(payload));

  std::string temporary = temporaryName(path);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    noteWriteFailure("creating a file", errno);
    return;
  }
  // fsync before the rename: after a crash the entry is either absent or
  // whole, never a name pointing at blocks that were not written.
  bool written = writeAll(fd, header) && writeAll(fd, payload) && ::fsync(fd) == 0;
  int writeError = errno;
  written = ::close(fd) == 0 && written;
  // rename() replaces the entry atomically: readers see the old file or the
  // new one, never a part-written one.
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    int renameError = written ? errno : writeError;
    ::unlink(temporary.c_str());
    noteWriteFailure(written ? "publishing an entry" : "writing an entry", renameError);
  }
}

void DiskCache::remove(const std::string &key) {
  if (!dir_.empty())
    ::unlink(pathFor(key).c_str());
}

} // namespace terrazzo::gpu
