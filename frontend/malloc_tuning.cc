#include "frontend/malloc_tuning.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

namespace maskfeed {
namespace {

// The number in a cgroup file such as memory.max; 0 for "max", a missing file or garbage.
uint64_t ReadLimitFile(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
      text.size() > 19) {
    return 0;
  }
  return std::stoull(text);
}

}  // namespace

void KeepLargeAllocationsInHeap(HeapTrim trim) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value
  mallopt(M_TRIM_THRESHOLD, trim == HeapTrim::kPrompt ? 1 << 20 : 512 << 20);
}

void ReturnFreeMemory() { malloc_trim(0); }

uint64_t UsableMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  uint64_t usable = pages > 0 && page_size > 0
                        ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size)
                        : uint64_t{8} << 30;
  for (const char* path :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const uint64_t limit = ReadLimitFile(path);
    if (limit != 0) usable = std::min(usable, limit);
  }
  return usable;
}

uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return resident * static_cast<uint64_t>(page_size > 0 ? page_size : 4096);
}

}  // namespace maskfeed
