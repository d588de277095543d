// Heap settings for programs that allocate multi-megabyte batches over and over (the server,
// the CLI, the Python client through ctypes). Call once, first thing in main.
#ifndef MASKFEED_PIPELINE_BASE_MALLOC_TUNING_H_
#define MASKFEED_PIPELINE_BASE_MALLOC_TUNING_H_

namespace maskfeed {

// glibc otherwise maps each large buffer fresh and unmaps it on free, so every batch faults
// its pages in again (a fifth of a streaming client's time).
void KeepLargeAllocationsInHeap();

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_MALLOC_TUNING_H_
