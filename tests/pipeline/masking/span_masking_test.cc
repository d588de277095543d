// Sequence mask invariants docs/masking.md invariants 14-22, on random sequences and budgets.
#include "pipeline/masking/span_masking.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/masking/masker.h"
#include "tests/testing/masking_test_util.h"

namespace maskfeed {
namespace {

using ::maskfeed::testing::Ids;
using ::maskfeed::testing::SpecFromText;

// One SEQ modality "t" with M = 32, masked through the Masker with hand-picked budgets.
class SequenceMasking : public ::testing::Test {
 protected:
  void SetUp() override {
    Build(R"pb(modalities { name: "t" type: MODALITY_TYPE_SEQ max_tokens: 32 }
               mixture {})pb");
  }

  void Build(const std::string& text) {
    spec_ = SpecFromText(text);
    masker_ = std::make_unique<Masker>(spec_);
    const int length = spec_.modalities[0].length();
    tokens_.assign(length, -7);
    input_.assign(length, 7);
    target_.assign(length, 7);
    attention_.assign(length, 7);
  }

  // Masks `ids` with budgets (input, target) and scheme; fills the row buffers.
  void Mask(const std::vector<int32_t>& ids, int input, int target, KeepScheme scheme,
            uint64_t seed) {
    spec_.mixture[0].keep[0] = scheme;
    masker_ = std::make_unique<Masker>(spec_);
    SamplePlan plan;
    plan.input_budget = {input};
    plan.target_budget = {target};
    const Record record = Ids(ids);
    const Record* records[] = {&record};
    ModalityRow row{tokens_.data(), nullptr, input_.data(), target_.data(), attention_.data()};
    Rng rng(seed);
    MaskScratch scratch;
    ASSERT_TRUE(masker_->Apply(plan, records, rng, {&row, 1}, &scratch).ok());
  }

  const ModalitySpec& mod() const { return spec_.modalities[0]; }
  // The sequence as masking sees it: ids + EOS, cut to M.
  std::vector<int32_t> Prepared(std::vector<int32_t> ids) const {
    ids.push_back(mod().eos_id);
    if (ids.size() > static_cast<size_t>(mod().max_tokens)) ids.resize(mod().max_tokens);
    return ids;
  }
  std::vector<int32_t> InputIds() const {
    std::vector<int32_t> v;
    for (size_t i = 0; i < input_.size() && input_[i] == 0; ++i) v.push_back(tokens_[i]);
    return v;
  }
  std::vector<int32_t> TargetIds(int offset) const {
    std::vector<int32_t> v;
    for (size_t i = offset; i < target_.size() && target_[i] == 0; ++i) v.push_back(tokens_[i]);
    return v;
  }

  // Items 14-16: prefix input, target block at the input budget, PAD and masks elsewhere.
  void CheckLayout(int input, int target) const {
    const size_t n_in = InputIds().size(), n_tgt = TargetIds(input).size();
    ASSERT_LE(n_in, static_cast<size_t>(input));
    if (target >= 0) {
      ASSERT_LE(n_tgt, static_cast<size_t>(target));
    }
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const bool is_in = i < n_in;
      const bool is_tgt = i >= static_cast<size_t>(input) && i < input + n_tgt;
      ASSERT_EQ(input_[i], is_in ? 0 : 1) << i;
      ASSERT_EQ(target_[i], is_tgt ? 0 : 1) << i;
      ASSERT_EQ(attention_[i], is_tgt ? 1 : 0) << i;
      if (!is_in && !is_tgt) {
        ASSERT_EQ(tokens_[i], 0) << "PAD at " << i;
      }
    }
  }

  MaskingSpec spec_;
  std::unique_ptr<Masker> masker_;
  std::vector<int32_t> tokens_, attention_;
  std::vector<uint8_t> input_, target_;
};

std::vector<int32_t> RandomIds(Rng& rng, int max_length) {
  std::vector<int32_t> ids(rng.Below(static_cast<uint32_t>(max_length + 1)));
  for (int32_t& id : ids) id = 4284 + static_cast<int32_t>(rng.Below(25000));
  return ids;
}

TEST_F(SequenceMasking, UntruncatedTargetsReconstructTheSequence) {
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    Rng pick(seed);
    const std::vector<int32_t> ids = RandomIds(pick, 40);
    const int input = static_cast<int>(pick.Below(33));
    Mask(ids, input, kAllRemaining, KeepScheme::kRandom, seed);
    ASSERT_NO_FATAL_FAILURE(CheckLayout(input, kAllRemaining));
    const std::vector<int32_t> in = InputIds(), tgt = TargetIds(input);
    const std::vector<int32_t> prepared = Prepared(ids);
    if (input == 0) {
      // Item 21's second half: no input budget, target = [S_1] ids [S_2].
      ASSERT_TRUE(in.empty());
      std::vector<int32_t> want = {mod().sentinel(1)};
      want.insert(want.end(), prepared.begin(), prepared.end());
      want.push_back(mod().sentinel(2));
      ASSERT_EQ(tgt, want);
      continue;
    }
    // Item 17: input sentinels are S_1..S_m in order, never adjacent.
    int m = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      if (!mod().is_sentinel(in[i])) continue;
      ASSERT_EQ(in[i], mod().sentinel(++m)) << "seed " << seed;
      if (i > 0) {
        ASSERT_FALSE(mod().is_sentinel(in[i - 1]));
      }
    }
    // Item 18: target starts with S_1, ends with S_{m+1}; inner sentinels are followed by ids.
    ASSERT_FALSE(tgt.empty());
    if (m > 0) {
      ASSERT_EQ(tgt.front(), mod().sentinel(1));
    }
    ASSERT_EQ(tgt.back(), mod().sentinel(m + 1));
    for (size_t i = 0; i + 1 < tgt.size(); ++i) {
      if (mod().is_sentinel(tgt[i])) {
        ASSERT_FALSE(mod().is_sentinel(tgt[i + 1])) << "seed " << seed;
      }
    }
    // Item 19: replacing each S_k by what follows it in the target rebuilds the sequence.
    std::vector<int32_t> rebuilt;
    for (int32_t id : in) {
      if (!mod().is_sentinel(id)) {
        rebuilt.push_back(id);
        continue;
      }
      auto at = std::find(tgt.begin(), tgt.end(), id);
      ASSERT_NE(at, tgt.end());
      for (++at; at != tgt.end() && !mod().is_sentinel(*at); ++at) rebuilt.push_back(*at);
    }
    ASSERT_EQ(rebuilt, prepared) << "seed " << seed;
  }
}

TEST_F(SequenceMasking, TruncatedTargetsStartAtASentinelAndFitTheBudget) {
  int exact = 0, truncated = 0;
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    Rng pick(seed);
    const std::vector<int32_t> ids = RandomIds(pick, 40);
    const int input = 1 + static_cast<int>(pick.Below(32));
    const int target = static_cast<int>(pick.Below(33));
    // The untruncated target of the same draws: mask twice with the same seed.
    Mask(ids, input, kAllRemaining, KeepScheme::kRandom, seed);
    const std::vector<int32_t> full = TargetIds(input);
    Mask(ids, input, target, KeepScheme::kRandom, seed);
    ASSERT_NO_FATAL_FAILURE(CheckLayout(input, target));
    const std::vector<int32_t> cut = TargetIds(input);
    if (full.size() <= static_cast<size_t>(target)) {
      ASSERT_EQ(cut, full);
      continue;
    }
    ++truncated;
    // Item 20: starts with a sentinel (or is empty), a contiguous piece of the full target.
    ASSERT_LE(cut.size(), static_cast<size_t>(target));
    if (target == 0) {
      ASSERT_TRUE(cut.empty());
      continue;
    }
    ASSERT_TRUE(mod().is_sentinel(cut.front()));
    ASSERT_NE(std::search(full.begin(), full.end(), cut.begin(), cut.end()), full.end());
    if (cut.size() == static_cast<size_t>(target)) {
      ++exact;
    } else {
      // Otherwise it is the longest suffix that fits and starts at a sentinel.
      ASSERT_TRUE(std::equal(cut.rbegin(), cut.rend(), full.rbegin()));
    }
  }
  EXPECT_GT(truncated, 500);
  EXPECT_GT(exact, truncated / 2);
}

TEST_F(SequenceMasking, KeepAllWithASequenceThatFits) {
  const std::vector<int32_t> ids = {5000, 5001, 5002};
  Mask(ids, 10, 20, KeepScheme::kAll, 1);
  ASSERT_NO_FATAL_FAILURE(CheckLayout(10, 20));
  EXPECT_EQ(InputIds(), Prepared(ids));
  EXPECT_EQ(TargetIds(10), std::vector<int32_t>{mod().sentinel(1)});
}

TEST_F(SequenceMasking, KeepAllThatDoesNotFitDecaysUntilItDoes) {
  std::vector<int32_t> ids(20, 6000);
  Mask(ids, 4, 32, KeepScheme::kAll, 2);
  ASSERT_NO_FATAL_FAILURE(CheckLayout(4, 32));
  EXPECT_LE(InputIds().size(), 4u);
  EXPECT_GE(InputIds().size(), 1u);
}

TEST_F(SequenceMasking, EdgeCases) {
  // Empty text: the sequence is just EOS.
  Mask({}, 5, 10, KeepScheme::kAll, 3);
  EXPECT_EQ(InputIds(), std::vector<int32_t>{mod().eos_id});
  // Longer than M: cut to M, and the EOS is lost (docs/masking.md#sequence-masking).
  std::vector<int32_t> long_ids(50);
  for (size_t i = 0; i < long_ids.size(); ++i) long_ids[i] = 5000 + static_cast<int32_t>(i);
  Mask(long_ids, 32, kAllRemaining, KeepScheme::kAll, 4);
  std::vector<int32_t> want(long_ids.begin(), long_ids.begin() + 32);
  EXPECT_EQ(InputIds(), want);
  // Budgets of zero: nothing at all.
  Mask(long_ids, 0, 0, KeepScheme::kRandom, 5);
  ASSERT_NO_FATAL_FAILURE(CheckLayout(0, 0));
  EXPECT_TRUE(InputIds().empty());
  EXPECT_TRUE(TargetIds(0).empty());
  // Binary keeps everything or (after decay) fits.
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Mask({5000, 5001}, 32, 32, KeepScheme::kBinary, seed);
    ASSERT_NO_FATAL_FAILURE(CheckLayout(32, 32));
    const size_t n = InputIds().size();
    ASSERT_TRUE(n == 3 || n == 1) << "all kept (2 + EOS) or all dropped ([S_1])";
  }
}

// Item 22: chunk masking never splits a "v1=j v0=x" pair.
TEST_F(SequenceMasking, ChunksAreNeverSplit) {
  Build(R"pb(modalities { name: "meta" type: MODALITY_TYPE_SEQ max_tokens: 40 chunk_tokens: 2 }
             mixture {})pb");
  auto is_v1 = [](int32_t id) { return id >= 1204 && id < 2204; };
  auto is_v0 = [](int32_t id) { return id >= 204 && id < 1204; };
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Rng pick(seed);
    std::vector<int32_t> ids;
    const int chunks = static_cast<int>(pick.Below(25));  // up to 50 tokens: some get cut
    for (int c = 0; c < chunks; ++c) {
      ids.push_back(1204 + static_cast<int32_t>(pick.Below(21)));
      ids.push_back(204 + static_cast<int32_t>(pick.Below(1000)));
    }
    const int input = static_cast<int>(pick.Below(41));
    Mask(ids, input, kAllRemaining, KeepScheme::kRandom, seed);
    ASSERT_NO_FATAL_FAILURE(CheckLayout(input, kAllRemaining));
    for (const std::vector<int32_t>& part : {InputIds(), TargetIds(input)}) {
      for (size_t i = 0; i < part.size(); ++i) {
        if (is_v1(part[i])) {
          ASSERT_LT(i + 1, part.size());
          ASSERT_TRUE(is_v0(part[i + 1])) << "seed " << seed;
        }
      }
    }
    // Whole chunks only: the kept prefix has an even number of tokens (+ EOS if it fits).
    int tokens = 0;
    for (int32_t id : InputIds()) tokens += is_v1(id) || is_v0(id);
    ASSERT_EQ(tokens % 2, 0);
  }
}

// SEQ_TOKEN (docs/masking.md#sequence-masking): vocab_offset is added and no EOS is appended.
TEST_F(SequenceMasking, SeqTokenAddsOffsetAndNoEos) {
  Build(R"pb(modalities { name: "t" type: MODALITY_TYPE_SEQ_TOKEN max_tokens: 8 vocab_offset: 1000 }
             mixture {})pb");
  Mask({1, 2, 3}, 8, 8, KeepScheme::kAll, 1);
  EXPECT_EQ(InputIds(), (std::vector<int32_t>{1001, 1002, 1003}));
  EXPECT_EQ(TargetIds(8), std::vector<int32_t>{mod().sentinel(1)});
  // Longer than M: cut to M (a named deviation: the fixed-size tensor needs it).
  Mask({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 8, 8, KeepScheme::kAll, 2);
  EXPECT_EQ(InputIds().size(), 8u);
}

TEST(SpanPrimitivesTest, AllKeptAndAllDropped) {
  const MaskingSpec spec =
      SpecFromText(R"pb(modalities { name: "t" type: MODALITY_TYPE_SEQ max_tokens: 8 }
                        mixture {})pb");
  const ModalitySpec& mod = spec.modalities[0];
  SpanScratch s;
  s.ids.resize(3);
  for (int i = 0; i < 3; ++i) s.ids[i] = 100 + i * 1000;
  SplitUnits(3, 0, 0, &s);
  Rng rng(1);
  EXPECT_EQ(DrawKeeps(1, rng, &s), 3u);
  BuildSpans(mod, false, &s);
  EXPECT_EQ(std::vector<int32_t>(s.input.begin(), s.input.end()),
            (std::vector<int32_t>{100, 1100, 2100}));
  EXPECT_EQ(std::vector<int32_t>(s.target.begin(), s.target.end()), std::vector<int32_t>{5});
  EXPECT_EQ(DrawKeeps(0, rng, &s), 1u);
  BuildSpans(mod, false, &s);
  EXPECT_EQ(std::vector<int32_t>(s.input.begin(), s.input.end()), std::vector<int32_t>{5});
  EXPECT_EQ(std::vector<int32_t>(s.target.begin(), s.target.end()),
            (std::vector<int32_t>{5, 100, 1100, 2100, 6}));
  // The early stop reports limit + 1 once the input outgrows the limit.
  EXPECT_EQ(DrawKeeps(1, rng, &s, 2), 3u);
}

}  // namespace
}  // namespace maskfeed
