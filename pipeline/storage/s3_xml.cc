#include "pipeline/storage/s3_xml.h"

#include <expat.h>

#include <charconv>
#include <functional>
#include <memory>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

// Collects, for each closed element, its path ("ListBucketResult/Contents/Key") and text, and
// tells `on_close` about it.
struct Collector {
  std::string path;
  std::string text;
  std::function<void(const std::string& path, const std::string& text)> on_close;

  static void Start(void* user, const XML_Char* name, const XML_Char**) {
    auto* c = static_cast<Collector*>(user);
    if (!c->path.empty()) c->path += '/';
    c->path += name;
    c->text.clear();
  }
  static void End(void* user, const XML_Char*) {
    auto* c = static_cast<Collector*>(user);
    c->on_close(c->path, c->text);
    const size_t slash = c->path.rfind('/');
    c->path.resize(slash == std::string::npos ? 0 : slash);
    c->text.clear();
  }
  static void Text(void* user, const XML_Char* s, int len) {
    static_cast<Collector*>(user)->text.append(s, static_cast<size_t>(len));
  }
};

absl::Status Parse(std::string_view xml, Collector* c) {
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                      XML_ParserFree);
  if (!parser) return absl::InternalError("expat: cannot create a parser");
  XML_SetUserData(parser.get(), c);
  XML_SetElementHandler(parser.get(), Collector::Start, Collector::End);
  XML_SetCharacterDataHandler(parser.get(), Collector::Text);
  if (xml.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::DataLossError("S3 response: larger than 2 GiB of XML");
  }
  if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) !=
      XML_STATUS_OK) {
    return absl::DataLossError(StrCat("S3 response: malformed XML at line ",
                                      XML_GetCurrentLineNumber(parser.get()), ": ",
                                      XML_ErrorString(XML_GetErrorCode(parser.get()))));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<S3ListPage> ParseS3ListPage(std::string_view xml) {
  S3ListPage page;
  S3Object pending;  // a Contents entry's children close before the entry does
  absl::Status bad;
  bool root_seen = false;
  Collector c;
  c.on_close = [&](const std::string& path, const std::string& text) {
    if (path == "ListBucketResult") {
      root_seen = true;
    } else if (path == "ListBucketResult/IsTruncated") {
      page.truncated = text == "true";
    } else if (path == "ListBucketResult/NextContinuationToken") {
      page.next_continuation_token = text;
    } else if (path == "ListBucketResult/Contents/Key") {
      pending.key = text;
    } else if (path == "ListBucketResult/Contents/ETag") {
      pending.etag = text;
    } else if (path == "ListBucketResult/Contents/Size") {
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pending.size);
      if ((ec != std::errc() || end != text.data() + text.size() || text.empty()) && bad.ok()) {
        bad = absl::DataLossError(StrCat("S3 listing: Size '", text, "' is not a byte count"));
      }
    } else if (path == "ListBucketResult/Contents") {
      if (pending.key.empty() && bad.ok()) {
        bad = absl::DataLossError("S3 listing: an entry without a Key");
      }
      page.objects.push_back(std::move(pending));
      pending = S3Object{};
    }
  };
  if (absl::Status s = Parse(xml, &c); !s.ok()) return s;
  if (!bad.ok()) return bad;
  if (!root_seen) return absl::DataLossError("S3 listing: no ListBucketResult element");
  if (page.truncated && page.next_continuation_token.empty()) {
    return absl::DataLossError("S3 listing: truncated without a NextContinuationToken");
  }
  return page;
}

S3Error ParseS3Error(std::string_view xml) {
  S3Error error;
  Collector c;
  c.on_close = [&](const std::string& path, const std::string& text) {
    if (path == "Error/Code") error.code = text;
    if (path == "Error/Message") error.message = text;
  };
  if (!Parse(xml, &c).ok()) return S3Error{};
  return error;
}

}  // namespace maskfeed
