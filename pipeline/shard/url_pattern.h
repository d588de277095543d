// 4M's data_path notation (docs/raw-modalities.md#data_path): curly braces expand into shard names
// the way Python's braceexpand does ("shard-{00000..00002}.tar", "{a,b}", steps, nesting),
// and one square-bracket group lists the modality folders read in lockstep
// ("root/[rgb,caption]/shard-{0000..0009}.tar").
//
//   absl::StatusOr<std::vector<std::string>> urls = ExpandBraces("s-{00000..00002}.tar");
//   // s-00000.tar s-00001.tar s-00002.tar
//   absl::StatusOr<ModalityList> m = SplitModalityList("root/[rgb,det]/s-00000.tar");
//   // m->names = {rgb, det}; m->urls = {root/rgb/s-00000.tar, root/det/s-00000.tar}
#ifndef MASKFEED_PIPELINE_SHARD_URL_PATTERN_H_
#define MASKFEED_PIPELINE_SHARD_URL_PATTERN_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed {

// More names than this from one pattern is refused (a typo like {0..99999999999}), as are
// braces nested deeper than kMaxBraceDepth.
inline constexpr size_t kMaxExpandedNames = 200'000;
inline constexpr size_t kMaxExpandedBytes = 32 << 20;  // all names together
inline constexpr size_t kMaxPatternBytes = 4096;
inline constexpr int kMaxBraceDepth = 16;

// Expands every {…} group: "a,b" alternatives (which may nest), "X..Y" integer ranges with an
// optional "..STEP" (zero-padded to the longer endpoint when either endpoint has a leading
// zero; a bare "0" does not count), and single-letter ranges. Groups multiply left to right.
// A brace without a partner, or a group that is neither form, stays literal (as braceexpand
// leaves it). INVALID_ARGUMENT for a pattern over kMaxPatternBytes, braces nested deeper than
// kMaxBraceDepth, or a result over kMaxExpandedNames names or kMaxExpandedBytes bytes.
struct ExpandLimits {
  size_t names = kMaxExpandedNames;
  size_t bytes = kMaxExpandedBytes;
};
absl::StatusOr<std::vector<std::string>> ExpandBraces(std::string_view pattern,
                                                      const ExpandLimits& limits = {});

struct ModalityList {
  std::vector<std::string> names;  // in bracket order; one empty name when there is no group
  std::vector<std::string> urls;   // the URL of each name's folder
};

// Splits the single [name,name,...] group of a URL. INVALID_ARGUMENT for two groups, an
// unclosed bracket or an empty name.
absl::StatusOr<ModalityList> SplitModalityList(std::string_view url);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_SHARD_URL_PATTERN_H_
