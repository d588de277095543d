#include "pipeline/image/image_header.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

// clang-format off
#include <jpeglib.h>  // needs <cstdio> first
#include <png.h>
// clang-format on

#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kPngSignature{"\x89PNG\r\n\x1a\n", 8};

// libjpeg reports errors through a callback that must not return: jump back to the caller
// with the library's message instead of its default (print and exit).
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegFail(j_common_ptr info) {
  JpegError* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

void JpegSilence(j_common_ptr, int) {}  // warnings are not errors, and never printed

// One decompressor per thread, reused (creating one allocates its memory pools; aborting
// resets it for the next image).
class JpegHeaderReader {
 public:
  JpegHeaderReader() {
    info_.err = jpeg_std_error(&error_.manager);
    error_.manager.error_exit = JpegFail;
    error_.manager.emit_message = JpegSilence;
    jpeg_create_decompress(&info_);
  }
  ~JpegHeaderReader() { jpeg_destroy_decompress(&info_); }
  JpegHeaderReader(const JpegHeaderReader&) = delete;
  JpegHeaderReader& operator=(const JpegHeaderReader&) = delete;

  absl::StatusOr<ImageDims> Read(std::string_view bytes) {
    error_.message[0] = '\0';
    // Nothing with a destructor lives between setjmp and the calls that may jump.
    if (setjmp(error_.jump)) {
      jpeg_abort_decompress(&info_);
      return absl::DataLossError(StrCat("JPEG header: ", error_.message));
    }
    jpeg_mem_src(&info_, reinterpret_cast<const unsigned char*>(bytes.data()),
                 static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&info_, TRUE);
    const ImageDims dims{info_.image_height, info_.image_width};
    jpeg_abort_decompress(&info_);
    return dims;
  }

 private:
  jpeg_decompress_struct info_;
  JpegError error_;
};

absl::StatusOr<ImageDims> JpegDims(std::string_view bytes) {
  thread_local JpegHeaderReader reader;
  return reader.Read(bytes);
}

struct PngInput {
  std::string_view bytes;
  size_t pos = 0;
  std::string error;
};

void PngRead(png_structp png, png_bytep out, png_size_t n) {
  PngInput* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->bytes.size() - in->pos) png_error(png, "file truncated");
  std::memcpy(out, in->bytes.data() + in->pos, n);
  in->pos += n;
}

void PngFail(png_structp png, png_const_charp message) {
  static_cast<PngInput*>(png_get_error_ptr(png))->error = message;
  png_longjmp(png, 1);
}

void PngWarn(png_structp, png_const_charp) {}

absl::StatusOr<ImageDims> PngDims(std::string_view bytes) {
  PngInput in{bytes, 0, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in, PngFail, PngWarn);
  if (png == nullptr) return absl::ResourceExhaustedError("cannot allocate a PNG reader");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return absl::ResourceExhaustedError("cannot allocate a PNG reader");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return absl::DataLossError(StrCat("PNG header: ", in.error));
  }
  png_set_read_fn(png, &in, PngRead);
  png_read_info(png, info);
  const ImageDims dims{png_get_image_height(png, info), png_get_image_width(png, info)};
  png_destroy_read_struct(&png, &info, nullptr);
  return dims;
}

}  // namespace

absl::StatusOr<ImageDims> ReadImageDims(std::string_view bytes) {
  absl::StatusOr<ImageDims> dims;
  if (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xff &&
      static_cast<unsigned char>(bytes[1]) == 0xd8 &&
      static_cast<unsigned char>(bytes[2]) == 0xff) {
    dims = JpegDims(bytes);
  } else if (bytes.substr(0, kPngSignature.size()) == kPngSignature) {
    dims = PngDims(bytes);
  } else {
    return absl::DataLossError("not a JPEG or PNG image (unknown signature)");
  }
  if (dims.ok() && (dims->height == 0 || dims->width == 0)) {
    return absl::DataLossError(StrCat("image of ", dims->width, "x", dims->height, " pixels"));
  }
  return dims;
}

}  // namespace maskfeed
