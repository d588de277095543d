// maskfeed-cuda-check: checks the fused compaction kernel against a CPU reference, bit for
// bit, on fresh random inputs with poisoned outputs, and times it against 4M's approach
// (argsort of the float key mask + 1e-6 * index, then a gather), both with CUDA events.
//
//   maskfeed-cuda-check [--batch 256] [--length 1008] [--keep 128] [--dim 768] [--iters 50]
//                       [--seed S]
//
// Tensors are bf16 (B, L, D) token embeddings. Prints one JSON line; exit 1 on any mismatch,
// 2 without a CUDA device.
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <random>
#include <string>
#include <vector>

#include "client/cuda/compaction.h"

namespace {

#define CHECK(call)                                                                         \
  do {                                                                                      \
    cudaError_t e_ = (call);                                                                \
    if (e_ != cudaSuccess) {                                                                \
      std::fprintf(stderr, "maskfeed-cuda-check: %s: %s\n", #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

// 4M's key: mask + 1e-6 * index, sorted ascending per row.
__global__ void MakeKeys(const uint8_t* mask, int64_t length, float* keys, int* values) {
  const int64_t row = blockIdx.x;
  for (int64_t i = threadIdx.x; i < length; i += blockDim.x) {
    keys[row * length + i] = static_cast<float>(mask[row * length + i]) + 1e-6f * i;
    values[row * length + i] = static_cast<int>(i);
  }
}

// torch.gather of the first `keep` sorted indices, then the multiply by the kept mask.
__global__ void GatherSorted(const uint16_t* src, const int* order, const uint8_t* mask,
                             int64_t length, int64_t keep, int64_t dim, uint16_t* dst) {
  const int64_t row = blockIdx.x;
  for (int64_t i = threadIdx.x; i < keep * dim; i += blockDim.x) {
    const int64_t s = i / dim, d = i % dim;
    const int p = order[row * length + s];
    dst[(row * keep + s) * dim + d] =
        mask[row * length + p] ? 0 : src[(row * length + p) * dim + d];
  }
}

int64_t Flag(int argc, char** argv, const char* name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoll(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t batch = Flag(argc, argv, "--batch", 256);
  const int64_t length = Flag(argc, argv, "--length", 1008);
  const int64_t keep = Flag(argc, argv, "--keep", 128);
  const int64_t dim = Flag(argc, argv, "--dim", 768);
  const int iters = static_cast<int>(Flag(argc, argv, "--iters", 50));
  const uint64_t seed = static_cast<uint64_t>(
      Flag(argc, argv, "--seed",
           std::chrono::steady_clock::now().time_since_epoch().count() & 0x7FFFFFFF));
  if (maskfeed_cuda_device_count() == 0) {
    std::fprintf(stderr, "maskfeed-cuda-check: no CUDA device\n");
    return 2;
  }
  // Fresh inputs: ~20% of positions valid, so ~200 valid of 1008 and keep cuts some rows.
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> mask(batch * length);
  for (auto& m : mask) m = (rng() % 100) >= 20;
  for (int64_t i = 0; i < length; ++i) mask[i] = 1;           // row 0: nothing valid
  for (int64_t i = 0; i < length; ++i) mask[length + i] = 0;  // row 1: everything valid
  std::vector<uint16_t> x(batch * length * dim);
  for (auto& v : x) v = static_cast<uint16_t>(rng());

  uint8_t *d_mask, *d_kept;
  uint16_t *d_x, *d_out, *d_base;
  int32_t* d_index;
  CHECK(cudaMalloc(&d_mask, mask.size()));
  CHECK(cudaMalloc(&d_x, x.size() * 2));
  CHECK(cudaMalloc(&d_out, batch * keep * dim * 2));
  CHECK(cudaMalloc(&d_base, batch * keep * dim * 2));
  CHECK(cudaMalloc(&d_index, batch * keep * 4));
  CHECK(cudaMalloc(&d_kept, batch * keep));
  CHECK(cudaMemcpy(d_mask, mask.data(), mask.size(), cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_x, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
  // Poison the outputs: every byte must be written.
  CHECK(cudaMemset(d_out, 0xA5, batch * keep * dim * 2));
  CHECK(cudaMemset(d_index, 0xA5, batch * keep * 4));
  CHECK(cudaMemset(d_kept, 0xA5, batch * keep));

  const void* src[] = {d_x};
  void* dst[] = {d_out};
  const int64_t row_bytes[] = {dim * 2};
  auto run = [&] {
    const int err = maskfeed_compact(d_mask, batch, length, keep, 1, src, dst, row_bytes, d_index,
                                     d_kept, nullptr);
    if (err != 0) {
      std::fprintf(stderr, "maskfeed_compact: %s\n", maskfeed_cuda_error_string(err));
      std::exit(1);
    }
  };
  run();
  CHECK(cudaDeviceSynchronize());

  // CPU reference.
  std::vector<uint16_t> out(batch * keep * dim), want(batch * keep * dim);
  std::vector<int32_t> index(batch * keep), want_index(batch * keep);
  std::vector<uint8_t> kept(batch * keep), want_kept(batch * keep);
  CHECK(cudaMemcpy(out.data(), d_out, out.size() * 2, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(index.data(), d_index, index.size() * 4, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(kept.data(), d_kept, kept.size(), cudaMemcpyDeviceToHost));
  for (int64_t r = 0; r < batch; ++r) {
    std::vector<int32_t> order;
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t i = 0; i < length; ++i) {
        if ((mask[r * length + i] != 0) == (pass == 1)) order.push_back(static_cast<int32_t>(i));
      }
    }
    for (int64_t s = 0; s < keep; ++s) {
      const int32_t p = order[s];
      const bool masked = mask[r * length + p] != 0;
      want_index[r * keep + s] = p;
      want_kept[r * keep + s] = masked;
      for (int64_t d = 0; d < dim; ++d) {
        want[(r * keep + s) * dim + d] = masked ? 0 : x[(r * length + p) * dim + d];
      }
    }
  }
  const bool same = out == want && index == want_index && kept == want_kept;

  // 4M's path: segmented radix sort of float keys (argsort), then gather + mask multiply.
  float *d_keys, *d_keys_sorted;
  int *d_values, *d_order, *d_offsets;
  CHECK(cudaMalloc(&d_keys, batch * length * 4));
  CHECK(cudaMalloc(&d_keys_sorted, batch * length * 4));
  CHECK(cudaMalloc(&d_values, batch * length * 4));
  CHECK(cudaMalloc(&d_order, batch * length * 4));
  CHECK(cudaMalloc(&d_offsets, (batch + 1) * 4));
  std::vector<int> offsets(batch + 1);
  for (int64_t r = 0; r <= batch; ++r) offsets[r] = static_cast<int>(r * length);
  CHECK(cudaMemcpy(d_offsets, offsets.data(), offsets.size() * 4, cudaMemcpyHostToDevice));
  size_t temp_bytes = 0;
  CHECK(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, temp_bytes, d_keys, d_keys_sorted,
                                                 d_values, d_order, batch * length, batch,
                                                 d_offsets, d_offsets + 1));
  void* d_temp;
  CHECK(cudaMalloc(&d_temp, temp_bytes));
  auto baseline = [&] {
    MakeKeys<<<batch, 256>>>(d_mask, length, d_keys, d_values);
    CHECK(cub::DeviceSegmentedRadixSort::SortPairs(d_temp, temp_bytes, d_keys, d_keys_sorted,
                                                   d_values, d_order, batch * length, batch,
                                                   d_offsets, d_offsets + 1));
    GatherSorted<<<batch, 256>>>(d_x, d_order, d_mask, length, keep, dim, d_base);
  };
  baseline();
  CHECK(cudaDeviceSynchronize());
  std::vector<uint16_t> base(batch * keep * dim);
  CHECK(cudaMemcpy(base.data(), d_base, base.size() * 2, cudaMemcpyDeviceToHost));
  const bool baseline_same = base == want;

  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  auto time_ms = [&](auto&& fn) {
    for (int i = 0; i < 5; ++i) fn();  // warm-up
    CHECK(cudaEventRecord(start));
    for (int i = 0; i < iters; ++i) fn();
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms / iters;
  };
  const float kernel_ms = time_ms(run);
  const float baseline_ms = time_ms(baseline);
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf(
      "{\"bench\": \"cuda_compaction\", \"device\": \"%s\", \"batch\": %lld, \"length\": %lld, "
      "\"keep\": %lld, \"dim\": %lld, \"dtype\": \"bf16\", \"seed\": %llu, "
      "\"bitwise_equal\": %s, \"baseline_equal\": %s, \"kernel_ms\": %.4f, "
      "\"argsort_gather_ms\": %.4f, \"speedup\": %.2f}\n",
      prop.name, static_cast<long long>(batch), static_cast<long long>(length),
      static_cast<long long>(keep), static_cast<long long>(dim),
      static_cast<unsigned long long>(seed), same ? "true" : "false",
      baseline_same ? "true" : "false", kernel_ms, baseline_ms, baseline_ms / kernel_ms);
  return same ? 0 : 1;
}
