// Object storage responses: S3's XML listings and error documents, response header lines and
// HTTP roots' manifests, from a server maskfeed does not control; and the shard index files
// kept in the shard cache (a directory other processes write too). Hostile bytes must give
// DATA_LOSS (or a page), never a crash or a hang.
#include <algorithm>

#include "fuzz_util.h"
#include "pipeline/storage/http_client.h"
#include "pipeline/storage/object_store.h"
#include "pipeline/storage/s3_xml.h"
#include "pipeline/storage/shard_index_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml = maskfeed::fuzz::AsView(data, size);
  absl::StatusOr<maskfeed::S3ListPage> page = maskfeed::ParseS3ListPage(xml);
  if (page.ok()) {
    for (const maskfeed::S3Object& o : page->objects) {
      maskfeed::fuzz::Check(!o.key.empty(), "an object without a key");
    }
    maskfeed::fuzz::Check(!page->truncated || !page->next_continuation_token.empty(),
                          "truncated without a token");
  }
  (void)maskfeed::ParseS3Error(xml);
  absl::StatusOr<std::vector<maskfeed::StoredObject>> manifest =
      maskfeed::ParseManifest(xml, "fuzz");
  if (manifest.ok()) {
    for (const maskfeed::StoredObject& o : *manifest) {
      maskfeed::fuzz::Check(!o.name.empty() && o.name[0] != '/', "an absolute manifest name");
      for (size_t at = 0; at <= o.name.size();) {
        const size_t slash = std::min(o.name.find('/', at), o.name.size());
        maskfeed::fuzz::Check(o.name.compare(at, slash - at, "..") != 0,
                              "a manifest name climbing out of the root");
        at = slash + 1;
      }
    }
  }
  absl::StatusOr<maskfeed::ShardIndex> index = maskfeed::DecodeShardIndex(xml, "fuzz");
  if (index.ok()) {
    maskfeed::fuzz::Check(index->key_offsets.size() == index->size() + 1 &&
                              index->key_offsets.back() == index->keys.size(),
                          "index keys do not add up");
    maskfeed::fuzz::Check(maskfeed::EncodeShardIndex(*index) == xml, "index does not round-trip");
  }
  // The same bytes as header lines, split where libcurl would.
  maskfeed::HeaderList headers;
  size_t start = 0;
  while (start < xml.size()) {
    const size_t newline = xml.find('\n', start);
    const size_t end = newline == std::string_view::npos ? xml.size() : newline + 1;
    maskfeed::AddResponseHeaderLine(xml.substr(start, end - start), &headers);
    start = end;
  }
  for (const auto& [name, value] : headers) {
    maskfeed::fuzz::Check(name.find(':') == std::string::npos, "a colon in a header name");
  }
  return 0;
}
