// 4M's RGB normalisation of the uint8 pixels a server sends for a pixel modality (rgb@S):
// v = float32(p) / 255, then (v - mean_c) / std_c in float32, channel-first, with ImageNet's
// mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) — bit for bit what 4M's
// RGBTransform (torchvision's to-tensor + normalize) gives (docs/pixels.md).
//
// Feed applies it to every batch unless FeedOptions::pixels asks for the raw uint8 (to move
// a quarter of the bytes to the device and normalise there: maskfeed.pixels.normalize).
#ifndef MASKFEED_CLIENT_CPP_PIXELS_H_
#define MASKFEED_CLIENT_CPP_PIXELS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// What a pixel modality's `tensor` is when a client returns it.
enum class PixelOutput {
  kNormalized,  // float32 (B, 3, S, S), 4M's values
  kUint8,       // the bytes as sent, uint8 (B, 3, S, S)
};

// Whether a batch tensor holds pixels: uint8 (B, 3, S, S).
bool IsPixels(const HostTensor& tensor);

// float32 of the same shape as `pixels` (uint8 (..., 3, H, W)); INVALID_ARGUMENT otherwise.
absl::StatusOr<HostTensor> NormalizePixels(const HostTensor& pixels, BufferPool* pool);

// Replaces every pixel modality's tensor of `batch` by its normalised float32.
absl::Status NormalizeBatchPixels(Batch* batch, BufferPool* pool);

}  // namespace maskfeed

#endif  // MASKFEED_CLIENT_CPP_PIXELS_H_
