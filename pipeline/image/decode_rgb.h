// Decoding 4M's image members to RGB pixels as 4M sees them: Pillow's
// `Image.open(f).convert("RGB")` (docs/raw-modalities.md#rgbs, step 1), bit for bit. JPEG through
// libjpeg-turbo with the settings Pillow uses (islow DCT, fancy upsampling; CMYK read with
// Adobe's inverted convention), PNG through libpng, then Pillow's conversion rules: L is
// replicated, alpha (LA, RGBA) dropped without compositing, P looked up in its palette
// (transparency ignored), CMYK by Pillow's formula, 16-bit samples cut to their high byte
// (16-bit grey clipped at 255, as Pillow's "I" → "RGB" does). No EXIF rotation, no ICC or
// gamma. Errors are DATA_LOSS saying what is wrong (the caller adds file, record and key);
// libjpeg/libpng warnings never print, and a JPEG that ends early is an error, as in Pillow.
//
//   absl::StatusOr<RgbImage> image = DecodeRgb(bytes, {.max_pixels = 178956970});
//   // image->pixels: height rows of width × 3 bytes
#ifndef MASKFEED_PIPELINE_IMAGE_DECODE_RGB_H_
#define MASKFEED_PIPELINE_IMAGE_DECODE_RGB_H_

#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace maskfeed {

// An allocator whose resize leaves new elements uninitialized: the decoders write every byte
// of their output, and zero-filling the ~0.8 MB of a 512x512 image first cost about 4.5% of
// the fast pixel path (docs/pixels.md).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using PixelBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

struct RgbImage {
  int height = 0;
  int width = 0;
  PixelBuffer pixels;  // row-major, 3 bytes per pixel
};

// Pillow refuses images over 2 × its MAX_IMAGE_PIXELS (89,478,485) as decompression bombs.
inline constexpr uint64_t kDefaultMaxImagePixels = 2 * 89478485ull;

struct DecodeOptions {
  // Images with more pixels are refused before any is decoded (0: no limit).
  uint64_t max_pixels = kDefaultMaxImagePixels;
};

// The RGB pixels of a JPEG or PNG file (by its signature). Thread-safe.
absl::StatusOr<RgbImage> DecodeRgb(std::string_view bytes, const DecodeOptions& options = {});

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_IMAGE_DECODE_RGB_H_
