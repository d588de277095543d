#include <cuda_runtime.h>

#include <cub/block/block_scan.cuh>

#include "client/cuda/compaction.h"

namespace {

constexpr int kThreads = 256;

struct Tensors {
  const char* src[MASKFEED_COMPACT_MAX_TENSORS];
  char* dst[MASKFEED_COMPACT_MAX_TENSORS];
  int64_t row_bytes[MASKFEED_COMPACT_MAX_TENSORS];
  int count;
};

// Gathers the kept rows of one tensor for one batch row: the block's threads walk the
// (slot, 16-byte unit) pairs, so every thread is busy whatever the row size; byte by byte when
// the tensor is not 16-byte aligned.
template <typename Unit>
__device__ void GatherRows(const char* src, char* dst, int64_t bytes, int64_t keep,
                           const int* slot_source, const uint8_t* m) {
  const int64_t units = bytes / static_cast<int64_t>(sizeof(Unit));
  for (int64_t i = threadIdx.x; i < keep * units; i += blockDim.x) {
    const int64_t s = i / units, u = i % units;
    const int p = slot_source[s];
    Unit* d = reinterpret_cast<Unit*>(dst + s * bytes) + u;
    *d = m[p] != 0 ? Unit{} : reinterpret_cast<const Unit*>(src + p * bytes)[u];
  }
}

// One block per batch row. Phase 1: each thread counts the valid positions of its chunk, a
// block scan gives every position its slot (valid ones first, stable), and the slots below
// `keep` record their source position. Phase 2: the block gathers the kept rows.
__global__ void CompactKernel(const uint8_t* mask, int64_t length, int64_t keep, Tensors t,
                              int32_t* index_out, uint8_t* kept_mask_out) {
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ typename Scan::TempStorage scan;
  __shared__ int total_valid;
  extern __shared__ int slot_source[];  // keep entries: source position of each slot

  const int64_t row = blockIdx.x;
  const uint8_t* m = mask + row * length;
  const int64_t chunk = (length + kThreads - 1) / kThreads;
  const int64_t begin = min(static_cast<int64_t>(threadIdx.x) * chunk, length);
  const int64_t end = min(begin + chunk, length);
  int valid = 0;
  for (int64_t i = begin; i < end; ++i) valid += m[i] == 0;
  int valid_before = 0, block_valid = 0;
  Scan(scan).ExclusiveSum(valid, valid_before, block_valid);
  if (threadIdx.x == 0) total_valid = block_valid;
  __syncthreads();
  int v = valid_before;                            // valid positions before i
  int u = static_cast<int>(begin) - valid_before;  // masked positions before i
  for (int64_t i = begin; i < end; ++i) {
    const bool masked = m[i] != 0;
    const int64_t slot = masked ? total_valid + u : v;
    if (slot < keep) slot_source[slot] = static_cast<int>(i);
    masked ? ++u : ++v;
  }
  __syncthreads();

  for (int64_t s = threadIdx.x; s < keep; s += kThreads) {
    const int src = slot_source[s];
    if (index_out != nullptr) index_out[row * keep + s] = src;
    if (kept_mask_out != nullptr) kept_mask_out[row * keep + s] = m[src] != 0;
  }
  for (int k = 0; k < t.count; ++k) {
    const int64_t bytes = t.row_bytes[k];
    const char* src = t.src[k] + row * length * bytes;
    char* dst = t.dst[k] + row * keep * bytes;
    const bool wide = ((reinterpret_cast<uintptr_t>(t.src[k]) |
                        reinterpret_cast<uintptr_t>(t.dst[k]) | static_cast<uintptr_t>(bytes)) &
                       15) == 0;
    if (wide) {
      GatherRows<uint4>(src, dst, bytes, keep, slot_source, m);
    } else {
      GatherRows<char>(src, dst, bytes, keep, slot_source, m);
    }
  }
}

}  // namespace

extern "C" int maskfeed_compact(const uint8_t* mask, int64_t batch, int64_t length, int64_t keep,
                                int n_tensors, const void* const* src, void* const* dst,
                                const int64_t* row_bytes, int32_t* index_out,
                                uint8_t* kept_mask_out, void* stream) {
  if (batch < 0 || length <= 0 || length > 65536 || keep <= 0 || keep > length ||
      keep > MASKFEED_COMPACT_MAX_KEEP || n_tensors < 0 ||
      n_tensors > MASKFEED_COMPACT_MAX_TENSORS || mask == nullptr) {
    return cudaErrorInvalidValue;
  }
  if (batch == 0) return 0;
  Tensors t{};
  t.count = n_tensors;
  for (int k = 0; k < n_tensors; ++k) {
    if (src[k] == nullptr || dst[k] == nullptr || row_bytes[k] <= 0) return cudaErrorInvalidValue;
    t.src[k] = static_cast<const char*>(src[k]);
    t.dst[k] = static_cast<char*>(dst[k]);
    t.row_bytes[k] = row_bytes[k];
  }
  const size_t shared = static_cast<size_t>(keep) * sizeof(int);
  CompactKernel<<<static_cast<unsigned>(batch), kThreads, shared,
                  static_cast<cudaStream_t>(stream)>>>(mask, length, keep, t, index_out,
                                                       kept_mask_out);
  return static_cast<int>(cudaGetLastError());
}

extern "C" int maskfeed_cuda_device_count(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

extern "C" const char* maskfeed_cuda_error_string(int error) {
  return cudaGetErrorString(static_cast<cudaError_t>(error));
}
