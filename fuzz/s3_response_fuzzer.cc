// Object storage responses: S3's XML listings and error documents, from a server maskfeed does
// not control. Hostile bytes must give DATA_LOSS (or a page), never a crash or a hang.
#include "fuzz/fuzz_util.h"
#include "pipeline/storage/s3_xml.h"

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
  return 0;
}
