#include "pipeline/collate/collator.h"

namespace maskfeed {
namespace {

HostTensor MakeTensor(DType dtype, std::vector<int64_t> shape, BufferPool* pool) {
  size_t elements = 1;
  for (int64_t d : shape) elements *= static_cast<size_t>(d);
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  const size_t bytes = elements * ItemSize(dtype);
  t.data = pool != nullptr ? pool->Get(bytes) : Buffer(bytes);
  return t;
}

size_t PixelBytes(const ModalitySpec& mod) {
  return 3 * static_cast<size_t>(mod.pixel_size) * static_cast<size_t>(mod.pixel_size);
}

// Bytes of one row of the modality's value tensor as it is written (ids as int32).
size_t ValueBytes(const ModalitySpec& mod) {
  const auto length = static_cast<size_t>(mod.length());
  if (mod.type == ModalityType::kSeqEmb) {
    return length * static_cast<size_t>(mod.embedding_dim) * sizeof(float);
  }
  if (mod.is_pixels()) return PixelBytes(mod);
  return length * sizeof(int32_t);
}

}  // namespace

Collator::Collator(const MaskingSpec& spec, CollatorOptions options)
    : spec_(spec), options_(options) {}

Batch Collator::Allocate(int64_t batch_size, BufferPool* pool) const {
  Batch batch;
  batch.size = batch_size;
  batch.modalities.reserve(spec_.modalities.size());
  for (const ModalitySpec& mod : spec_.modalities) {
    const int64_t length = mod.length();
    ModalityBatch mb;
    mb.name = mod.name;
    if (mod.type == ModalityType::kSeqEmb) {
      mb.tensor = MakeTensor(DType::kFloat32, {batch_size, length, mod.embedding_dim}, pool);
    } else if (mod.is_pixels()) {
      mb.tensor = MakeTensor(DType::kUInt8, {batch_size, 3, mod.pixel_size, mod.pixel_size}, pool);
    } else {
      // Sized for int64 when asked: rows are written as int32 and widened in place by Finish.
      mb.tensor = MakeTensor(options_.int64_tokens ? DType::kInt64 : DType::kInt32,
                             {batch_size, length}, pool);
    }
    mb.input_mask = MakeTensor(DType::kUInt8, {batch_size, length}, pool);
    mb.target_mask = MakeTensor(DType::kUInt8, {batch_size, length}, pool);
    mb.decoder_attention_mask = MakeTensor(DType::kInt32, {batch_size, length}, pool);
    batch.modalities.push_back(std::move(mb));
  }
  return batch;
}

void Collator::RowOf(Batch& batch, int64_t row, std::vector<ModalityRow>* out) const {
  out->resize(spec_.modalities.size());
  for (size_t m = 0; m < spec_.modalities.size(); ++m) {
    const ModalitySpec& mod = spec_.modalities[m];
    ModalityBatch& mb = batch.modalities[m];
    const size_t length = static_cast<size_t>(mod.length());
    const size_t at = static_cast<size_t>(row) * length;
    ModalityRow& r = (*out)[m];
    r.tokens = nullptr;
    r.embeddings = nullptr;
    r.pixels = nullptr;
    if (mod.type == ModalityType::kSeqEmb) {
      r.embeddings = mb.tensor.as<float>() + at * static_cast<size_t>(mod.embedding_dim);
    } else if (mod.is_pixels()) {
      r.pixels = mb.tensor.as<uint8_t>() + static_cast<size_t>(row) * PixelBytes(mod);
    } else {
      r.tokens = mb.tensor.as<int32_t>() + at;
    }
    r.input_mask = mb.input_mask.as<uint8_t>() + at;
    r.target_mask = mb.target_mask.as<uint8_t>() + at;
    r.decoder_attention = mb.decoder_attention_mask.as<int32_t>() + at;
  }
}

void Collator::ScratchRowOf(std::vector<std::byte>* storage, std::vector<ModalityRow>* out) const {
  // Each modality's 4-byte values first, then its masks; every block 64-byte aligned.
  constexpr size_t kAlign = 64;
  const auto round_up = [](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  size_t bytes = 0;
  for (const ModalitySpec& mod : spec_.modalities) {
    const size_t length = static_cast<size_t>(mod.length());
    bytes += round_up(ValueBytes(mod)) + round_up(length * 4) + 2 * round_up(length);
  }
  if (storage->size() < bytes + kAlign) storage->resize(bytes + kAlign);
  auto at = reinterpret_cast<uintptr_t>(storage->data());
  at = (at + kAlign - 1) / kAlign * kAlign;
  const auto take = [&](size_t n) {
    std::byte* p = reinterpret_cast<std::byte*>(at);
    at += round_up(n);
    return p;
  };
  out->resize(spec_.modalities.size());
  for (size_t m = 0; m < spec_.modalities.size(); ++m) {
    const ModalitySpec& mod = spec_.modalities[m];
    const size_t length = static_cast<size_t>(mod.length());
    ModalityRow& r = (*out)[m];
    r.tokens = nullptr;
    r.embeddings = nullptr;
    r.pixels = nullptr;
    if (mod.type == ModalityType::kSeqEmb) {
      r.embeddings = reinterpret_cast<float*>(take(ValueBytes(mod)));
    } else if (mod.is_pixels()) {
      r.pixels = reinterpret_cast<uint8_t*>(take(ValueBytes(mod)));
    } else {
      r.tokens = reinterpret_cast<int32_t*>(take(ValueBytes(mod)));
    }
    r.decoder_attention = reinterpret_cast<int32_t*>(take(length * sizeof(int32_t)));
    r.input_mask = reinterpret_cast<uint8_t*>(take(length));
    r.target_mask = reinterpret_cast<uint8_t*>(take(length));
  }
}

void Collator::Finish(Batch* batch) const {
  if (!options_.int64_tokens) return;
  for (size_t m = 0; m < spec_.modalities.size(); ++m) {
    HostTensor& t = batch->modalities[m].tensor;
    if (t.dtype != DType::kInt64) continue;
    // Widen back to front: element i's 8 bytes never overlap the 4-byte elements before it.
    const size_t n = t.data.size() / sizeof(int64_t);
    const int32_t* narrow = t.as<int32_t>();
    int64_t* wide = t.as<int64_t>();
    for (size_t i = n; i-- > 0;) {
      const int32_t v = narrow[i];
      wide[i] = v;
    }
  }
}

size_t Collator::RowBytes() const {
  size_t bytes = 0;
  for (const ModalitySpec& mod : spec_.modalities) {
    const size_t length = static_cast<size_t>(mod.length());
    bytes += ValueBytes(mod) + 2 * length + length * sizeof(int32_t);
  }
  return bytes;
}

}  // namespace maskfeed
