#include "pipeline/storage/object_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "pipeline/base/strings.h"
#include "pipeline/storage/s3_client.h"

namespace maskfeed {
namespace {

std::string WithoutTrailingSlashes(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

class S3Store final : public ObjectStore {
 public:
  S3Store(std::string root, S3Url url, S3Config config, ObjectStoreOptions options)
      : ObjectStore(std::move(root), std::move(options)),
        bucket_(std::move(url.bucket)),
        prefix_(WithoutTrailingSlashes(url.key)),
        client_(std::move(config)) {}

  absl::StatusOr<std::vector<StoredObject>> List() const override {
    const std::string prefix = prefix_.empty() ? std::string() : StrCat(prefix_, "/");
    absl::StatusOr<std::vector<S3Object>> listed = WithRetries<std::vector<S3Object>>(
        options_.retry,
        [&] {
          ++stats().requests;
          return client_.List(bucket_, prefix);
        },
        [&](int, const absl::Status&, std::chrono::milliseconds) { ++stats().retries; });
    if (!listed.ok()) {
      ++stats().failures;
      return listed.status();
    }
    std::vector<StoredObject> out;
    for (S3Object& o : *listed) {
      out.push_back({o.key.substr(prefix.size()), o.size});
    }
    return out;
  }

 protected:
  absl::StatusOr<std::string> GetOnce(std::string_view name,
                                      const std::optional<ByteRange>& range) const override {
    return client_.Get(bucket_, prefix_.empty() ? std::string(name) : StrCat(prefix_, "/", name),
                       range);
  }

 private:
  const std::string bucket_;
  const std::string prefix_;  // no trailing slash
  const S3Client client_;
};

class HttpStore final : public ObjectStore {
 public:
  HttpStore(std::string root, ObjectStoreOptions options)
      : ObjectStore(std::move(root), std::move(options)) {}

  absl::StatusOr<std::vector<StoredObject>> List() const override {
    absl::StatusOr<std::string> manifest = Get(kManifestName);
    if (absl::IsNotFound(manifest.status())) {
      return absl::NotFoundError(
          StrCat(UrlOf(kManifestName),
                 ": not found; HTTP cannot list a folder, so an http(s) "
                 "dataset root needs the manifest `maskfeed-shard manifest DIR` writes"));
    }
    if (!manifest.ok()) return manifest.status();
    return ParseManifest(*manifest, UrlOf(kManifestName));
  }

 protected:
  absl::StatusOr<std::string> GetOnce(std::string_view name,
                                      const std::optional<ByteRange>& range) const override {
    HttpRequest request;
    request.url = UrlOf(name);
    if (range) {
      absl::StatusOr<std::string> value = RangeHeader(request.url, *range);
      if (!value.ok()) return value.status();
      request.headers.emplace_back("range", *std::move(value));
    }
    absl::StatusOr<HttpResponse> r = HttpFetch(request, options_.http);
    if (!r.ok()) return r.status();
    if (absl::Status s = ResponseStatus(*r, request.url); !s.ok()) return s;
    return CheckedBody(*std::move(r), request.url, range);
  }
};

}  // namespace

bool IsRemoteUrl(std::string_view path) {
  return path.starts_with("s3://") || path.starts_with("http://") || path.starts_with("https://");
}

ObjectStore::ObjectStore(std::string root, ObjectStoreOptions options)
    : root_(std::move(root)), options_(std::move(options)) {
  if (!options_.stats) options_.stats = std::make_shared<StorageStats>();
}

std::string ObjectStore::UrlOf(std::string_view name) const { return StrCat(root_, "/", name); }

absl::StatusOr<std::string> ObjectStore::Get(std::string_view name,
                                             const std::optional<ByteRange>& range) const {
  absl::StatusOr<std::string> body = WithRetries<std::string>(
      options_.retry,
      [&] {
        ++stats().requests;
        return GetOnce(name, range);
      },
      [&](int, const absl::Status&, std::chrono::milliseconds) { ++stats().retries; });
  if (!body.ok()) {
    ++stats().failures;
    return body.status();
  }
  stats().bytes_fetched += body->size();
  return body;
}

absl::StatusOr<std::shared_ptr<ObjectStore>> OpenObjectStore(std::string_view url,
                                                             ObjectStoreOptions options) {
  const std::string root = WithoutTrailingSlashes(url);
  // AWS's variable for a private CA (as the AWS CLI reads it), for https:// roots too.
  if (const char* ca = std::getenv("AWS_CA_BUNDLE");
      ca != nullptr && options.http.ca_file.empty()) {
    options.http.ca_file = ca;
  }
  if (!options.http.ca_file.empty() && ::access(options.http.ca_file.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(
        StrCat("AWS_CA_BUNDLE ", options.http.ca_file, ": cannot read the file"));
  }
  if (url.starts_with("s3://")) {
    absl::StatusOr<S3Url> parsed = ParseS3Url(root);
    if (!parsed.ok()) return parsed.status();
    absl::StatusOr<S3Config> config = S3ConfigFromEnvironment();
    if (!config.ok()) return config.status();
    config->http = options.http;
    return std::make_shared<S3Store>(root, *std::move(parsed), *std::move(config),
                                     std::move(options));
  }
  if (url.starts_with("http://") || url.starts_with("https://")) {
    const size_t host = url.find("://") + 3;
    if (host >= root.size() || root[host] == '/') {
      return absl::InvalidArgumentError(StrCat("'", url, "': no host name"));
    }
    return std::make_shared<HttpStore>(root, std::move(options));
  }
  return absl::InvalidArgumentError(
      StrCat("'", url, "' is not a remote root (s3://bucket/prefix, http(s)://host/path)"));
}

absl::StatusOr<std::vector<StoredObject>> ParseManifest(std::string_view json,
                                                        const std::string& what) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(StrCat(what, ": not a maskfeed manifest: ", why));
  };
  if (doc.is_discarded()) return bad("not JSON");
  if (!doc.is_object() || !doc.contains("objects") || !doc["objects"].is_array()) {
    return bad("no \"objects\" list");
  }
  std::vector<StoredObject> out;
  for (const nlohmann::json& o : doc["objects"]) {
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string() || !o.contains("bytes") ||
        !o["bytes"].is_number_unsigned()) {
      return bad(StrCat("object ", out.size(), " lacks a \"name\" string or \"bytes\" count"));
    }
    std::string name = o["name"].get<std::string>();
    const bool climbs = name == ".." || name.starts_with("../") ||
                        name.find("/../") != std::string::npos ||
                        (name.size() >= 3 && name.compare(name.size() - 3, 3, "/..") == 0);
    if (name.empty() || name[0] == '/' || climbs || name.find('\0') != std::string::npos) {
      return bad(StrCat("object ", out.size(), ": name '", name, "' is not below the root"));
    }
    out.push_back({std::move(name), o["bytes"].get<uint64_t>()});
  }
  std::sort(out.begin(), out.end(),
            [](const StoredObject& a, const StoredObject& b) { return a.name < b.name; });
  return out;
}

std::string EncodeManifest(const std::vector<StoredObject>& objects) {
  nlohmann::json doc;
  doc["format"] = "maskfeed-manifest";
  doc["version"] = 1;
  doc["objects"] = nlohmann::json::array();
  for (const StoredObject& o : objects) {
    doc["objects"].push_back({{"name", o.name}, {"bytes", o.size}});
  }
  return doc.dump(1) + "\n";
}

absl::StatusOr<std::vector<StoredObject>> WriteManifest(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::vector<StoredObject> objects;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = fs::relative(it->path(), root).generic_string();
    if (!it->is_regular_file() || name == kManifestName) continue;
    objects.push_back({name, static_cast<uint64_t>(it->file_size())});
  }
  if (ec) return absl::InternalError(StrCat("cannot list ", dir, ": ", ec.message()));
  std::sort(objects.begin(), objects.end(),
            [](const StoredObject& a, const StoredObject& b) { return a.name < b.name; });
  const fs::path out = root / std::string(kManifestName);
  const fs::path tmp = StrCat(out.string(), ".tmp-", ::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << EncodeManifest(objects);
    if (!f.flush()) {
      fs::remove(tmp, ec);
      return absl::InternalError(StrCat("cannot write ", tmp.string()));
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) return absl::InternalError(StrCat("cannot write ", out.string(), ": ", ec.message()));
  return objects;
}

}  // namespace maskfeed
