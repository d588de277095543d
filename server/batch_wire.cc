#include "server/batch_wire.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/support/slice.h"

namespace maskfeed {
namespace {

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
// Tensors smaller than this are copied into the header slice: a slice per tiny tensor costs
// more than the copy.
constexpr size_t kMinZeroCopyBytes = 4096;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutTag(std::string* out, uint32_t field, uint32_t wire_type) {
  PutVarint(out, (field << 3) | wire_type);
}

// Size of a length-delimited field (tag + length + payload) for fields below 16.
size_t FieldSize(size_t payload) { return 1 + VarintSize(payload) + payload; }

size_t PackedSize(const std::vector<int64_t>& values) {
  size_t n = 0;
  for (int64_t v : values) n += VarintSize(static_cast<uint64_t>(v));
  return n;
}

// A tensor as it goes on the wire: the plain one, or the packed form the producer made.
struct WireTensor {
  const HostTensor* plain = nullptr;
  Packing packing = Packing::kNone;
  const std::byte* data = nullptr;  // into the batch
  size_t size = 0;
};

size_t TensorSize(const WireTensor& w) {
  const HostTensor& t = *w.plain;
  size_t n = 0;
  if (t.dtype != DType{}) n += 1 + VarintSize(static_cast<uint64_t>(t.dtype));
  if (!t.shape.empty()) n += FieldSize(PackedSize(t.shape));
  if (w.size > 0) n += FieldSize(w.size);
  if (w.packing != Packing::kNone) n += 1 + VarintSize(static_cast<uint64_t>(w.packing));
  return n;
}

// The four tensors of a modality: packed forms where the producer made them, plain otherwise.
std::array<WireTensor, 4> WireTensors(const ModalityBatch& m) {
  const HostTensor* plain[4] = {&m.tensor, &m.input_mask, &m.target_mask,
                                &m.decoder_attention_mask};
  std::array<WireTensor, 4> w;
  for (int i = 0; i < 4; ++i) {
    const PackedTensor& p = m.packed[i];
    w[i].plain = plain[i];
    if (p.packing != Packing::kNone) {
      w[i].packing = p.packing;
      w[i].data = p.data.data();
      w[i].size = p.data.size();
    } else {
      w[i].data = plain[i]->data.data();
      w[i].size = plain[i]->data.size();
    }
  }
  return w;
}

// Builds the message as a list of slices: header bytes accumulate in `head_` and are flushed
// as one slice whenever a large tensor is added by reference.
class SliceWriter {
 public:
  explicit SliceWriter(std::shared_ptr<const StreamBatch> batch) : batch_(std::move(batch)) {}

  std::string* head() { return &head_; }

  void AddBytes(const std::byte* data, size_t size) {
    if (size < kMinZeroCopyBytes) {
      head_.append(reinterpret_cast<const char*>(data), size);
      return;
    }
    Flush();
    auto* owner = new std::shared_ptr<const StreamBatch>(batch_);
    slices_.emplace_back(
        const_cast<std::byte*>(data), size,
        [](void* p) { delete static_cast<std::shared_ptr<const StreamBatch>*>(p); }, owner);
  }

  grpc::ByteBuffer Finish() {
    Flush();
    return grpc::ByteBuffer(slices_.data(), slices_.size());
  }

 private:
  // Hands the header bytes to a slice without copying them.
  void Flush() {
    if (head_.empty()) return;
    auto* owned = new std::string(std::move(head_));
    slices_.emplace_back(
        owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
    head_ = std::string();
  }

  std::shared_ptr<const StreamBatch> batch_;
  std::string head_;
  std::vector<grpc::Slice> slices_;
};

void PutTensor(SliceWriter* w, uint32_t field, const WireTensor& wt) {
  const HostTensor& t = *wt.plain;
  std::string* h = w->head();
  PutTag(h, field, kLengthDelimited);
  PutVarint(h, TensorSize(wt));
  if (t.dtype != DType{}) {
    PutTag(h, 1, kVarint);
    PutVarint(h, static_cast<uint64_t>(t.dtype));
  }
  if (!t.shape.empty()) {
    PutTag(h, 2, kLengthDelimited);
    PutVarint(h, PackedSize(t.shape));
    for (int64_t d : t.shape) PutVarint(h, static_cast<uint64_t>(d));
  }
  if (wt.size > 0) {
    PutTag(h, 3, kLengthDelimited);
    PutVarint(h, wt.size);
    w->AddBytes(wt.data, wt.size);
  }
  if (wt.packing != Packing::kNone) {
    PutTag(h, 4, kVarint);
    PutVarint(h, static_cast<uint64_t>(wt.packing));
  }
}

template <typename T>
void PutPacked(std::string* h, uint32_t field, const std::vector<T>& values) {
  if (values.empty()) return;
  size_t n = 0;
  for (T v : values) n += VarintSize(v);
  PutTag(h, field, kLengthDelimited);
  PutVarint(h, n);
  for (T v : values) PutVarint(h, v);
}

}  // namespace

grpc::ByteBuffer EncodeBatch(StreamBatch batch) {
  auto owned = std::make_shared<const StreamBatch>(std::move(batch));
  const StreamBatch& b = *owned;
  SliceWriter w(owned);
  std::string* h = w.head();
  // Fields in number order with proto3's defaults omitted, as protobuf itself serializes.
  if (b.sequence != 0) {
    PutTag(h, 1, kVarint);
    PutVarint(h, b.sequence);
  }
  if (!b.resume_token.empty()) {
    PutTag(h, 2, kLengthDelimited);
    PutVarint(h, b.resume_token.size());
    h->append(b.resume_token);
  }
  if (b.batch.size != 0) {
    PutTag(h, 3, kVarint);
    PutVarint(h, static_cast<uint64_t>(b.batch.size));
  }
  for (const ModalityBatch& m : b.batch.modalities) {
    const std::array<WireTensor, 4> tensors = WireTensors(m);
    size_t size = m.name.empty() ? 0 : FieldSize(m.name.size());
    for (const WireTensor& t : tensors) size += FieldSize(TensorSize(t));
    PutTag(h, 4, kLengthDelimited);
    PutVarint(h, size);
    if (!m.name.empty()) {
      PutTag(h, 1, kLengthDelimited);
      PutVarint(h, m.name.size());
      h->append(m.name);
    }
    for (uint32_t i = 0; i < 4; ++i) PutTensor(&w, 2 + i, tensors[i]);
    h = w.head();
  }
  PutPacked(h, 5, b.batch.datasets);
  PutPacked(h, 6, b.batch.samples);
  return w.Finish();
}

v1::Batch BatchToProto(const StreamBatch& batch) {
  v1::Batch out;
  out.set_sequence(batch.sequence);
  out.set_resume_token(batch.resume_token);
  out.set_size(batch.batch.size);
  auto tensor = [](const HostTensor& t, v1::Tensor* p) {
    p->set_dtype(static_cast<v1::DType>(t.dtype));
    for (int64_t d : t.shape) p->add_shape(d);
    p->set_data(reinterpret_cast<const char*>(t.data.data()), t.data.size());
  };
  for (const ModalityBatch& m : batch.batch.modalities) {
    v1::ModalityBatch* p = out.add_modalities();
    p->set_name(m.name);
    tensor(m.tensor, p->mutable_tensor());
    tensor(m.input_mask, p->mutable_input_mask());
    tensor(m.target_mask, p->mutable_target_mask());
    tensor(m.decoder_attention_mask, p->mutable_decoder_attention_mask());
  }
  for (uint32_t d : batch.batch.datasets) out.add_datasets(d);
  for (uint64_t s : batch.batch.samples) out.add_samples(s);
  return out;
}

}  // namespace maskfeed
