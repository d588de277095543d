#include "pipeline/base/malloc_tuning.h"

#include <malloc.h>

namespace maskfeed {

void KeepLargeAllocationsInHeap() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace maskfeed
