/* Fused token compaction on the GPU (docs/masking.md#compaction-on-the-trainer: the encoder's
 * partition and selection): for each batch row, a stable partition of the positions by the mask
 * (positions whose mask is 0 first, each group in its original order), the first N kept, and the
 * rows of one or more tensors gathered into that order with the slots that hold masked positions
 * zeroed — one launch, one block per row.
 *
 * C ABI, so that Python (ctypes, see maskfeed/cuda_compaction.py) and C++ can call it with raw
 * device pointers. Every function returns 0 or a cudaError_t value; maskfeed_cuda_error_string
 * names it. */
#ifndef MASKFEED_CLIENT_CUDA_COMPACTION_H_
#define MASKFEED_CLIENT_CUDA_COMPACTION_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most tensors one call gathers, and the most slots it keeps per row (the slot table
 * lives in 48 KiB of shared memory). */
#define MASKFEED_COMPACT_MAX_TENSORS 8
#define MASKFEED_COMPACT_MAX_KEEP 12288

/* mask: uint8 (B, L), nonzero = excluded. For each of the n_tensors tensors t, src[t] is
 * (B, L, row_bytes[t]) bytes and dst[t] receives (B, N, row_bytes[t]); slots whose position is
 * masked are zero. index_out (B, N) int32 gets the source position of each slot and
 * kept_mask_out (B, N) uint8 its mask; either may be null. Requires: 0 < N <= L <= 65536, N <=
 * MASKFEED_COMPACT_MAX_KEEP, n_tensors <= MASKFEED_COMPACT_MAX_TENSORS, all pointers on the current
 * device. `stream` is a cudaStream_t (null: the default stream). Asynchronous: returns after the
 * launch. */
int maskfeed_compact(const uint8_t* mask, int64_t batch, int64_t length, int64_t keep,
                     int n_tensors, const void* const* src, void* const* dst,
                     const int64_t* row_bytes, int32_t* index_out, uint8_t* kept_mask_out,
                     void* stream);

/* Number of CUDA devices visible (0 without a GPU or driver). */
int maskfeed_cuda_device_count(void);

const char* maskfeed_cuda_error_string(int error);

#ifdef __cplusplus
}
#endif

#endif /* MASKFEED_CLIENT_CUDA_COMPACTION_H_ */
