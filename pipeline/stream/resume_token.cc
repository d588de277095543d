#include "pipeline/stream/resume_token.h"

#include <cstring>

#include "pipeline/base/crc32c.h"
#include "pipeline/base/strings.h"

namespace maskfeed {
namespace {

constexpr std::string_view kMagic = "MFRT";
// Version 2 added the layout's start (base, first_batch); version 1 tokens (40 bytes) are
// still read, as a layout that starts at 0.
constexpr uint32_t kVersion = 2;
constexpr size_t kTokenBytesV1 = 4 + 4 + 8 + 4 + 4 + 4 + 8 + 4;
constexpr size_t kTokenBytes = kTokenBytesV1 + 8 + 8;

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
  Put(&out, s.base);
  Put(&out, s.first_batch);
  Put(&out, Crc32c(out.data(), out.size()));
  return out;
}

absl::StatusOr<ResumeState> DecodeResumeToken(std::string_view token) {
  if ((token.size() != kTokenBytes && token.size() != kTokenBytesV1) ||
      token.substr(0, 4) != kMagic) {
    return Bad(StrCat("not a maskfeed resume token (", token.size(), " bytes)"));
  }
  const char* p = token.data() + 4;
  const uint32_t version = Get<uint32_t>(&p);
  if (version != kVersion && version != 1) {
    return Bad(
        StrCat("token version ", version, " is not supported (this build: 1 to ", kVersion, ")"));
  }
  const size_t size = version == 1 ? kTokenBytesV1 : kTokenBytes;
  if (token.size() != size) {
    return Bad(StrCat("a version ", version, " token has ", size, " bytes, not ", token.size()));
  }
  if (Crc32c(token.data(), size - 4) != [&] {
        const char* q = token.data() + size - 4;
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
  if (version >= 2) {
    s.base = Get<uint64_t>(&p);
    s.first_batch = Get<uint64_t>(&p);
    if (s.first_batch > s.next_batch) {
      return Bad(StrCat("its layout starts at batch ", s.first_batch, ", after its next batch ",
                        s.next_batch));
    }
  }
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

absl::StatusOr<ResumeState> ResumeFrom(const std::vector<std::string>& tokens,
                                       const ResumeState& stream) {
  if (tokens.empty()) return stream;
  std::vector<ResumeState> old;
  for (const std::string& t : tokens) {
    absl::StatusOr<ResumeState> s = DecodeResumeToken(t);
    if (!s.ok()) return s.status();
    old.push_back(*s);
  }
  const ResumeState& first = old.front();
  const bool same_layout =
      first.world_size == stream.world_size && first.batch_size == stream.batch_size;
  if (old.size() == 1 && same_layout) {  // this rank's own token
    if (absl::Status s = CheckResumeState(first, stream); !s.ok()) return s;
    ResumeState out = stream;
    out.next_batch = first.next_batch;
    out.base = first.base;
    out.first_batch = first.first_batch;
    return out;
  }
  const std::string how =
      StrCat("to resume at another world size or batch size, pass the last tokens of all ",
             first.world_size,
             " ranks of the old job, saved after the same step (resume_tokens; "
             "Python: Feed(resume=[rank 0's token, ..., rank ",
             first.world_size - 1, "'s]))");
  for (const ResumeState& s : old) {
    if (s.fingerprint != stream.fingerprint) {
      return Bad("issued for another dataset, masking config or order (seed, repeats, epoch size)");
    }
  }
  // Checked before anything is sized by the tokens' world size.
  if (old.size() != first.world_size) {
    return Bad(StrCat(old.size(), old.size() == 1 ? " token was" : " tokens were", " given (rank ",
                      first.rank, " of ", first.world_size, " with batch size ", first.batch_size,
                      "; this stream is rank ", stream.rank, " of ", stream.world_size,
                      " with batch size ", stream.batch_size, "); ", how));
  }
  std::vector<bool> seen(first.world_size, false);
  for (const ResumeState& s : old) {
    if (s.world_size != first.world_size || s.batch_size != first.batch_size ||
        s.base != first.base || s.first_batch != first.first_batch) {
      return Bad(StrCat("the tokens come from different jobs (rank ", s.rank, " of ", s.world_size,
                        " with batch size ", s.batch_size, ", rank ", first.rank, " of ",
                        first.world_size, " with batch size ", first.batch_size, "); ", how));
    }
    if (s.rank >= first.world_size || seen[s.rank]) {
      return Bad(StrCat("rank ", s.rank, "'s token is given twice or is out of range; ", how));
    }
    seen[s.rank] = true;
    if (s.next_batch != first.next_batch) {
      return Bad(StrCat("rank ", first.rank, " stopped before batch ", first.next_batch,
                        " and rank ", s.rank, " before batch ", s.next_batch,
                        ": resume from tokens every rank saved after the same step"));
    }
  }
  // The position the old layout reached: base + (steps since it began) x its global batch.
  uint64_t global = 0, reached = 0;
  if (__builtin_mul_overflow(uint64_t{first.world_size}, uint64_t{first.batch_size}, &global) ||
      __builtin_mul_overflow(first.next_batch - first.first_batch, global, &reached) ||
      __builtin_add_overflow(first.base, reached, &reached)) {
    return Bad("the old job's position does not fit 64 bits");
  }
  ResumeState out = stream;
  out.next_batch = first.next_batch;
  out.base = reached;
  out.first_batch = first.next_batch;
  return out;
}

}  // namespace maskfeed
