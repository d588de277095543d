// The config fields a status is about, carried as a payload beside its message, so that the
// library names only its config fields ("window_shards") while each front end names its own
// flags for them (frontend/flag_hints.h adds "--window-shards K" to the server's message).
//
//   return WithFields(absl::FailedPreconditionError("... (window_shards) ..."),
//                     {"window_shards", "storage.cache_limit_bytes"});
#ifndef MASKFEED_PIPELINE_BASE_STATUS_FIELDS_H_
#define MASKFEED_PIPELINE_BASE_STATUS_FIELDS_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace maskfeed {

// `status` with `fields` added to those it already carries (an OK status stays OK).
absl::Status WithFields(absl::Status status, std::initializer_list<std::string_view> fields);
// The fields a status carries, in the order they were added; empty when none.
std::vector<std::string> FieldsOf(const absl::Status& status);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_BASE_STATUS_FIELDS_H_
