#include "pipeline/base/status_fields.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_split.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr char kFieldsPayload[] = "maskfeed.config_fields";

}  // namespace

absl::Status WithFields(absl::Status status, std::initializer_list<std::string_view> fields) {
  if (status.ok()) return status;
  std::string joined;
  for (const std::string& f : FieldsOf(status)) StrAppend(&joined, joined.empty() ? "" : ",", f);
  for (std::string_view f : fields) StrAppend(&joined, joined.empty() ? "" : ",", f);
  status.SetPayload(kFieldsPayload, absl::Cord(joined));
  return status;
}

std::vector<std::string> FieldsOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kFieldsPayload);  // absl::optional<absl::Cord>
  if (!payload) return {};
  return absl::StrSplit(std::string(*payload), ',', absl::SkipEmpty());
}

}  // namespace maskfeed
