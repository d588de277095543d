// Owns a POSIX file descriptor and closes it when it goes out of scope, so no error path
// leaks one.
//
//   UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
//   if (!fd) return ErrnoError(...);
//   ::fstat(fd.get(), &st);
#ifndef MASKFEED_PIPELINE_BASE_UNIQUE_FD_H_
#define MASKFEED_PIPELINE_BASE_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace maskfeed {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Closes the descriptor held (if any) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_UNIQUE_FD_H_
