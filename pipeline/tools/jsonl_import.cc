#include "pipeline/tools/jsonl_import.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "pipeline/base/strings.h"
#include "pipeline/text/python_json.h"
#include "pipeline/tools/tar_writer.h"

namespace maskfeed {
namespace {

namespace fs = std::filesystem;

// Lines of a file, each at most kMaxJsonBytes (a longer one is an error, not an allocation).
class LineReader {
 public:
  explicit LineReader(std::FILE* f) : f_(f) {}

  // The next line without its '\n' ("\r\n" too); nullopt at the end; `too_long` when the line
  // passed the bound (the rest of it is skipped).
  std::optional<std::string_view> Next(bool* too_long) {
    *too_long = false;
    line_.clear();
    for (;;) {
      if (pos_ == end_) {
        end_ = std::fread(buf_.data(), 1, buf_.size(), f_);
        pos_ = 0;
        read_ += end_;
        if (end_ == 0) {
          if (line_.empty() && !*too_long && !pending_) return std::nullopt;
          pending_ = false;
          return Trimmed();
        }
      }
      pending_ = true;
      const char* start = buf_.data() + pos_;
      const void* nl = std::memchr(start, '\n', end_ - pos_);
      const size_t n = nl ? static_cast<const char*>(nl) - start : end_ - pos_;
      if (line_.size() + n > text::kMaxJsonBytes) {
        *too_long = true;
      } else if (!*too_long) {
        line_.append(start, n);
      }
      pos_ += n;
      if (nl != nullptr) {
        ++pos_;
        pending_ = false;
        return Trimmed();
      }
    }
  }
  uint64_t bytes_read() const { return read_; }
  bool failed() const { return std::ferror(f_) != 0; }

 private:
  std::string_view Trimmed() const {
    std::string_view v = line_;
    if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
    return v;
  }

  std::FILE* f_;
  std::vector<char> buf_ = std::vector<char>(1 << 20);
  size_t pos_ = 0, end_ = 0;
  uint64_t read_ = 0;
  bool pending_ = false;  // a line has begun and not ended
  std::string line_;
};

// The text of one line, or why the line is bad.
absl::StatusOr<std::string_view> TextOf(text::PythonJsonParser& parser, std::string_view line,
                                        const std::string& field) {
  absl::StatusOr<text::JsonValue> json = parser.Parse(line);
  if (!json.ok()) return absl::InvalidArgumentError(json.status().message());
  if (!json->is_object()) return absl::InvalidArgumentError("not a JSON object");
  simdjson::dom::element value;
  if (json->get_object()[field].get(value) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(StrCat("no field '", field, "'"));
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(StrCat("field '", field, "' is not a string"));
  }
  return text;
}

}  // namespace

absl::StatusOr<JsonlImportResult> ImportJsonLines(const JsonlImportOptions& o) {
  if (o.out.empty()) return absl::InvalidArgumentError("out: required");
  if (o.field.empty()) return absl::InvalidArgumentError("field: required");
  if (o.folder.empty() || o.folder.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("folder: '", o.folder, "' is not a folder name"));
  }
  if (o.samples_per_shard == 0) {
    return absl::InvalidArgumentError("samples_per_shard: must be at least 1");
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(o.in.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) return absl::NotFoundError(StrCat(o.in, ": cannot be read"));
  std::error_code ec;
  const uint64_t size = fs::file_size(o.in, ec);
  const fs::path folder = fs::path(o.out) / o.folder;
  fs::create_directories(folder, ec);
  if (ec) return absl::InternalError(StrCat("cannot create ", folder.string(), ": ", ec.message()));

  JsonlImportResult result;
  std::vector<fs::path> written;
  std::optional<TarWriter> shard;
  text::PythonJsonParser parser;
  LineReader lines(file.get());
  // Removes what this import wrote: an import that fails leaves no partial dataset behind.
  auto fail = [&](absl::Status status) {
    shard.reset();
    for (const fs::path& p : written) fs::remove(p, ec);
    return status;
  };
  uint64_t line_number = 0;
  for (bool too_long = false;;) {
    const std::optional<std::string_view> line = lines.Next(&too_long);
    if (!line) break;
    ++line_number;
    if (!too_long && line->find_first_not_of(" \t") == std::string_view::npos) continue;
    absl::StatusOr<std::string_view> text =
        too_long
            ? absl::InvalidArgumentError(StrCat("longer than ", text::kMaxJsonBytes >> 20, " MiB"))
            : TextOf(parser, *line, o.field);
    if (!text.ok()) {
      const std::string message =
          StrCat(o.in, ":", line_number, ": ", ToStd(text.status().message()));
      if (!o.skip_bad_lines) {
        return fail(absl::InvalidArgumentError(
            StrCat(message, " (--skip-bad-lines imports the other lines)")));
      }
      ++result.bad_lines;
      if (o.on_bad_line) o.on_bad_line(message);
      continue;
    }
    if (result.samples % o.samples_per_shard == 0) {
      if (shard) {
        if (absl::Status s = shard->Finish(); !s.ok()) return fail(s);
      }
      char name[32];
      std::snprintf(name, sizeof(name), "shard-%05llu.tar",
                    static_cast<unsigned long long>(result.shards));
      written.push_back(folder / name);
      absl::StatusOr<TarWriter> w = TarWriter::Create(written.back().string());
      if (!w.ok()) return fail(w.status());
      shard.emplace(*std::move(w));
      ++result.shards;
    }
    char key[32];
    std::snprintf(key, sizeof(key), "%09llu.txt", static_cast<unsigned long long>(result.samples));
    if (absl::Status s = shard->Add(key, *text); !s.ok()) return fail(s);
    ++result.samples;
    if (o.progress) o.progress(lines.bytes_read(), size);
  }
  if (lines.failed()) return fail(absl::DataLossError(StrCat(o.in, ": read error")));
  if (result.samples == 0) {
    return fail(absl::InvalidArgumentError(StrCat(o.in, ": no line holds a text to import")));
  }
  if (absl::Status s = shard->Finish(); !s.ok()) return fail(s);
  if (o.progress) o.progress(size, size);
  return result;
}

}  // namespace maskfeed
