#include "server/batch_wire.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/slice.h"

namespace maskfeed {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

// Tensors smaller than this are copied into the header slice: a slice per tiny tensor costs
// more than the copy.
constexpr size_t kMinZeroCopyBytes = 4096;

size_t VarintSize(uint64_t v) { return CodedOutputStream::VarintSize64(v); }

void PutVarint(std::string* out, uint64_t v) {
  uint8_t buf[10];
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(v, buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf));
}

void PutTag(std::string* out, int field, WireFormatLite::WireType type) {
  PutVarint(out, WireFormatLite::MakeTag(field, type));
}

// Size of a tag of a varint field, or of a length-delimited field (tag, length, payload).
size_t TagSize(int field) { return WireFormatLite::TagSize(field, WireFormatLite::TYPE_UINT64); }
size_t FieldSize(int field, size_t payload) {
  return TagSize(field) + WireFormatLite::LengthDelimitedSize(payload);
}

size_t PackedSize(const std::vector<int64_t>& values) {
  size_t n = 0;
  for (int64_t v : values) n += VarintSize(static_cast<uint64_t>(v));
  return n;
}

constexpr auto kVarint = WireFormatLite::WIRETYPE_VARINT;
constexpr auto kLengthDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;

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
  if (t.dtype != DType{}) {
    n += TagSize(v1::Tensor::kDtypeFieldNumber) + VarintSize(static_cast<uint64_t>(t.dtype));
  }
  if (!t.shape.empty()) n += FieldSize(v1::Tensor::kShapeFieldNumber, PackedSize(t.shape));
  if (w.size > 0) n += FieldSize(v1::Tensor::kDataFieldNumber, w.size);
  if (w.packing != Packing::kNone) {
    n += TagSize(v1::Tensor::kPackingFieldNumber) + VarintSize(static_cast<uint64_t>(w.packing));
  }
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

void PutTensor(SliceWriter* w, int field, const WireTensor& wt) {
  const HostTensor& t = *wt.plain;
  std::string* h = w->head();
  PutTag(h, field, kLengthDelimited);
  PutVarint(h, TensorSize(wt));
  if (t.dtype != DType{}) {
    PutTag(h, v1::Tensor::kDtypeFieldNumber, kVarint);
    PutVarint(h, static_cast<uint64_t>(t.dtype));
  }
  if (!t.shape.empty()) {
    PutTag(h, v1::Tensor::kShapeFieldNumber, kLengthDelimited);
    PutVarint(h, PackedSize(t.shape));
    for (int64_t d : t.shape) PutVarint(h, static_cast<uint64_t>(d));
  }
  if (wt.size > 0) {
    PutTag(h, v1::Tensor::kDataFieldNumber, kLengthDelimited);
    PutVarint(h, wt.size);
    w->AddBytes(wt.data, wt.size);
  }
  if (wt.packing != Packing::kNone) {
    PutTag(h, v1::Tensor::kPackingFieldNumber, kVarint);
    PutVarint(h, static_cast<uint64_t>(wt.packing));
  }
}

template <typename T>
void PutPacked(std::string* h, int field, const std::vector<T>& values) {
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
    PutTag(h, v1::Batch::kSequenceFieldNumber, kVarint);
    PutVarint(h, b.sequence);
  }
  if (!b.resume_token.empty()) {
    PutTag(h, v1::Batch::kResumeTokenFieldNumber, kLengthDelimited);
    PutVarint(h, b.resume_token.size());
    h->append(b.resume_token);
  }
  if (b.batch.size != 0) {
    PutTag(h, v1::Batch::kSizeFieldNumber, kVarint);
    PutVarint(h, static_cast<uint64_t>(b.batch.size));
  }
  // The four tensors' fields, in the order WireTensors returns them.
  constexpr int kTensorFields[4] = {v1::ModalityBatch::kTensorFieldNumber,
                                    v1::ModalityBatch::kInputMaskFieldNumber,
                                    v1::ModalityBatch::kTargetMaskFieldNumber,
                                    v1::ModalityBatch::kDecoderAttentionMaskFieldNumber};
  for (const ModalityBatch& m : b.batch.modalities) {
    const std::array<WireTensor, 4> tensors = WireTensors(m);
    size_t size =
        m.name.empty() ? 0 : FieldSize(v1::ModalityBatch::kNameFieldNumber, m.name.size());
    for (int i = 0; i < 4; ++i) size += FieldSize(kTensorFields[i], TensorSize(tensors[i]));
    PutTag(h, v1::Batch::kModalitiesFieldNumber, kLengthDelimited);
    PutVarint(h, size);
    if (!m.name.empty()) {
      PutTag(h, v1::ModalityBatch::kNameFieldNumber, kLengthDelimited);
      PutVarint(h, m.name.size());
      h->append(m.name);
    }
    for (int i = 0; i < 4; ++i) PutTensor(&w, kTensorFields[i], tensors[i]);
    h = w.head();
  }
  PutPacked(h, v1::Batch::kDatasetsFieldNumber, b.batch.datasets);
  PutPacked(h, v1::Batch::kSamplesFieldNumber, b.batch.samples);
  for (const std::string& name : b.batch.dataset_names) {
    PutTag(h, v1::Batch::kDatasetNamesFieldNumber, kLengthDelimited);
    PutVarint(h, name.size());
    h->append(name);
  }
  if (b.batch.padding_rows != 0) {
    PutTag(h, v1::Batch::kPaddingRowsFieldNumber, kVarint);
    PutVarint(h, b.batch.padding_rows);
  }
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
  for (const std::string& name : batch.batch.dataset_names) out.add_dataset_names(name);
  out.set_padding_rows(batch.batch.padding_rows);
  return out;
}

}  // namespace maskfeed
