#include "pipeline/image/png_reader.h"

#include <png.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "pipeline/base/strings.h"

namespace maskfeed::png {
namespace {

// Plain data only: it is read and written by code that libpng may long-jump out of.
struct Input {
  const char* data;
  size_t size;
  size_t pos;
  char message[256];
};

void Read(png_structp png, png_bytep out, png_size_t n) {
  Input* in = static_cast<Input*>(png_get_io_ptr(png));
  if (n > in->size - in->pos) png_error(png, "file truncated");
  std::memcpy(out, in->data + in->pos, n);
  in->pos += n;
}

void Fail(png_structp png, png_const_charp message) {
  Input* in = static_cast<Input*>(png_get_error_ptr(png));
  std::snprintf(in->message, sizeof(in->message), "%s", message);
  png_longjmp(png, 1);
}

void Warn(png_structp, png_const_charp) {}  // never printed

struct Header {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0;
  uint8_t palette[256 * 3];  // Pillow's palette: a grey ramp where PLTE has no entry
};

bool ReadHeader(png_structp png, png_infop info, Header* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  header->width = png_get_image_width(png, info);
  header->height = png_get_image_height(png, info);
  header->bit_depth = png_get_bit_depth(png, info);
  header->color_type = png_get_color_type(png, info);
  header->interlace = png_get_interlace_type(png, info);
  for (int i = 0; i < 256; ++i) {
    header->palette[3 * i] = header->palette[3 * i + 1] = header->palette[3 * i + 2] =
        static_cast<uint8_t>(i);
  }
  png_colorp entries = nullptr;
  int count = 0;
  if (header->color_type == PNG_COLOR_TYPE_PALETTE &&
      png_get_PLTE(png, info, &entries, &count) != 0) {
    for (int i = 0; i < std::min(count, 256); ++i) {
      header->palette[3 * i] = entries[i].red;
      header->palette[3 * i + 1] = entries[i].green;
      header->palette[3 * i + 2] = entries[i].blue;
    }
  }
  return true;
}

// A PNG being read: libpng's structs (destroyed on every path) over the file's bytes.
class PngFile {
 public:
  explicit PngFile(std::string_view bytes) : in_{bytes.data(), bytes.size(), 0, {}} {
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in_, Fail, Warn);
    if (png_ != nullptr) info_ = png_create_info_struct(png_);
    if (png_ != nullptr) png_set_read_fn(png_, &in_, Read);
  }
  ~PngFile() { png_destroy_read_struct(&png_, info_ != nullptr ? &info_ : nullptr, nullptr); }
  PngFile(const PngFile&) = delete;
  PngFile& operator=(const PngFile&) = delete;

  // Reads everything before the image data.
  absl::Status Open(Header* header) {
    if (png_ == nullptr || info_ == nullptr) {
      return absl::ResourceExhaustedError("cannot allocate a PNG reader");
    }
    if (!ReadHeader(png_, info_, header)) {
      return absl::DataLossError(StrCat("PNG header: ", in_.message));
    }
    return absl::OkStatus();
  }
  png_structp png() const { return png_; }
  png_infop info() const { return info_; }
  const char* message() const { return in_.message; }

 private:
  Input in_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
};

// Reads the raw rows (interlaced images whole, into `rows`; others one at a time into `row`,
// each converted by `convert(row, y)`).
template <typename Convert>
bool ReadRows(png_structp png, png_infop info, const Header& header, uint8_t* rows,
              size_t row_bytes, uint8_t* row, Convert& convert) {
  if (setjmp(png_jmpbuf(png))) return false;
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (passes > 1) {
    for (int pass = 0; pass < passes; ++pass) {
      for (uint32_t y = 0; y < header.height; ++y) {
        png_read_row(png, rows + y * row_bytes, nullptr);
      }
    }
    for (uint32_t y = 0; y < header.height; ++y) convert(rows + y * row_bytes, y);
  } else {
    for (uint32_t y = 0; y < header.height; ++y) {
      png_read_row(png, row, nullptr);
      convert(row, y);
    }
  }
  return true;  // trailing chunks are not read: Pillow ignores them (even truncated ones)
}

// The sample at index `i` of a row of `depth`-bit samples (1, 2, 4, 8; MSB first).
inline int PackedSample(const uint8_t* row, size_t i, int depth) {
  if (depth == 8) return row[i];
  const size_t bit = i * static_cast<size_t>(depth);
  const int shift = 8 - depth - static_cast<int>(bit % 8);
  return (row[bit / 8] >> shift) & ((1 << depth) - 1);
}

// One raw row into RGB by Pillow's mode for (bit depth, colour type): "1"/"L;2"/"L;4"/"L"
// (grey scaled to 0..255), "I" for 16-bit grey (clipped at 255 by convert), "RGB;16B",
// "LA;16B" and "RGBA;16B" (the high byte), "P" (palette lookup), alpha dropped.
void ConvertRow(const Header& h, const uint8_t* in, uint8_t* out) {
  const size_t w = h.width;
  const int d = h.bit_depth;
  switch (h.color_type) {
    case PNG_COLOR_TYPE_GRAY:
      for (size_t x = 0; x < w; ++x) {
        int v;
        if (d == 16) {
          v = std::min(in[2 * x] << 8 | in[2 * x + 1], 255);
        } else {
          v = PackedSample(in, x, d) * (d == 1 ? 255 : d == 2 ? 85 : d == 4 ? 17 : 1);
        }
        out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = static_cast<uint8_t>(v);
      }
      return;
    case PNG_COLOR_TYPE_PALETTE:
      for (size_t x = 0; x < w; ++x) {
        std::memcpy(out + 3 * x, h.palette + 3 * PackedSample(in, x, d), 3);
      }
      return;
    default: {
      // RGB, grey + alpha, RGBA: `channels` samples of `step` bytes; the high byte of each.
      const size_t channels = h.color_type == PNG_COLOR_TYPE_RGB          ? 3
                              : h.color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                                          : 4;
      const size_t step = d == 16 ? 2 : 1;
      const bool grey = h.color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
      for (size_t x = 0; x < w; ++x) {
        const uint8_t* p = in + x * channels * step;
        out[3 * x] = p[0];
        out[3 * x + 1] = grey ? p[0] : p[step];
        out[3 * x + 2] = grey ? p[0] : p[2 * step];
      }
    }
  }
}

}  // namespace

absl::StatusOr<ImageDims> ReadDims(std::string_view bytes) {
  PngFile png(bytes);
  Header header;
  if (absl::Status s = png.Open(&header); !s.ok()) return s;
  return ImageDims{header.height, header.width};
}

absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels) {
  PngFile png(bytes);
  Header header;
  if (absl::Status s = png.Open(&header); !s.ok()) return s;
  const uint64_t pixels = uint64_t{header.width} * header.height;
  if (pixels == 0) {
    return absl::DataLossError(StrCat("PNG of ", header.width, "x", header.height, " pixels"));
  }
  if (max_pixels != 0 && pixels > max_pixels) {
    return absl::DataLossError(StrCat("PNG of ", header.width, "x", header.height,
                                      " pixels, over the limit of ", max_pixels,
                                      " (a decompression bomb?)"));
  }
  // Bytes per raw row: at most 8 per pixel (16-bit RGBA); width < 2^31 by the PNG format.
  const size_t row_bytes = png_get_rowbytes(png.png(), png.info());
  RgbImage image;
  image.height = static_cast<int>(header.height);
  image.width = static_cast<int>(header.width);
  image.pixels.resize(pixels * 3);
  std::vector<uint8_t> rows(header.interlace != PNG_INTERLACE_NONE ? row_bytes * header.height : 0);
  std::vector<uint8_t> row(row_bytes);
  uint8_t* out = image.pixels.data();
  auto convert = [&](const uint8_t* raw, uint32_t y) {
    ConvertRow(header, raw, out + size_t{y} * header.width * 3);
  };
  if (!ReadRows(png.png(), png.info(), header, rows.data(), row_bytes, row.data(), convert)) {
    return absl::DataLossError(StrCat("PNG data: ", png.message()));
  }
  return image;
}

}  // namespace maskfeed::png
