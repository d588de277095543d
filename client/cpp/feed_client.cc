#include "client/cpp/feed_client.h"

#include <cstdint>
#include <optional>
#include <tuple>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "pipeline/base/checked_math.h"
#include "pipeline/base/pem_file.h"
#include "pipeline/base/strings.h"
#include "pipeline/batch/tensor_unpacking.h"

namespace maskfeed {

absl::StatusOr<ChannelTls> LoadChannelTls(const std::string& ca_file, const std::string& cert_file,
                                          const std::string& key_file,
                                          const std::string& server_name) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "tls: a client certificate needs its private key (--tls-cert with --tls-key)");
  }
  ChannelTls tls;
  tls.server_name = server_name;
  for (auto [field, path, pem] : {std::tuple{"tls ca", &ca_file, &tls.ca_pem},
                                  std::tuple{"tls cert", &cert_file, &tls.cert_pem},
                                  std::tuple{"tls key", &key_file, &tls.key_pem}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> read = ReadPemFile(field, *path);
    if (!read.ok()) return read.status();
    *pem = std::move(*read);
  }
  return tls;
}

std::shared_ptr<grpc::Channel> MakeFeedChannel(const std::string& address, const ChannelTls* tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  // Each stream gets its own connection: streams of one channel would share one HTTP/2
  // connection and its flow-control window.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Keepalive pings find a transport whose peer stopped answering (a frozen process, a
  // partition) while a stream waits for data; the server permits them (feed_server.cc).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  const bool unix_socket = address.rfind("unix:", 0) == 0;
  if (tls == nullptr || unix_socket) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls->ca_pem;
  ssl.pem_private_key = tls->key_pem;
  ssl.pem_cert_chain = tls->cert_pem;
  if (!tls->server_name.empty()) {
    args.SetString(GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, tls->server_name);
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<v1::DescribeResponse> DescribeFeed(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::Feed::NewStub(channel);
  grpc::ClientContext context;
  v1::DescribeResponse response;
  grpc::Status status = stub->Describe(&context, v1::DescribeRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

namespace {

constexpr size_t kPoolBytesPerReader = 64 << 20;

// The wire bytes a tensor of `count` values needs in its packing (derived attention values
// travel without bytes); nullopt for an unknown packing or sizes that do not fit 64 bits.
std::optional<uint64_t> WireBytes(v1::Packing packing, uint64_t count, uint64_t plain_bytes,
                                  const Matrix& m) {
  switch (packing) {
    case v1::PACKING_NONE:
      return plain_bytes;
    case v1::PACKING_BITS: {
      return CheckedMul(static_cast<uint64_t>(m.rows), static_cast<uint64_t>(BitsRowBytes(m.cols)));
    }
    case v1::PACKING_UINT16:
      return CheckedMul(count, 2);
    case v1::PACKING_TARGET_COUNT_AT_FIRST:
    case v1::PACKING_TARGET_INDICATOR:
      return 0;
    default:
      return std::nullopt;
  }
}

// One wire tensor into `out`, plain. `target_mask` is the modality's already expanded mask
// (for attention values derived from it). A client must survive a hostile server: every size
// is computed with overflow checks and matched against the bytes received before anything is
// allocated.
absl::Status ExpandTensor(const v1::Tensor& t, const HostTensor* target_mask, BufferPool* pool,
                          HostTensor* out) {
  out->dtype = static_cast<DType>(t.dtype());
  if (!v1::DType_IsValid(t.dtype()) || t.dtype() == v1::DTYPE_UNSPECIFIED) {
    return absl::InvalidArgumentError(StrCat("unknown dtype ", static_cast<int>(t.dtype())));
  }
  out->shape.assign(t.shape().begin(), t.shape().end());
  // Every prefix product (the rows of AsMatrix too) must fit, even when a later dim is 0.
  std::optional<uint64_t> count = 1;
  for (int64_t d : out->shape) {
    if (d < 0) return absl::InvalidArgumentError("negative dimension");
    if (count) count = CheckedMul(*count, static_cast<uint64_t>(d));
    if (count && *count > static_cast<uint64_t>(INT64_MAX)) count.reset();
  }
  const std::optional<uint64_t> bytes =
      count ? CheckedMul(*count, ItemSize(out->dtype)) : std::nullopt;
  if (!bytes) return absl::InvalidArgumentError("the shape's size does not fit in 64 bits");
  const Matrix m = AsMatrix(*out);
  const std::optional<uint64_t> expected = WireBytes(t.packing(), *count, *bytes, m);
  if (!expected) {
    return absl::InvalidArgumentError(StrCat("unknown packing ", static_cast<int>(t.packing())));
  }
  if (t.data().size() != *expected) {
    return absl::InvalidArgumentError(
        StrCat(t.data().size(), " bytes for ", *count, " values of ", v1::DType_Name(t.dtype()),
               " packed as ", v1::Packing_Name(t.packing()), " (", *expected, " expected)"));
  }
  const bool derived = t.packing() == v1::PACKING_TARGET_COUNT_AT_FIRST ||
                       t.packing() == v1::PACKING_TARGET_INDICATOR;
  if (derived &&
      (out->dtype != DType::kInt32 || target_mask == nullptr || target_mask->shape != out->shape)) {
    return absl::InvalidArgumentError("derived attention values without a matching target_mask");
  }
  out->data = pool->Get(*bytes);
  auto* dst = reinterpret_cast<uint8_t*>(out->data.data());
  switch (t.packing()) {
    case v1::PACKING_NONE:
      CopyUncached(dst, t.data().data(), *bytes);
      return absl::OkStatus();
    case v1::PACKING_BITS:
      if (out->dtype != DType::kUInt8) return absl::InvalidArgumentError("bit-packed non-uint8");
      return UnpackBits(t.data(), m, dst);
    case v1::PACKING_UINT16:
      if (out->dtype != DType::kInt32 && out->dtype != DType::kInt64) {
        return absl::InvalidArgumentError("uint16-packed non-integer ids");
      }
      return UnpackUint16(t.data(), m, out->dtype == DType::kInt64, dst);
    case v1::PACKING_TARGET_INDICATOR:
      DeriveTargetIndicator(target_mask->as<uint8_t>(), m, reinterpret_cast<int32_t*>(dst));
      return absl::OkStatus();
    default:  // PACKING_TARGET_COUNT_AT_FIRST: WireBytes refused every other value
      DeriveTargetCountAtFirst(target_mask->as<uint8_t>(), m, reinterpret_cast<int32_t*>(dst));
      return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<Batch> ExpandBatch(const v1::Batch& wire, BufferPool* pool) {
  Batch batch;
  batch.size = wire.size();
  batch.modalities.resize(static_cast<size_t>(wire.modalities_size()));
  for (int i = 0; i < wire.modalities_size(); ++i) {
    const v1::ModalityBatch& w = wire.modalities(i);
    ModalityBatch& m = batch.modalities[static_cast<size_t>(i)];
    m.name = w.name();
    // The target mask first: attention values may derive from it.
    for (auto [from, to, what] : {std::tuple{&w.target_mask(), &m.target_mask, "target_mask"},
                                  std::tuple{&w.tensor(), &m.tensor, "tensor"},
                                  std::tuple{&w.input_mask(), &m.input_mask, "input_mask"},
                                  std::tuple{&w.decoder_attention_mask(), &m.decoder_attention_mask,
                                             "decoder_attention_mask"}}) {
      if (absl::Status s = ExpandTensor(*from, &m.target_mask, pool, to); !s.ok()) {
        return absl::InvalidArgumentError(
            StrCat("batch ", wire.sequence(), ", ", w.name(), ".", what, ": ", ToStd(s.message())));
      }
    }
  }
  batch.datasets.assign(wire.datasets().begin(), wire.datasets().end());
  batch.samples.assign(wire.samples().begin(), wire.samples().end());
  batch.dataset_names.assign(wire.dataset_names().begin(), wire.dataset_names().end());
  batch.padding_rows = wire.padding_rows();
  return batch;
}

BatchReader::BatchReader(const std::shared_ptr<grpc::Channel>& channel,
                         const v1::StreamBatchesRequest& request)
    : stub_(v1::Feed::NewStub(channel)),
      token_(request.resume_token()),
      pool_(BufferPool::Create(kPoolBytesPerReader)) {
  reader_ = stub_->StreamBatches(&context_, request);
}

BatchReader::~BatchReader() {
  if (!done_) {
    context_.TryCancel();
    reader_->Finish();
  }
}

absl::StatusOr<std::optional<StreamBatch>> BatchReader::Next() {
  if (done_) {
    if (final_.ok()) return std::optional<StreamBatch>();
    return final_;
  }
  if (reader_->Read(&wire_)) {
    last_wire_bytes_ = wire_.ByteSizeLong();
    absl::StatusOr<Batch> batch = ExpandBatch(wire_, pool_.get());
    if (!batch.ok()) {
      done_ = true;
      final_ = absl::DataLossError(batch.status().message());
      context_.TryCancel();
      reader_->Finish();
      return final_;
    }
    token_ = wire_.resume_token();
    StreamBatch out;
    out.batch = std::move(*batch);
    out.sequence = wire_.sequence();
    out.resume_token = token_;
    return std::optional<StreamBatch>(std::move(out));
  }
  done_ = true;
  final_ = FromGrpcStatus(reader_->Finish());
  const auto& trailers = context_.GetServerTrailingMetadata();
  if (auto it = trailers.find(kClientResumeTokenKey); it != trailers.end()) {
    token_.assign(it->second.data(), it->second.size());
  }
  if (final_.ok()) return std::optional<StreamBatch>();
  return final_;
}

}  // namespace maskfeed
