// Helpers for masking tests: specs built in a line, records made from vectors, and (from
// tolerance.h) a tolerance for statistical checks derived from the sample size.
#ifndef MASKFEED_TESTS_TESTING_MASKING_TEST_UTIL_H_
#define MASKFEED_TESTS_TESTING_MASKING_TEST_UTIL_H_

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pipeline/base/record.h"
#include "pipeline/masking/masking_config.h"
#include "tests/testing/tolerance.h"

namespace maskfeed::testing {

// Resolves a text-format MaskingConfig, failing the test on error.
inline MaskingSpec SpecFromText(const std::string& text) {
  absl::StatusOr<v1::MaskingConfig> config = ParseMaskingConfig(text);
  EXPECT_TRUE(config.ok()) << config.status();
  absl::StatusOr<MaskingSpec> spec = ResolveMaskingConfig(*config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : MaskingSpec();
}

inline MaskingSpec PresetSpec(const std::string& name) {
  return SpecFromText("preset: \"" + name + "\"");
}

template <typename T>
Record MakeRecord(DType dtype, Shape shape, const std::vector<T>& values) {
  Record r;
  r.dtype = dtype;
  r.shape = shape;
  r.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(r.data.data(), values.data(), r.data.size());
  return r;
}

inline Record Ids(const std::vector<int32_t>& ids) {
  return MakeRecord(DType::kInt32, {static_cast<int64_t>(ids.size())}, ids);
}

}  // namespace maskfeed::testing

#endif  // MASKFEED_TESTS_TESTING_MASKING_TEST_UTIL_H_
