#include "pipeline/image/jpeg_reader.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

// clang-format off
#include <jpeglib.h>  // needs <cstdio> first
#include <jerror.h>
// clang-format on

#include "pipeline/base/strings.h"
#include "pipeline/image/pillow_convert.h"

namespace maskfeed::jpeg {
namespace {

// libjpeg reports errors through a callback that must not return: jump back to the caller
// with the library's message.
struct ErrorManager {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool premature_end;  // the data ended before the image did (libjpeg fills in grey)
};

void Fail(j_common_ptr info) {
  ErrorManager* error = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

// Warnings are never printed. A premature end is remembered: Pillow refuses a truncated
// JPEG ("image file is truncated"), libjpeg would pad it.
void Message(j_common_ptr info, int level) {
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) {
    reinterpret_cast<ErrorManager*>(info->err)->premature_end = true;
  }
}

// What a decode needs to know between the header and the pixels.
struct Header {
  ImageDims dims;
  int components = 0;
};

class Reader {
 public:
  Reader() {
    info_.err = jpeg_std_error(&error_.manager);
    error_.manager.error_exit = Fail;
    error_.manager.emit_message = Message;
    jpeg_create_decompress(&info_);
  }
  ~Reader() { jpeg_destroy_decompress(&info_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Steps that may long-jump take and write only plain data; nothing with a destructor
  // lives in their frames.
  // Each image starts from a new decompressor (about 0.1 us): libjpeg keeps the quantization
  // and Huffman tables an image defined, and a later image that leaves one out would decode
  // with the earlier image's instead of failing (or taking the standard tables) as a new
  // decoder — Pillow's, per image — does; the same bytes would give pixels that depend on what
  // the thread decoded before.
  bool ReadHeader(std::string_view bytes, Header* header) {
    jpeg_destroy_decompress(&info_);
    jpeg_create_decompress(&info_);
    error_.message[0] = '\0';
    error_.premature_end = false;
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return false;
    }
    jpeg_mem_src(&info_, reinterpret_cast<const unsigned char*>(bytes.data()),
                 static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&info_, TRUE);
    header->dims = {info_.image_height, info_.image_width};
    header->components = info_.num_components;
    return true;
  }

  // After ReadHeader: sets the output (colour space, DCT scale 1/denom and Pillow's
  // settings: the accurate integer DCT, fancy upsampling) and says its size and the size of
  // an iMCU (the blocks decoded together) in output pixels.
  bool SetOutput(J_COLOR_SPACE space, int denom, ImageDims* dims, ImageDims* imcu) {
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return false;
    }
    info_.out_color_space = space;
    info_.scale_num = 1;
    info_.scale_denom = static_cast<unsigned int>(denom);
    info_.dct_method = JDCT_ISLOW;
    info_.do_fancy_upsampling = TRUE;
    jpeg_calc_output_dimensions(&info_);
    *dims = {info_.output_height, info_.output_width};
    const auto block = static_cast<uint32_t>(info_.min_DCT_scaled_size);
    *imcu = {static_cast<uint32_t>(info_.max_v_samp_factor) * block,
             static_cast<uint32_t>(info_.max_h_samp_factor) * block};
    return true;
  }

  // After SetOutput: starts decoding columns [*left, *left + *width), which libjpeg widens
  // to whole iMCUs (and says so through both).
  bool Start(JDIMENSION* left, JDIMENSION* width) {
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return false;
    }
    jpeg_start_decompress(&info_);
    if (*left != 0 || *width != info_.output_width) jpeg_crop_scanline(&info_, left, width);
    return true;
  }

  // After Start: skips `skip` rows, then writes the next `rows` rows of decoded samples
  // (grey, RGB or CMYK as set) into `out`, row by row. When that stops before the last row
  // and the input is not all read (a single scan), sets `*cut_short` if the file has no end
  // marker after the data read: it was cut short, and a whole decode would have run into
  // its end.
  bool Read(JDIMENSION skip, JDIMENSION rows, uint8_t* out, size_t row_bytes, bool* cut_short) {
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return false;
    }
    if (skip != 0) jpeg_skip_scanlines(&info_, skip);
    const JDIMENSION first = info_.output_scanline;
    while (info_.output_scanline < first + rows && !error_.premature_end) {
      JSAMPROW row = out + static_cast<size_t>(info_.output_scanline - first) * row_bytes;
      jpeg_read_scanlines(&info_, &row, 1);
    }
    *cut_short = false;
    if (!error_.premature_end && info_.output_scanline < info_.output_height &&
        !jpeg_input_complete(&info_) && info_.unread_marker != JPEG_EOI) {
      // (The entropy decoder reads ahead, and may have met the end marker already.)
      // Entropy-coded data escapes 0xFF as FF 00 and restart markers are FF D0-D7: an FF D9
      // after what was read is the end-of-image marker.
      const unsigned char* rest = info_.src->next_input_byte;
      size_t left = info_.src->bytes_in_buffer;
      *cut_short = true;
      while (left >= 2) {
        const void* ff = std::memchr(rest, 0xFF, left - 1);
        if (ff == nullptr) break;
        const size_t at = static_cast<size_t>(static_cast<const unsigned char*>(ff) - rest);
        if (rest[at + 1] == 0xD9) {
          *cut_short = false;
          break;
        }
        rest += at + 1;
        left -= at + 1;
      }
    }
    jpeg_abort_decompress(&info_);
    return true;
  }

  void Abort() { jpeg_abort_decompress(&info_); }
  const char* message() const { return error_.message; }
  bool premature_end() const { return error_.premature_end; }

 private:
  jpeg_decompress_struct info_;
  ErrorManager error_;
};

Reader& ThreadReader() {
  thread_local Reader reader;
  return reader;
}

}  // namespace

absl::StatusOr<ImageDims> ReadDims(std::string_view bytes) {
  Reader& reader = ThreadReader();
  Header header;
  if (!reader.ReadHeader(bytes, &header)) {
    return absl::DataLossError(StrCat("JPEG header: ", reader.message()));
  }
  reader.Abort();
  return header.dims;
}

absl::StatusOr<RgbRegion> DecodeRgbRegion(std::string_view bytes, uint64_t max_pixels,
                                          int scale_denom, const CropBox& want) {
  Reader& reader = ThreadReader();
  Header header;
  if (!reader.ReadHeader(bytes, &header)) {
    return absl::DataLossError(StrCat("JPEG header: ", reader.message()));
  }
  const uint64_t pixels = uint64_t{header.dims.height} * header.dims.width;
  if (header.dims.height == 0 || header.dims.width == 0) {
    reader.Abort();
    return absl::DataLossError(
        StrCat("JPEG of ", header.dims.width, "x", header.dims.height, " pixels"));
  }
  if (max_pixels != 0 && pixels > max_pixels) {
    reader.Abort();
    return absl::DataLossError(StrCat("JPEG of ", header.dims.width, "x", header.dims.height,
                                      " pixels, over the limit of ", max_pixels,
                                      " (a decompression bomb?)"));
  }
  // Pillow's modes by component count: L, RGB, CMYK (read inverted, "CMYK;I").
  J_COLOR_SPACE space;
  switch (header.components) {
    case 1:
      space = JCS_GRAYSCALE;
      break;
    case 3:
      space = JCS_RGB;
      break;
    case 4:
      space = JCS_CMYK;
      break;
    default:
      reader.Abort();
      return absl::DataLossError(
          StrCat("JPEG with ", header.components, " components (Pillow reads 1, 3 or 4)"));
  }
  const auto components = static_cast<size_t>(header.components);
  ImageDims full, imcu;
  if (!reader.SetOutput(space, scale_denom, &full, &imcu)) {
    return absl::DataLossError(StrCat("JPEG header: ", reader.message()));
  }
  // The wanted rectangle inside the image (at least its nearest pixel), then an iMCU more on
  // each side: the pixels next to a cropped or skipped edge may be upsampled from fewer
  // neighbours than in a whole decode, and none of those is used.
  const auto span = [](int64_t from, int64_t length, int64_t size, int64_t pad) {
    const int64_t lo = std::clamp<int64_t>(from, 0, size - 1);
    const int64_t hi = std::clamp<int64_t>(from + length, lo + 1, size);
    return std::pair{std::max<int64_t>(lo - pad, 0), std::min<int64_t>(hi + pad, size)};
  };
  const auto [row0, row1] = span(want.top, want.height, full.height, imcu.height);
  const auto [col0, col1] = span(want.left, want.width, full.width, imcu.width);
  // Whole iMCU rows above the rectangle are skipped (libjpeg still reads their data).
  const auto skip = static_cast<JDIMENSION>(row0 / imcu.height * imcu.height);
  auto left = static_cast<JDIMENSION>(col0);
  auto width = static_cast<JDIMENSION>(col1 - col0);
  if (!reader.Start(&left, &width)) {
    return absl::DataLossError(StrCat("JPEG data: ", reader.message()));
  }
  const auto rows = static_cast<JDIMENSION>(row1) - skip;
  const uint64_t out_pixels = uint64_t{rows} * width;
  const size_t row_bytes = width * components;
  RgbRegion region;
  region.full = full;
  region.top = skip;
  region.left = left;
  RgbImage& image = region.image;
  image.height = static_cast<int>(rows);
  image.width = static_cast<int>(width);
  std::vector<uint8_t> samples;
  uint8_t* target;
  image.pixels.resize(out_pixels * 3);
  if (components == 3) {
    target = image.pixels.data();
  } else {
    samples.resize(out_pixels * components);
    target = samples.data();
  }
  bool cut_short = false;
  if (!reader.Read(skip, rows, target, row_bytes, &cut_short)) {
    return absl::DataLossError(StrCat("JPEG data: ", reader.message()));
  }
  if (reader.premature_end() || cut_short) {
    return absl::DataLossError("JPEG data: the file ends before the image does (truncated)");
  }
  if (components == 1) {
    GreyToRgb(samples.data(), out_pixels, image.pixels.data());
  } else if (components == 4) {
    InvertedCmykToRgb(samples.data(), out_pixels, image.pixels.data());
  }
  return region;
}

absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels, int scale_denom) {
  constexpr int64_t kAll = int64_t{1} << 32;  // JPEG sides are at most 65,535
  absl::StatusOr<RgbRegion> region = DecodeRgbRegion(
      bytes, max_pixels, scale_denom, {.top = 0, .left = 0, .height = kAll, .width = kAll});
  if (!region.ok()) return region.status();
  return std::move(region->image);
}

}  // namespace maskfeed::jpeg
