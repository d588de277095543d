// The client's side of the wire: a hostile server's Batch message, parsed and expanded into
// plain tensors (packed bits, uint16, derived attention masks) with every size checked.
#include "client/cpp/feed_client.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  static std::shared_ptr<BufferPool> pool = BufferPool::Create(64 << 20);
  v1::Batch wire;
  if (!wire.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<Batch> batch = ExpandBatch(wire, pool.get());
  if (!batch.ok()) return 0;
  for (const ModalityBatch& m : batch->modalities) {
    fuzz::Check(m.tensor.data.size() >= m.tensor.nbytes() || m.tensor.nbytes() == 0,
                "an expanded tensor smaller than its shape");
  }
  return 0;
}
