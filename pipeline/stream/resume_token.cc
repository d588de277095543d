#include "pipeline/stream/resume_token.h"

#include <cstring>

#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kMagic = "MFRT";
constexpr uint32_t kVersion = 1;
constexpr size_t kTokenBytes = 4 + 4 + 8 + 4 + 4 + 4 + 8 + 4;

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <typename T>
T Get(const char** p) {
  T v;
  std::memcpy(&v, *p, sizeof(v));
  *p += sizeof(v);
  return v;
}

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("resume_token: ", what));
}

}  // namespace

std::string EncodeResumeToken(const ResumeState& s) {
  std::string out(kMagic);
  Put(&out, kVersion);
  Put(&out, s.fingerprint);
  Put(&out, s.rank);
  Put(&out, s.world_size);
  Put(&out, s.batch_size);
  Put(&out, s.next_batch);
  Put(&out, Crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<ResumeState> DecodeResumeToken(std::string_view token) {
  if (token.size() != kTokenBytes || token.substr(0, 4) != kMagic) {
    return Bad(StrCat("not a maskfeed resume token (", token.size(), " bytes)"));
  }
  const char* p = token.data() + 4;
  const uint32_t version = Get<uint32_t>(&p);
  if (version != kVersion) {
    return Bad(StrCat("token version ", version, " is not supported (this build: ", kVersion, ")"));
  }
  if (Crc32c(token.data(), kTokenBytes - 4) != [&] {
        const char* q = token.data() + kTokenBytes - 4;
        return Get<uint32_t>(&q);
      }()) {
    return Bad("checksum mismatch (the token was altered or cut)");
  }
  ResumeState s;
  s.fingerprint = Get<uint64_t>(&p);
  s.rank = Get<uint32_t>(&p);
  s.world_size = Get<uint32_t>(&p);
  s.batch_size = Get<uint32_t>(&p);
  s.next_batch = Get<uint64_t>(&p);
  return s;
}

absl::Status CheckResumeState(const ResumeState& token, const ResumeState& stream) {
  if (token.fingerprint != stream.fingerprint) {
    return Bad("issued for another dataset, masking config or order (seed, repeats, epoch size)");
  }
  if (token.rank != stream.rank || token.world_size != stream.world_size ||
      token.batch_size != stream.batch_size) {
    return Bad(StrCat("issued for rank ", token.rank, " of ", token.world_size, " with batch size ",
                      token.batch_size, "; this stream is rank ", stream.rank, " of ",
                      stream.world_size, " with batch size ", stream.batch_size));
  }
  return absl::OkStatus();
}

}  // namespace maskfeed
