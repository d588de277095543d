// End-to-end tests of the maskfeed client program: its benchmarks (in-process and against a
// real maskfeed-server) and describe.
#include <signal.h>

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "pipeline/base/strings.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tokenizer_goldens.h"

namespace maskfeed {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

using MaskfeedCliTest = ::maskfeed::testing::ProgramTest;

// `maskfeed tokenize` gives HuggingFace's ids, one output line per input line: checked on the
// golden corpus's strings that hold no line break.
TEST_F(MaskfeedCliTest, TokenizePrintsTheGoldenIdsLineByLine) {
  std::string input, expected;
  size_t lines = 0;
  for (const testing::GoldenLine& line : testing::ReadTokenizerGoldens()) {
    if (lines == 3000) break;
    if (line.text.find_first_of("\n\r") != std::string::npos) continue;
    input += line.text + "\n";
    std::string ids;
    for (int id : line.ids) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    expected += ids + "\n";
    ++lines;
  }
  testing::WriteFile(dir_ / "in.txt", input);
  ASSERT_EQ(Run(MASKFEED_BIN, StrCat("tokenize --tokenizer " MASKFEED_SOURCE_DIR
                                     "/tests/data/4m/text_tokenizer_4m_wordpiece_30k.json < ",
                                     dir_ / "in.txt")),
            0)
      << err_;
  EXPECT_EQ(lines, 3000u);
  EXPECT_TRUE(out_ == expected) << "the ids differ from the golden file";
  EXPECT_NE(Run(MASKFEED_BIN, "tokenize"), 0);
  EXPECT_THAT(err_, HasSubstr("--tokenizer FILE"));
  EXPECT_NE(
      Run(MASKFEED_BIN, StrCat("tokenize --tokenizer ", dir_ / "missing.json", " < /dev/null")), 0);
  EXPECT_THAT(err_, HasSubstr("missing.json"));
}

TEST_F(MaskfeedCliTest, InProcessBenchPrintsAJsonLastLine) {
  ASSERT_EQ(Run(MASKFEED_SHARD_BIN,
                StrCat("synth --samples 200 --shards 2 --format mfs --out ", dir_ / "d")),
            0)
      << err_;
  ASSERT_EQ(
      Run(MASKFEED_BIN, StrCat("bench --in-process --data ", dir_ / "d",
                               " --threads 2 --streams 2 --batches 5 --batch-size 16 --json")),
      0)
      << err_;
  const std::string last = out_.substr(out_.rfind('{'));
  for (const char* field :
       {"\"samples\": 160,", "\"seconds\": ", "\"samples_per_s\": ", "\"bytes_per_s\": ",
        "\"batch_latency_ms_p50\": ", "\"batch_latency_ms_p99\": ", "\"peak_rss_mb\": ",
        "\"open_seconds\": ", "\"open_rss_anon_mb\": "}) {
    EXPECT_THAT(last, HasSubstr(field));
  }
  EXPECT_THAT(last, MatchesRegex("\\{.*\\}\n"));
}

// Every command answers --help (and -h) with its usage on stdout and exits 0, without running.
TEST_F(MaskfeedCliTest, EveryCommandAnswersHelp) {
  for (const char* command : {"bench", "describe", "fetch", "preview", "tokenize"}) {
    for (const char* flag : {"--help", "-h"}) {
      EXPECT_EQ(Run(MASKFEED_BIN, StrCat(command, " ", flag)), 0) << command << " " << flag;
      EXPECT_THAT(out_, HasSubstr(StrCat("usage: maskfeed ", command))) << command;
    }
  }
  EXPECT_THAT(out_, HasSubstr("--tls-ca PEM")) << "the options every connecting command takes";
  ASSERT_EQ(Run(MASKFEED_BIN, "bench --help"), 0);
  EXPECT_THAT(out_, HasSubstr("--window-shards K")) << "bench --in-process takes the data flags";
  EXPECT_THAT(out_, HasSubstr("--4m-config YAML"));
  ASSERT_EQ(Run(MASKFEED_BIN, "--help"), 0);
  EXPECT_THAT(out_, HasSubstr("commands:"));
}

TEST_F(MaskfeedCliTest, BenchErrorsSayWhatIsWrong) {
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --in-process"), 2);
  EXPECT_THAT(err_, HasSubstr("no data: give --data DIR|URL, --config FILE or --4m-config YAML"));
  EXPECT_EQ(Run(MASKFEED_BIN, StrCat("bench --in-process --data ", dir_ / "missing")), 1);
  EXPECT_THAT(err_, HasSubstr("is not a directory"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --address 127.0.0.1:1 --batches 1"), 1);
  EXPECT_THAT(err_, HasSubstr("127.0.0.1:1: failed to connect"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --threads 2"), 2);
  EXPECT_THAT(err_, HasSubstr("--threads only applies with --in-process"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --encoding zip"), 2);
  EXPECT_THAT(err_, HasSubstr("--encoding"));
  EXPECT_EQ(Run(MASKFEED_BIN, "fetch --batches 1"), 2);
  EXPECT_THAT(err_, HasSubstr("--out DIR is required"));
  EXPECT_EQ(Run(MASKFEED_BIN, StrCat("fetch --address 127.0.0.1:1 --out ", dir_ / "f")), 1);
  EXPECT_THAT(err_, HasSubstr("127.0.0.1:1"));
  EXPECT_EQ(Run(MASKFEED_BIN, StrCat("preview --address 127.0.0.1:1 --out ", dir_ / "p.svg")), 1);
  EXPECT_THAT(err_, HasSubstr("127.0.0.1:1"));
  EXPECT_EQ(Run(MASKFEED_BIN, StrCat("fetch --resume ", dir_ / "nothing", " --out ", dir_ / "f")),
            1);
  EXPECT_THAT(err_, HasSubstr("--resume: cannot read"));
  EXPECT_EQ(Run(MASKFEED_BIN, "bench --in-process --data x --preset 4m-99"), 2);
  EXPECT_THAT(err_, HasSubstr("unknown preset '4m-99'"));
}

TEST_F(MaskfeedCliTest, BenchAndDescribeAgainstARealServer) {
  ASSERT_EQ(Run(MASKFEED_SHARD_BIN,
                StrCat("synth --preset 4m-7-tokens --samples 200 --shards 2 --format mfs --out ",
                       dir_ / "d")),
            0)
      << err_;
  const std::string socket = "unix:" + (dir_ / "feed.sock");
  testing::Subprocess server({MASKFEED_SERVER_BIN, "--data", dir_ / "d", "--listen", socket,
                              "--metrics-listen", "off", "--threads", "2"},
                             dir_ / "server.log");
  ASSERT_TRUE(server.WaitForLog("event=ready", std::chrono::seconds(60))) << server.log();
  for (const char* encoding : {"packed", "plain"}) {
    ASSERT_EQ(Run(MASKFEED_BIN, StrCat("bench --address ", socket, " --streams 2 --batches 5 ",
                                       "--batch-size 16 --encoding ", encoding, " --json")),
              0)
        << err_;
    google::protobuf::Struct json;
    const std::string last = out_.substr(out_.rfind('{'));
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(last, &json).ok()) << last;
    const auto& f = json.fields();
    EXPECT_EQ(f.at("samples").number_value(), 160);
    EXPECT_EQ(f.at("mode").string_value(), "grpc");
    EXPECT_EQ(f.at("encoding").string_value(), encoding);
    for (const char* field : {"seconds", "samples_per_s", "bytes_per_s", "wire_bytes_per_s",
                              "batch_latency_ms_p50", "batch_latency_ms_p99"}) {
      ASSERT_TRUE(f.count(field)) << field;
      EXPECT_GT(f.at(field).number_value(), 0) << field;
    }
    // Tensor bytes as the trainer sees them: 16 x 20080 per batch for 4m-7-tokens.
    EXPECT_NEAR(f.at("bytes_per_s").number_value() * f.at("seconds").number_value(), 160 * 20080.0,
                160 * 20080.0 * 0.02);  // seconds are printed rounded
  }
  ASSERT_EQ(Run(MASKFEED_BIN, StrCat("describe --address ", socket)), 0) << err_;
  EXPECT_THAT(out_, HasSubstr("dataset 'default' (default): 200 samples, preset 4m-7-tokens"));
  EXPECT_THAT(out_, HasSubstr("tok_rgb@224"));
  ASSERT_EQ(Run(MASKFEED_BIN, StrCat("describe --json --address ", socket)), 0) << err_;
  google::protobuf::Struct json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(out_, &json).ok()) << out_;
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace maskfeed
