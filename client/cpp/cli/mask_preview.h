// A picture of a batch's masks, the thing to look at before trusting a masking config: for the
// first samples of a batch, each image modality's token grid and each sequence modality's
// positions, every cell coloured by its role — encoder input, decoder target, or neither — as
// an SVG document; a pixel modality (rgb@S) shows the sample's crop at 1:1 under its patch
// grid, the patches that are not encoder input veiled. Cells carry
// class="input|target|ignored" (pixel patches also "patch") and each block data-modality /
// data-row attributes, so tools (and tests) can read the picture back.
#ifndef MASKFEED_CLIENT_CPP_CLI_MASK_PREVIEW_H_
#define MASKFEED_CLIENT_CPP_CLI_MASK_PREVIEW_H_

#include <string>
#include <vector>

#include "maskfeed/v1/feed.pb.h"
#include "pipeline/batch/batch.h"

namespace maskfeed {

// `layouts`: the dataset's modalities from Describe (their type decides grid or strip).
// Renders min(rows, batch.size) samples.
std::string RenderMaskPreview(const Batch& batch, const std::vector<v1::ModalityLayout>& layouts,
                              int rows, const std::string& title);

}  // namespace maskfeed

#endif  // MASKFEED_CLIENT_CPP_CLI_MASK_PREVIEW_H_
