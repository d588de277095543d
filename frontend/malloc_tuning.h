// Heap settings and memory figures for programs that allocate multi-megabyte batches over and
// over (the server, the CLI, the Python client through ctypes).
//
//   KeepLargeAllocationsInHeap();          // first thing in main
//   ...a stream ends...
//   ReturnFreeMemory();                    // give its freed pages back to the system
#ifndef MASKFEED_FRONTEND_MALLOC_TUNING_H_
#define MASKFEED_FRONTEND_MALLOC_TUNING_H_

#include <cstdint>

namespace maskfeed {

// How soon free memory at the top of a heap goes back to the system: kLazy keeps up to
// 512 MiB (a client that frees and reallocates batches all the time), kPrompt up to 1 MiB (a
// server, whose streams recycle their buffers and whose memory should fall back when they
// end). glibc's malloc_trim does not shrink the tops of its per-thread heaps; only this
// threshold, applied as memory is freed, does.
enum class HeapTrim { kLazy, kPrompt };

// glibc otherwise maps each large buffer fresh and unmaps it on free, so every batch faults
// its pages in again (a fifth of a streaming client's time). Call once, first thing in main.
void KeepLargeAllocationsInHeap(HeapTrim trim = HeapTrim::kLazy);

// Returns the free pages of every malloc arena to the system (glibc's malloc_trim), which the
// setting above otherwise keeps for reuse: call when a large user of memory has gone.
void ReturnFreeMemory();

// Bytes this process may use: the smaller of physical memory and its cgroup's limit
// (memory.max of cgroup v2, or v1's memory.limit_in_bytes) when one is set.
uint64_t UsableMemoryBytes();

// The process's resident set size in bytes (/proc/self/statm), 0 if unreadable.
uint64_t ResidentBytes();

}  // namespace maskfeed

#endif  // MASKFEED_FRONTEND_MALLOC_TUNING_H_
