#include "pipeline/storage/shard_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <vector>

#include "pipeline/base/status_fields.h"
#include "pipeline/base/strings.h"
#include "pipeline/storage/sigv4.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;

constexpr char kTmp[] = ".tmp-";
constexpr char kLock[] = ".lock";

bool IsEntry(const std::string& file) {
  return file.find(kTmp) == std::string::npos &&
         !(file.size() > 5 && file.compare(file.size() - 5, 5, kLock) == 0);
}

// An exclusive flock on a lock file, released when destroyed.
class FileLock {
 public:
  explicit FileLock(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT, 0644)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

struct Found {
  std::string path;
  uint64_t size;
  struct timespec used;
};

std::vector<Found> Entries(const std::string& dir) {
  std::vector<Found> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    struct stat st {};
    if (!IsEntry(name) || ::stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({e.path().string(), static_cast<uint64_t>(st.st_size), st.st_mtim});
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardCache>> ShardCache::Open(const Options& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("cache: a directory is required");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec || !fs::is_directory(options.dir)) {
    return absl::PermissionDeniedError(
        StrCat("cache directory ", options.dir, ": cannot create it (", ec.message(), ")"));
  }
  auto cache = std::unique_ptr<ShardCache>(new ShardCache(options.dir, options.limit_bytes));
  // Temporary files of processes that died mid-fetch.
  for (const fs::directory_entry& e : fs::directory_iterator(options.dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.find(kTmp);
    if (at == std::string::npos) continue;
    const int pid = std::atoi(name.c_str() + at + std::strlen(kTmp));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
  for (const Found& f : Entries(options.dir)) cache->used_ += f.size;
  return cache;
}

std::string ShardCache::FileFor(const std::string& name) const {
  std::string base = name.substr(name.find_last_of('/') + 1);
  for (char& c : base) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == '@';
    if (!keep) c = '_';
  }
  if (base.size() > 64) base.resize(64);
  return (fs::path(dir_) / StrCat(Sha256Hex(name).substr(0, 24), "-", base)).string();
}

absl::Status ShardCache::MakeRoom(uint64_t incoming, const std::string& name) {
  if (limit_ == 0) {
    reserved_ += incoming;
    return absl::OkStatus();
  }
  if (incoming > limit_) {
    return absl::ResourceExhaustedError(StrCat("cache directory ", dir_, ": ", name, " (", incoming,
                                               " bytes) is larger than the cache limit (", limit_,
                                               " bytes)"));
  }
  std::vector<Found> found = Entries(dir_);  // other processes' files count too
  uint64_t used = 0;
  for (const Found& f : found) used += f.size;
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.used.tv_sec, a.used.tv_nsec) < std::tie(b.used.tv_sec, b.used.tv_nsec);
  });
  // This process's fetches in flight count as if they were there already.
  for (const Found& f : found) {
    if (used + reserved_ + incoming <= limit_) break;
    if (pins_.count(f.path) != 0) continue;
    if (::unlink(f.path.c_str()) == 0) {
      used -= f.size;
      ++stats_.evictions;
    }
  }
  used_ = used;
  if (used + reserved_ + incoming > limit_) {
    return WithFields(absl::ResourceExhaustedError(
                          StrCat("cache directory ", dir_, ": ", name, " (", incoming,
                                 " bytes) does not fit under the cache limit (", limit_,
                                 " bytes) beside the ", used + reserved_,
                                 " bytes of objects in use or being fetched; raise the cache limit "
                                 "(storage.cache_limit_bytes)")),
                      {"storage.cache_limit_bytes"});
  }
  reserved_ += incoming;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ShardCache::Acquire(const std::string& name, uint64_t size,
                                                const Fetch& fetch) {
  const std::string file = FileFor(name);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++pins_[file];
  }
  auto fail = [&](absl::Status s) -> absl::StatusOr<std::string> {
    Release(name);
    return s;
  };
  // A cached copy of the right size is a hit; its mtime records the use.
  auto cached = [&]() {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return false;
    if (size != 0 && static_cast<uint64_t>(st.st_size) != size) {
      ::unlink(file.c_str());  // left by an older version of the object
      return false;
    }
    ::utimensat(AT_FDCWD, file.c_str(), nullptr, 0);
    return true;
  };
  if (cached()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.hits;
    return file;
  }
  FileLock fetching(file + kLock);  // one process fetches; the others wait here, then hit
  if (!fetching.ok()) {
    return fail(absl::PermissionDeniedError(
        StrCat("cache directory ", dir_, ": cannot create ", file, kLock, ": ", strerror(errno))));
  }
  if (cached()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.hits;
    return file;
  }
  if (size != 0) {
    absl::Status room;
    {
      std::lock_guard<std::mutex> lock(mu_);
      room = MakeRoom(size, name);
    }
    if (!room.ok()) return fail(room);
  }
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = StrCat(file, kTmp, ::getpid(), "-", counter.fetch_add(1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.misses;
  }
  auto unreserve = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    reserved_ -= size;
  };
  if (absl::Status s = fetch(tmp); !s.ok()) {
    ::unlink(tmp.c_str());
    unreserve();
    return fail(s);
  }
  struct stat st {};
  if (::stat(tmp.c_str(), &st) != 0) {
    unreserve();
    return fail(absl::DataLossError(StrCat(name, ": the fetch wrote no file")));
  }
  const auto got = static_cast<uint64_t>(st.st_size);
  if (size != 0 && got != size) {
    ::unlink(tmp.c_str());
    unreserve();
    return fail(absl::DataLossError(
        StrCat(name, ": fetched ", got, " bytes, expected ", size, " (a short download)")));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (size == 0) {  // now known: make room for it before it joins the cache
      if (absl::Status s = MakeRoom(got, name); !s.ok()) {
        ::unlink(tmp.c_str());
        if (--pins_[file] <= 0) pins_.erase(file);  // Release, with mu_ held
        return s;
      }
    }
    reserved_ -= size != 0 ? size : got;
    stats_.bytes_fetched += got;
    used_ += got;
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail(absl::InternalError(
        StrCat("cache directory ", dir_, ": cannot rename into ", file, ": ", strerror(e))));
  }
  return file;
}

void ShardCache::Release(const std::string& name) {
  const std::string file = FileFor(name);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pins_.find(file);
  if (it != pins_.end() && --it->second <= 0) pins_.erase(it);
}

void ShardCache::Discard(const std::string& name) {
  const std::string file = FileFor(name);
  FileLock fetching(file + kLock);  // not while another process renames a fresh copy in
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || ::unlink(file.c_str()) != 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  used_ -= std::min(used_, static_cast<uint64_t>(st.st_size));
}

absl::Status ShardCache::WriteFetched(const std::string& path, std::string_view body,
                                      const std::string& name) const {
  const std::string& dir = dir_;
  const std::string& url = name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("cache directory ", dir, ": cannot create ", path, ": ", strerror(errno)));
  }
  const char* p = body.data();
  size_t left = body.size();
  int error = 0;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0) return absl::OkStatus();
  const std::string message = StrCat("cache directory ", dir, ": cannot write ", url, " (",
                                     body.size(), " bytes): ", strerror(error));
  return error == ENOSPC || error == EDQUOT ? absl::ResourceExhaustedError(message)
                                            : absl::InternalError(message);
}

CacheStats ShardCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t ShardCache::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

}  // namespace maskfeed
