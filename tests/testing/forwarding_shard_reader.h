// A shard reader that forwards every call to the reader it wraps: tests derive from it and
// override what they watch (reads, holds) or break (injected damage).
#ifndef MASKFEED_TESTS_TESTING_FORWARDING_SHARD_READER_H_
#define MASKFEED_TESTS_TESTING_FORWARDING_SHARD_READER_H_

#include <memory>

#include "pipeline/shard/shard_reader.h"

namespace maskfeed::testing {

class ForwardingShardReader : public ShardReader {
 public:
  explicit ForwardingShardReader(std::unique_ptr<ShardReader> inner) : inner_(std::move(inner)) {}

  ShardFormat format() const override { return inner_->format(); }
  const std::string& path() const override { return inner_->path(); }
  uint64_t file_bytes() const override { return inner_->file_bytes(); }
  size_t num_records() const override { return inner_->num_records(); }
  std::string_view key(size_t i) const override { return inner_->key(i); }
  const RecordLayout& layout() const override { return inner_->layout(); }
  int64_t first_dim(size_t i) const override { return inner_->first_dim(i); }
  RecordKind kind(size_t i) const override { return inner_->kind(i); }
  absl::Status Read(size_t i, Record* out) const override { return inner_->Read(i, out); }
  absl::Status ReadRow(size_t i, int64_t row, Record* out) const override {
    return inner_->ReadRow(i, row, out);
  }
  void Prefetch(size_t i) const override { inner_->Prefetch(i); }
  void PrefetchRow(size_t i, int64_t row) const override { inner_->PrefetchRow(i, row); }
  std::optional<std::string_view> PeekUnchecked(size_t i) const override {
    return inner_->PeekUnchecked(i);
  }
  void PrefetchIndex(size_t i) const override { inner_->PrefetchIndex(i); }
  bool fetched_on_demand() const override { return inner_->fetched_on_demand(); }
  void Hold() const override { inner_->Hold(); }
  void Unhold() const override { inner_->Unhold(); }

 private:
  const std::unique_ptr<ShardReader> inner_;
};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_FORWARDING_SHARD_READER_H_
