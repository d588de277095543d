#include "pipeline/text/npz.h"

#include <zip.h>

#include <memory>

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

struct ArchiveCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct FileCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string ZipMessage(zip_error_t* error) {
  std::string message = zip_error_strerror(error);
  zip_error_fini(error);
  return message;
}

}  // namespace

absl::StatusOr<NpzArrays> ReadNpz(std::string_view bytes, const std::vector<std::string>& names,
                                  size_t max_bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) return absl::DataLossError(StrCat("npz: ", ZipMessage(&error)));
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (archive == nullptr) {
    zip_source_free(source);
    return absl::DataLossError(
        StrCat("npz: not a readable zip archive (", ZipMessage(&error), ")"));
  }
  zip_error_fini(&error);
  NpzArrays out;
  size_t total = 0;
  for (const std::string& name : names) {
    const std::string member = name + ".npy";
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat(archive.get(), member.c_str(), 0, &stat) != 0) {
      return absl::DataLossError(StrCat("npz: no member ", member));
    }
    if (!(stat.valid & ZIP_STAT_SIZE) || stat.size > max_bytes - total) {
      return absl::DataLossError(StrCat("npz: member ", member, " inflates to ", stat.size,
                                        " bytes, over the limit of ", max_bytes));
    }
    std::unique_ptr<zip_file_t, FileCloser> file(zip_fopen_index(archive.get(), stat.index, 0));
    if (file == nullptr) {
      return absl::DataLossError(
          StrCat("npz: cannot open ", member, ": ", zip_strerror(archive.get())));
    }
    std::string npy(static_cast<size_t>(stat.size), '\0');
    size_t got = 0;
    while (got < npy.size()) {
      const zip_int64_t n = zip_fread(file.get(), npy.data() + got, npy.size() - got);
      if (n < 0) {
        return absl::DataLossError(
            StrCat("npz: member ", member, ": ", zip_file_strerror(file.get())));
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    // Reading to the end makes libzip compare the CRC-32 (a mismatch is an error above).
    char extra;
    if (got != npy.size() || zip_fread(file.get(), &extra, 1) != 0) {
      return absl::DataLossError(
          StrCat("npz: member ", member, " is not the ", stat.size, " bytes its header says"));
    }
    total += npy.size();
    absl::StatusOr<NpyHeader> header = ParseNpy(npy);
    if (!header.ok()) {
      return absl::DataLossError(StrCat("npz: member ", member, ": ", header.status().message()));
    }
    if (header->object) {
      return absl::DataLossError(StrCat("npz: member ", member, " is an object array"));
    }
    NpzArray array{*header, npy.substr(header->data_offset)};
    array.header.data_offset = 0;
    out.emplace(name, std::move(array));
  }
  return out;
}

}  // namespace maskfeed
