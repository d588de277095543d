// The wire encoding of a batch: a maskfeed.v1.Batch message (feed.proto) written straight from
// the pipeline's buffers. The message's small fields are serialized into short header slices with
// protobuf's own varint and tag helpers and the generated field numbers, and each tensor's bytes go
// to gRPC as a slice that points into the batch itself (kept alive until gRPC lets go of it): the
// hot path copies no tensor data. The result parses as an ordinary v1::Batch and, plain, equals
// BatchToProto(...) serialized (tests check this).
#ifndef MASKFEED_SERVER_BATCH_WIRE_H_
#define MASKFEED_SERVER_BATCH_WIRE_H_

#include "grpcpp/support/byte_buffer.h"
#include "maskfeed/v1/feed.pb.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// Serializes `batch`; the returned buffer owns it. No tensor bytes are copied. Tensors the
// producer packed (streams with pack_for_wire, i.e. ENCODING_PACKED requests) travel in their
// Packing form, the others plain.
grpc::ByteBuffer EncodeBatch(StreamBatch batch);

// The same message built the ordinary way (copies every tensor): for tests and tools.
v1::Batch BatchToProto(const StreamBatch& batch);

}  // namespace maskfeed

#endif  // MASKFEED_SERVER_BATCH_WIRE_H_
