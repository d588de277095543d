// The 21 metadata keys 4M's loader accepts (docs/raw-modalities.md#metadata), for the tests.
#ifndef MASKFEED_TESTS_TESTING_METADATA_KEYS_H_
#define MASKFEED_TESTS_TESTING_METADATA_KEYS_H_

namespace maskfeed::testing {

inline constexpr const char* kMetadataKeys[] = {"original_width",
                                                "original_height",
                                                "caption_n_chars",
                                                "caption_n_words",
                                                "caption_n_sentences",
                                                "n_humans",
                                                "n_sam_instances",
                                                "n_coco_instances",
                                                "coco_instance_diversity",
                                                "colorfulness",
                                                "brightness",
                                                "contrast",
                                                "saturation",
                                                "entropy",
                                                "walkability",
                                                "objectness",
                                                "semantic_diversity",
                                                "geometric_complexity",
                                                "occlusion_score",
                                                "watermark_score",
                                                "aesthetic_score"};

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_METADATA_KEYS_H_
