// 4M's sam_instance members: the restricted NumPy pickle reader, then the SAM text of every
// entry it yields. Unknown opcodes and globals, lying lengths, deep nesting and memo tricks
// must give DATA_LOSS, never a crash, a hang or code run.
#include "fuzz_util.h"
#include "pipeline/text/numpy_pickle.h"
#include "pipeline/text/text_builders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace maskfeed;
  absl::StatusOr<text::PyRef> value = text::ReadNumpyPickle(fuzz::AsView(data, size));
  if (!value.ok()) return 0;
  Rng rng(3);
  if ((*value)->kind == text::PyObject::Kind::kDict) (void)text::BuildSamText(**value, rng);
  for (const text::PyRef& entry : (*value)->items) (void)text::BuildSamText(*entry, rng);
  return 0;
}
