// The C++ client of the Feed service: channels with the message limits maskfeed needs, and a
// BatchReader over one StreamBatches call that keeps the resume token of the last batch it
// returned (or, when the stream ends with an error, the one the server put in the trailing
// metadata).
//
//   std::shared_ptr<grpc::Channel> channel = MakeFeedChannel("unix:/run/maskfeed.sock");
//   BatchReader reader(channel, request);
//   while (true) {
//     absl::StatusOr<std::optional<StreamBatch>> batch = reader.Next();
//     if (!batch.ok()) return Reconnect(reader.resume_token());  // yours; or use Feed (feed.h)
//     if (!batch->has_value()) break;                           // max_batches reached
//     Train((*batch)->batch);
//   }
#ifndef MASKFEED_CLIENT_CPP_FEED_CLIENT_H_
#define MASKFEED_CLIENT_CPP_FEED_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "maskfeed/v1/feed.grpc.pb.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// Trailing metadata key of the resume token when a stream ends early (as the server sets it).
inline constexpr char kClientResumeTokenKey[] = "maskfeed-resume-token-bin";
// The channel's keepalive: a ping after this long without one, the transport closed when it
// is not answered within the timeout.
inline constexpr int kKeepaliveTimeMs = 10000;
inline constexpr int kKeepaliveTimeoutMs = 10000;

// TLS for channels to "host:port" addresses of a server started with --tls-cert (Unix
// sockets stay plaintext: the server guards them with file permissions).
struct ChannelTls {
  std::string ca_pem;       // roots that signed the server's certificate; empty: the system's
  std::string cert_pem;     // the client's certificate chain and key, for mutual TLS
  std::string key_pem;      //   (both or neither)
  std::string server_name;  // the name the server's certificate must carry; empty: the host
};

// Reads the PEM files of a ChannelTls (each may be empty); errors name the file and
// INVALID_ARGUMENT says when only one of cert and key is given.
absl::StatusOr<ChannelTls> LoadChannelTls(const std::string& ca_file, const std::string& cert_file,
                                          const std::string& key_file,
                                          const std::string& server_name = "");

// A channel ("host:port" or "unix:/path") that accepts messages of any size (a batch is
// batch_size x ~20 KB for 4m-7), with keepalive pings; TLS for "host:port" when `tls` is
// given, plaintext otherwise.
std::shared_ptr<grpc::Channel> MakeFeedChannel(const std::string& address,
                                               const ChannelTls* tls = nullptr);

absl::Status FromGrpcStatus(const grpc::Status& status);

// A received batch as plain host tensors (the pipeline's Batch, as an in-process stream gives
// it), expanding packed tensors (ENCODING_PACKED). Buffers come from `pool`.
// INVALID_ARGUMENT naming the batch, modality and tensor when the data does not fit its shape.
absl::StatusOr<Batch> ExpandBatch(const v1::Batch& wire, BufferPool* pool);

// Describe, as a status-or.
absl::StatusOr<v1::DescribeResponse> DescribeFeed(const std::shared_ptr<grpc::Channel>& channel);

class BatchReader {
 public:
  BatchReader(const std::shared_ptr<grpc::Channel>& channel,
              const v1::StreamBatchesRequest& request);
  ~BatchReader();  // cancels the call if it is still open

  // The next batch, plain (packed ones expanded); nullopt when the server ended the stream
  // normally (max_batches); an error otherwise (DATA_LOSS for a batch that cannot be expanded),
  // and the same error on every later call.
  absl::StatusOr<std::optional<StreamBatch>> Next();
  // Size of the last message received (what crossed the wire).
  size_t last_wire_bytes() const { return last_wire_bytes_; }
  // Resumes after the last batch Next() returned (the request's own token before any).
  const std::string& resume_token() const { return token_; }
  // Ends the call from the client side (Next() then fails with CANCELLED).
  void Cancel() { context_.TryCancel(); }

 private:
  std::unique_ptr<v1::Feed::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::Batch>> reader_;
  std::string token_;
  std::shared_ptr<BufferPool> pool_;
  v1::Batch wire_;  // reused: its strings keep their capacity
  size_t last_wire_bytes_ = 0;
  bool done_ = false;
  absl::Status final_;
};

}  // namespace maskfeed

#endif  // MASKFEED_CLIENT_CPP_FEED_CLIENT_H_
