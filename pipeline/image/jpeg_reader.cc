#include "pipeline/image/jpeg_reader.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
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
  bool ReadHeader(std::string_view bytes, Header* header) {
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
  // settings: the accurate integer DCT, fancy upsampling) and says its size.
  bool SetOutput(J_COLOR_SPACE space, int denom, ImageDims* dims) {
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
    return true;
  }

  // After SetOutput: the decoded samples (grey, RGB or CMYK as set) into `out`, row by row.
  bool Decompress(uint8_t* out, size_t row_bytes) {
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return false;
    }
    jpeg_start_decompress(&info_);
    while (info_.output_scanline < info_.output_height) {
      JSAMPROW row = out + static_cast<size_t>(info_.output_scanline) * row_bytes;
      jpeg_read_scanlines(&info_, &row, 1);
      if (error_.premature_end) break;
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

absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, uint64_t max_pixels, int scale_denom) {
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
  ImageDims out;
  if (!reader.SetOutput(space, scale_denom, &out)) {
    return absl::DataLossError(StrCat("JPEG header: ", reader.message()));
  }
  const uint64_t out_pixels = uint64_t{out.height} * out.width;
  const size_t row_bytes = out.width * components;
  RgbImage image;
  image.height = static_cast<int>(out.height);
  image.width = static_cast<int>(out.width);
  std::vector<uint8_t> samples;
  uint8_t* target;
  if (components == 3) {
    image.pixels.resize(out_pixels * 3);
    target = image.pixels.data();
  } else {
    samples.resize(out_pixels * components);
    target = samples.data();
  }
  if (!reader.Decompress(target, row_bytes)) {
    return absl::DataLossError(StrCat("JPEG data: ", reader.message()));
  }
  if (reader.premature_end()) {
    return absl::DataLossError("JPEG data: the file ends before the image does (truncated)");
  }
  if (components == 1) {
    image.pixels.resize(out_pixels * 3);
    GreyToRgb(samples.data(), out_pixels, image.pixels.data());
  } else if (components == 4) {
    image.pixels.resize(out_pixels * 3);
    InvertedCmykToRgb(samples.data(), out_pixels, image.pixels.data());
  }
  return image;
}

}  // namespace maskfeed::jpeg
