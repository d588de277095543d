// A batch in 4M's layout: per modality (sorted by name) four fixed-shape tensors, `tensor`,
// `input_mask`, `target_mask` and `decoder_attention_mask`, each one contiguous C-ordered
// little-endian buffer with the batch as its leading axis (spec §6). Masks use 4M's polarity:
// 1 = excluded.
#ifndef MASKFEED_PIPELINE_BATCH_BATCH_H_
#define MASKFEED_PIPELINE_BATCH_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/shard/dtype.h"

namespace maskfeed {

// An uninitialised byte buffer (no zero fill: every byte of a batch is written by masking).
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) : data_(new std::byte[size]), size_(size) {}
  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<std::byte[]> data_;
  size_t size_ = 0;
};

struct HostTensor {
  DType dtype = DType::kInt32;
  std::vector<int64_t> shape;
  Buffer data;

  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data.data());
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data.data());
  }
};

struct ModalityBatch {
  std::string name;
  HostTensor tensor;
  HostTensor input_mask;
  HostTensor target_mask;
  HostTensor decoder_attention_mask;
};

struct Batch {
  int64_t size = 0;
  std::vector<ModalityBatch> modalities;
  // Per row, which dataset of a mixture (0 for a single dataset) and which of its samples
  // (filled by streams; empty otherwise).
  std::vector<uint32_t> datasets;
  std::vector<uint64_t> samples;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BATCH_BATCH_H_
