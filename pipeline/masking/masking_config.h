// Masking configuration: the protobuf schema (`maskfeed.v1.MaskingConfig`, text format) resolved
// into a validated, index-based MaskingSpec that the masker uses on its hot path, plus the
// built-in presets `4m-7`, `4m-21` (4M's recipes, with rgb@224 pixels) and their pixel-free
// variants `4m-7-tokens`, `4m-21-tokens`.
//
//   absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(config);  // errors name the field
#ifndef MASKFEED_PIPELINE_MASKING_MASKING_CONFIG_H_
#define MASKFEED_PIPELINE_MASKING_MASKING_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "maskfeed/v1/config.pb.h"

namespace maskfeed {

inline constexpr double kAlphaFloor =
    1e-9;  // every alpha is floored here (docs/masking.md#a-samples-plan)
inline constexpr int kDefaultTokenTotal = 128;
inline constexpr int kDefaultEosId = 3;
inline constexpr int kDefaultFirstSentinelId = 4;  // id of [S_0]
inline constexpr int kDefaultNumSentinels = 200;   // [S_0] .. [S_199]
inline constexpr int kBudgetAttempts = 100;
// A target budget meaning "no target budget": every position the input left is a target.
inline constexpr int kAllRemaining = -1;

enum class ModalityType { kImg, kSeq, kSeqToken, kSeqEmb };
enum class KeepScheme { kRandom, kAll, kBinary };
enum class TransferRole { kNone, kInput, kTarget };

struct ModalitySpec {
  std::string name;
  ModalityType type = ModalityType::kImg;
  int max_tokens = 0;
  int min_tokens = 0;
  uint32_t vocab_size = 0;
  uint32_t id = 0;
  std::string field;  // dataset folder; resolved against a dataset later
  int eos_id = kDefaultEosId;
  int first_sentinel_id = kDefaultFirstSentinelId;
  int num_sentinels = kDefaultNumSentinels;
  int vocab_offset = 0;
  int chunk_tokens = 0;
  int embedding_dim = 0;
  int pixel_size = 0;  // IMG: rgb pixels of side S, a uint8 (3, S, S) tensor; 0 = ids
  TransferRole role = TransferRole::kNone;

  bool is_sequence() const { return type != ModalityType::kImg; }
  bool is_pixels() const { return pixel_size > 0; }
  // Token-axis length of every tensor of this modality in a batch: n for images,
  // 2 * (M + 1) for SEQ / SEQ_TOKEN, M rows for SEQ_EMB.
  int length() const;
  // Id of sentinel [S_k].
  int sentinel(int k) const { return first_sentinel_id + k; }
  bool is_sentinel(int32_t id) const {
    return id >= first_sentinel_id && id < first_sentinel_id + num_sentinels;
  }
};

struct MixtureComponentSpec {
  std::string name;
  double weight = 1;
  std::vector<double> input_alpha;   // per modality, floored at kAlphaFloor
  std::vector<double> target_alpha;  // per modality, floored at kAlphaFloor
  std::vector<KeepScheme> keep;      // per modality (meaningful for sequences)
};

struct MaskingSpec {
  std::vector<ModalitySpec> modalities;  // sorted by name
  int input_min = kDefaultTokenTotal, input_max = kDefaultTokenTotal;
  int target_min = kDefaultTokenTotal, target_max = kDefaultTokenTotal;
  bool unbounded_targets = false;
  std::vector<MixtureComponentSpec> mixture;
  std::vector<double> cumulative_weights;  // normalised, last == 1
  bool redistribute_clamped_budget = false;
  bool no_crop_augmentation = false;
  bool transfer = false;  // fixed roles instead of the mixture

  std::optional<size_t> FindModality(std::string_view name) const;
};

// Validates `config` (after filling unset fields from its preset) and resolves it.
// INVALID_ARGUMENT naming the field, e.g. "mixture[1].input_alpha["det"]: -0.5 is negative".
absl::StatusOr<MaskingSpec> ResolveMaskingConfig(const v1::MaskingConfig& config);

// The config with its preset's fields filled in where it leaves them unset, and no preset
// field: equal configs expand to equal messages however they were written.
absl::StatusOr<v1::MaskingConfig> ExpandMaskingPreset(const v1::MaskingConfig& config);

// 4M's modality id: SHA-256 of the name read as a big-endian integer, mod 2^15.
uint32_t ModalityIdFromName(std::string_view name);

// 4M's registry entry of a modality name: type, tokens, vocabulary (and chunking, embedding
// width) as 4M-21 defines it; `tok_X@R` and `rgb@R` at other resolutions scale their 224
// token count by (R/224)²; rgb@R is pixels (MODALITY_TYPE_IMG over 16-pixel patches).
// NOT_FOUND for a name 4M does not define.
absl::StatusOr<v1::Modality> FourMModality(std::string_view name);

// A built-in preset's configuration. NOT_FOUND for an unknown name (the message lists them).
absl::StatusOr<v1::MaskingConfig> PresetMaskingConfig(std::string_view name);
std::vector<std::string> PresetNames();

// Parses protobuf text format; INVALID_ARGUMENT with the parser's line and column.
absl::StatusOr<v1::MaskingConfig> ParseMaskingConfig(std::string_view text);

// Reads and parses a text-format file; errors name the file (NOT_FOUND when it is missing).
absl::StatusOr<v1::MaskingConfig> LoadMaskingConfigFile(const std::string& path);

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_MASKING_MASKING_CONFIG_H_
