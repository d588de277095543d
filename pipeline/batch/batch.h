// A batch in 4M's layout: per modality (sorted by name) four fixed-shape tensors, `tensor`,
// `input_mask`, `target_mask` and `decoder_attention_mask`, each one contiguous C-ordered
// little-endian buffer with the batch as its leading axis (docs/masking.md#the-batch). Masks use
// 4M's polarity: 1 = excluded.
#ifndef MASKFEED_PIPELINE_BATCH_BATCH_H_
#define MASKFEED_PIPELINE_BATCH_BATCH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/base/dtype.h"

namespace maskfeed {

class BufferPool;

// An uninitialised byte buffer (no zero fill: every byte of a batch is written by masking).
// A buffer from a BufferPool goes back to it when destroyed, wherever that happens.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) : data_(new std::byte[size]), size_(size) {}
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Release(); }

  std::byte* data() { return data_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  friend class BufferPool;
  Buffer(std::byte* data, size_t size, std::shared_ptr<BufferPool> pool)
      : data_(data), size_(size), pool_(std::move(pool)) {}
  void Release();

  std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<BufferPool> pool_;  // null: plain new[] / delete[]
};

// Recycles batch buffers: a stream allocates the same sizes batch after batch, and reusing
// them avoids the kernel zeroing fresh pages (which cost a tenth of a stream's time) and
// finds them warm in cache. Thread-safe. `budget_bytes` bounds what the pool holds, handed
// out and cached together: a miss first frees cached buffers until the new one fits, and a
// returned buffer is kept only while the total stays within it. So a pool never holds more
// than max(budget, the bytes its callers hold at once).
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static std::shared_ptr<BufferPool> Create(size_t budget_bytes);
  ~BufferPool();

  Buffer Get(size_t size);
  // Bytes of returned buffers kept for reuse.
  size_t cached_bytes() const;
  // Bytes of buffers handed out and not yet returned.
  size_t in_use_bytes() const;

 private:
  explicit BufferPool(size_t budget_bytes) : budget_bytes_(budget_bytes) {}
  friend class Buffer;
  void Put(std::byte* data, size_t size);

  const size_t budget_bytes_;
  mutable std::mutex mu_;
  std::vector<std::pair<size_t, std::byte*>> free_;  // guarded by mu_; oldest first
  size_t cached_bytes_ = 0;                          // guarded by mu_
  size_t in_use_bytes_ = 0;                          // guarded by mu_
};

struct HostTensor {
  DType dtype = DType::kInt32;
  std::vector<int64_t> shape;
  Buffer data;

  // Bytes of the plain tensor (its shape and dtype), whether or not `data` holds them: a
  // tensor that the producer packed for the wire gives its plain buffer back.
  size_t nbytes() const {
    size_t n = ItemSize(dtype);
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return n;
  }

  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data.data());
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

// Compact wire forms of a tensor (values of feed.proto's Packing; made by
// pipeline/collate/tensor_packing.h, undone by tensor_unpacking.h).
enum class Packing : uint8_t {
  kNone = 0,
  kBits = 1,
  kUint16 = 2,
  kTargetCountAtFirst = 3,
  kTargetIndicator = 4,
};

// A tensor's compact form, made while the batch is built (streams asked to pack for the
// wire): `packing` is kNone when some row's values did not allow one.
struct PackedTensor {
  Packing packing = Packing::kNone;
  Buffer data;  // empty for the derived attention forms
};

struct ModalityBatch {
  std::string name;
  HostTensor tensor;
  HostTensor input_mask;
  HostTensor target_mask;
  HostTensor decoder_attention_mask;
  // Same order as the four tensors above; all kNone unless the producer packed.
  std::array<PackedTensor, 4> packed;
};

struct Batch {
  int64_t size = 0;
  std::vector<ModalityBatch> modalities;
  // Per row, which dataset of a mixture (0 for a single dataset) and which of its samples
  // (filled by streams; empty otherwise).
  std::vector<uint32_t> datasets;
  std::vector<uint64_t> samples;
  // The config names `datasets` indexes: a mixture's components in order, or the one dataset.
  std::vector<std::string> dataset_names;
  // Rows at the end that hold no sample (evaluation passes; every mask 1).
  uint32_t padding_rows = 0;

  // Bytes of all tensors in their plain form (as a trainer receives them).
  size_t bytes() const {
    size_t total = 0;
    for (const ModalityBatch& m : modalities) {
      total += m.tensor.nbytes() + m.input_mask.nbytes() + m.target_mask.nbytes() +
               m.decoder_attention_mask.nbytes();
    }
    return total;
  }
};

// A batch as a stream delivers it, in process or over the wire: the batch, its place in the
// rank's sequence, and the token that resumes right after it.
struct StreamBatch {
  Batch batch;
  uint64_t sequence = 0;     // this rank's batch index since the start of training
  std::string resume_token;  // resumes right after this batch
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BATCH_BATCH_H_
