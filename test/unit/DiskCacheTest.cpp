// The on-disk cache: round trips, every kind of damaged entry (a miss that is
// deleted and rebuilt, never returned), atomic publication under concurrent
// writers, and silence when the directory cannot be written.
#include "terrazzo/gpu/DiskCache.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

using terrazzo::gpu::DiskCache;
using terrazzo::gpu::hashHex;
namespace fs = std::filesystem;

namespace {

class DiskCacheTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tz-disk-cache-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  static std::string readFile(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void writeFile(const std::string &path, const std::string &bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }

  std::string dir;
};

// A payload with every byte value, NULs included.
std::string binaryPayload(size_t size) {
  std::string payload(size, '\0');
  for (size_t i = 0; i < size; ++i)
    payload[i] = char(i * 7 + 3);
  return payload;
}

TEST(HashHex, IsSha256) {
  EXPECT_EQ(hashHex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hashHex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(DiskCacheTest, RoundTrip) {
  DiskCache cache(dir);
  std::string payload = binaryPayload(10000);
  cache.put("kernel-a", payload);
  EXPECT_EQ(cache.get("kernel-a"), payload);
  // An empty payload is a hit, not a miss.
  cache.put("empty", "");
  EXPECT_EQ(cache.get("empty"), std::string());
  // A second put replaces the entry.
  cache.put("kernel-a", "new");
  EXPECT_EQ(cache.get("kernel-a"), "new");
  cache.remove("kernel-a");
  EXPECT_EQ(cache.get("kernel-a"), std::nullopt);
  EXPECT_EQ(cache.corruptEntriesDropped(), 0u);
  EXPECT_EQ(cache.writeFailures(), 0u);
}

TEST_F(DiskCacheTest, PathIsTheKeysHashSplitAfterTwoDigits) {
  DiskCache cache(dir);
  std::string hex = hashHex("some key");
  EXPECT_EQ(cache.pathFor("some key"), dir + "/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".tzc");
  cache.put("some key", "x");
  EXPECT_TRUE(fs::exists(cache.pathFor("some key")));
}

TEST_F(DiskCacheTest, AbsentKeyMisses) {
  DiskCache cache(dir);
  EXPECT_EQ(cache.get("never written"), std::nullopt);
  EXPECT_EQ(cache.corruptEntriesDropped(), 0u);
}

TEST_F(DiskCacheTest, TruncatedEntryIsDroppedAndRebuilt) {
  DiskCache cache(dir);
  std::string payload = binaryPayload(4096);
  std::string path = cache.pathFor("k");
  uint64_t expectedDrops = 0;
  // Cut in the payload, in the header, and to nothing.
  for (size_t keep : {size_t(3000), size_t(20), size_t(5), size_t(0)}) {
    cache.put("k", payload);
    fs::resize_file(path, keep);
    EXPECT_EQ(cache.get("k"), std::nullopt) << "kept " << keep << " bytes";
    EXPECT_EQ(cache.corruptEntriesDropped(), ++expectedDrops);
    EXPECT_FALSE(fs::exists(path));
    cache.put("k", payload);
    EXPECT_EQ(cache.get("k"), payload);
  }
}

TEST_F(DiskCacheTest, TrailingBytesAreDetected) {
  DiskCache cache(dir);
  cache.put("k", "payload");
  std::string path = cache.pathFor("k");
  std::ofstream(path, std::ios::binary | std::ios::app) << "extra";
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_EQ(cache.corruptEntriesDropped(), 1u);
}

TEST_F(DiskCacheTest, FlippedPayloadByteIsDetected) {
  DiskCache cache(dir);
  std::string payload = binaryPayload(1000);
  cache.put("k", payload);
  std::string path = cache.pathFor("k");
  std::string bytes = readFile(path);
  bytes[bytes.size() - 500] ^= 0x10;
  writeFile(path, bytes);
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_EQ(cache.corruptEntriesDropped(), 1u);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(DiskCacheTest, WrongMagicIsDetected) {
  DiskCache cache(dir);
  cache.put("k", "payload");
  std::string path = cache.pathFor("k");
  std::string bytes = readFile(path);
  ASSERT_EQ(bytes.substr(0, 8), "TZCACHE1");
  bytes[7] = '2';
  writeFile(path, bytes);
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_EQ(cache.corruptEntriesDropped(), 1u);
}

TEST_F(DiskCacheTest, EntryOfAnotherKeyAtThePathMisses) {
  DiskCache cache(dir);
  cache.put("key A", "payload of A");
  std::string pathB = cache.pathFor("key B");
  fs::create_directories(fs::path(pathB).parent_path());
  fs::rename(cache.pathFor("key A"), pathB);
  EXPECT_EQ(cache.get("key B"), std::nullopt);
  EXPECT_EQ(cache.get("key A"), std::nullopt);
  // A well-formed entry is not damage; the next put for B replaces it.
  EXPECT_EQ(cache.corruptEntriesDropped(), 0u);
  cache.put("key B", "payload of B");
  EXPECT_EQ(cache.get("key B"), "payload of B");
}

TEST_F(DiskCacheTest, ConcurrentWritersPublishWholeEntries) {
  DiskCache cache(dir);
  // Different sizes and contents, so a torn or mixed file cannot pass.
  const std::string first(100000, 'a'), second(70001, 'b');
  std::atomic<int> writersLeft{2};
  auto writer = [&](const std::string &payload) {
    for (int i = 0; i < 200; ++i)
      cache.put("shared key", payload);
    --writersLeft;
  };
  int bad = 0;
  std::thread reader([&] {
    while (writersLeft > 0) {
      if (auto got = cache.get("shared key"))
        bad += *got != first && *got != second;
    }
  });
  std::thread a(writer, std::cref(first)), b(writer, std::cref(second));
  a.join();
  b.join();
  reader.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(cache.corruptEntriesDropped(), 0u);
  EXPECT_EQ(cache.writeFailures(), 0u);
  auto last = cache.get("shared key");
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(*last == first || *last == second);
  // No temporary file is left behind.
  size_t files = 0;
  for (const auto &entry : fs::recursive_directory_iterator(dir))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(DiskCacheTest, UnwritableDirectoryIsSilent) {
  // Beneath a regular file nothing can be created, even by root.
  std::string file = dir + "/plain-file";
  writeFile(file, "x");
  DiskCache cache(file + "/cache");
  EXPECT_NO_THROW(cache.put("k", "payload"));
  EXPECT_EQ(cache.writeFailures(), 1u);
  EXPECT_EQ(cache.get("k"), std::nullopt);
}

TEST_F(DiskCacheTest, FifoAtTheEntryPathDoesNotBlockAndIsReplaced) {
  DiskCache cache(dir);
  std::string path = cache.pathFor("k");
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_EQ(mkfifo(path.c_str(), 0644), 0);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.get("k"), std::nullopt); // would block forever in a plain open()
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(cache.corruptEntriesDropped(), 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
  cache.put("k", "payload");
  EXPECT_EQ(cache.get("k"), "payload");
}

TEST_F(DiskCacheTest, DirectoryAtTheEntryPathIsAMissAndAFailedWrite) {
  DiskCache cache(dir);
  std::string path = cache.pathFor("k");
  fs::create_directories(path);
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_NO_THROW(cache.put("k", "payload"));
  EXPECT_EQ(cache.writeFailures(), 1u);
  EXPECT_EQ(cache.get("k"), std::nullopt);
}

TEST_F(DiskCacheTest, OversizedEntryIsNotReadAndIsDeleted) {
  DiskCache cache(dir);
  std::string path = cache.pathFor("k");
  fs::create_directories(fs::path(path).parent_path());
  writeFile(path, "TZCACHE1");
  fs::resize_file(path, DiskCache::kMaxEntryBytes + 1); // sparse: no real disk use
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(cache.corruptEntriesDropped(), 1u);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(DiskCacheTest, OversizedPayloadIsNotWritten) {
  DiskCache cache(dir);
  // Zero pages mapped on demand: a payload of the limit's size costs no memory.
  void *pages = mmap(nullptr, DiskCache::kMaxEntryBytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(pages, MAP_FAILED);
  cache.put("k", std::string_view(static_cast<const char *>(pages), DiskCache::kMaxEntryBytes));
  munmap(pages, DiskCache::kMaxEntryBytes);
  EXPECT_EQ(cache.writeFailures(), 1u);
  EXPECT_FALSE(fs::exists(cache.pathFor("k")));
}

TEST_F(DiskCacheTest, ForeignVersionEntryMissesAndIsRebuilt) {
  DiskCache cache(dir);
  cache.put("k", "payload");
  std::string path = cache.pathFor("k");
  std::string bytes = readFile(path);
  bytes[8] = char(bytes[8] + 1); // the format version, right after the magic
  writeFile(path, bytes);
  testing::internal::CaptureStderr();
  EXPECT_EQ(cache.get("k"), std::nullopt);
  EXPECT_EQ(cache.get("k"), std::nullopt);
  std::string err = testing::internal::GetCapturedStderr();
  size_t first = err.find("has another format version");
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find("has another format version", first + 1), std::string::npos) << "reported twice: " << err;
  EXPECT_EQ(cache.corruptEntriesDropped(), 0u); // well-formed: not damage
  cache.put("k", "payload");
  EXPECT_EQ(cache.get("k"), "payload");
}

TEST_F(DiskCacheTest, UnwritableCacheWarnsOnceAndKeepsWorking) {
  std::string file = dir + "/plain-file";
  writeFile(file, "x");
  DiskCache cache(file); // the cache path is a regular file
  testing::internal::CaptureStderr();
  cache.put("a", "1");
  cache.put("b", "2");
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cache.writeFailures(), 2u);
  size_t first = err.find("terrazzo: warning: cannot write the kernel cache in " + file);
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find("terrazzo: warning", first + 1), std::string::npos) << "warned twice: " << err;
  EXPECT_EQ(cache.get("a"), std::nullopt);
}

TEST_F(DiskCacheTest, ReadOnlyDirectoryWarnsOnce) {
  if (geteuid() == 0)
    GTEST_SKIP() << "root writes into read-only directories; the file-path case above covers the warning";
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  DiskCache cache(dir);
  testing::internal::CaptureStderr();
  cache.put("a", "1");
  cache.put("b", "2");
  std::string err = testing::internal::GetCapturedStderr();
  fs::permissions(dir, fs::perms::owner_all);
  EXPECT_EQ(cache.writeFailures(), 2u);
  EXPECT_NE(err.find("cannot write the kernel cache"), std::string::npos) << err;
}

TEST_F(DiskCacheTest, RelativeDirectoryDoesNotMoveWithChdir) {
  fs::path start = fs::current_path();
  std::string relative = fs::relative(dir, start).string();
  ASSERT_NE(relative[0], '/');
  DiskCache cache(relative);
  EXPECT_EQ(fs::path(cache.directory()), fs::path(dir).lexically_normal());
  fs::current_path("/");
  cache.put("k", "payload");
  EXPECT_EQ(cache.get("k"), "payload");
  fs::current_path(start);
  EXPECT_TRUE(fs::exists(DiskCache(dir).pathFor("k")));
  EXPECT_EQ(cache.writeFailures(), 0u);
}

// Eight processes on one fresh directory, each loading-or-building the same
// ten entries (as eight jobs of a CI run compiling the same kernels): every
// load returns exactly what was built, and no temporary file is left.
TEST_F(DiskCacheTest, EightProcessesShareOneFreshCache) {
  const int kProcesses = 8, kKeys = 10;
  auto payloadFor = [](int key) { return binaryPayload(50000 + 7919 * key) + std::to_string(key); };
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      DiskCache cache(dir + "/shared");
      int bad = 0;
      for (int round = 0; round < 3; ++round)
        for (int k = 0; k < kKeys; ++k) {
          std::string key = "kernel " + std::to_string((k + p) % kKeys);
          auto got = cache.get(key);
          if (!got) {
            cache.put(key, payloadFor((k + p) % kKeys));
            got = cache.get(key);
          }
          bad += !got || *got != payloadFor((k + p) % kKeys);
        }
      _exit(bad + 100 * int(cache.corruptEntriesDropped() + cache.writeFailures()));
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "bad loads + 100 * (drops + write failures) in one process";
  }
  DiskCache cache(dir + "/shared");
  for (int k = 0; k < kKeys; ++k)
    EXPECT_EQ(cache.get("kernel " + std::to_string(k)), payloadFor(k));
  size_t files = 0;
  for (const auto &entry : fs::recursive_directory_iterator(dir + "/shared"))
    files += entry.is_regular_file();
  EXPECT_EQ(files, size_t(kKeys)) << "temporary files left behind";
}

TEST_F(DiskCacheTest, EmptyDirectoryDisablesTheCache) {
  DiskCache cache("");
  cache.put("k", "payload");
  EXPECT_EQ(cache.get("k"), std::nullopt);
}

TEST(DiskCacheDirectory, FollowsTheEnvironment) {
  auto saved = [](const char *name) -> std::optional<std::string> {
    const char *value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  auto restore = [](const char *name, const std::optional<std::string> &value) {
    value ? setenv(name, value->c_str(), 1) : unsetenv(name);
  };
  auto tz = saved("TZ_CACHE_DIR"), xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");

  setenv("TZ_CACHE_DIR", "/tmp/tz-a", 1);
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  setenv("HOME", "/tmp/home", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), "/tmp/tz-a");
  unsetenv("TZ_CACHE_DIR");
  EXPECT_EQ(DiskCache::defaultDirectory(), "/tmp/xdg/terrazzo");
  setenv("XDG_CACHE_HOME", "", 1);
  EXPECT_EQ(DiskCache::defaultDirectory(), "/tmp/home/.cache/terrazzo");

  restore("TZ_CACHE_DIR", tz);
  restore("XDG_CACHE_HOME", xdg);
  restore("HOME", home);
}

} // namespace
