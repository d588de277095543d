// MAE-style masking of a token grid (docs/masking.md#image-masking): a uniformly random set of
// `input` positions becomes the input, the next `target` positions of the same random order the
// target.
#ifndef MASKFEED_PIPELINE_MASKING_IMAGE_MASKING_H_
#define MASKFEED_PIPELINE_MASKING_IMAGE_MASKING_H_

#include <cstdint>
#include <vector>

#include "pipeline/base/random.h"
#include "pipeline/masking/masking_config.h"

namespace maskfeed {

// Writes n entries of each mask (1 = excluded). `target` may be kAllRemaining: every
// non-input position is a target. decoder_attention is zero except at the lowest target
// position, which holds the number of targets (index 0 holds 0 when there are none).
// Requires: 0 <= input, input + max(target, 0) <= n. `scratch` is reused between calls.
void MaskImage(int n, int input, int target, Rng& rng, uint8_t* input_mask, uint8_t* target_mask,
               int32_t* decoder_attention, std::vector<uint16_t>* scratch);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_IMAGE_MASKING_H_
