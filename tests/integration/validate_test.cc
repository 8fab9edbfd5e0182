// `hlsforge validate` end to end: the binary on a good package and on a broken one, checking
// exit codes (0 valid, 1 violations, 2 unreadable, non-zero usage) and what it prints.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hls/parser.h"
#include "hls/validator.h"
#include "hls/writer.h"
#include "testutil/testutil.h"

namespace hlsforge::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

class ValidateCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = TempDir::Create({}, "hlsforge-validate-");
    ASSERT_TRUE(t.ok()) << t.status();
    tmp_ = new TempDir(std::move(*t));
    ClipSpec spec;
    spec.seconds = 4;
    auto clip = MakeClip(tmp_->path() / "clips", spec);
    ASSERT_TRUE(clip.ok()) << clip.status();
    // A package made by plain ffmpeg (the reference command), master written by our writer
    // from measured values.
    good_ = tmp_->path() / "good";
    fs::create_directories(good_ / "0");
    auto r = RunSubprocess({"ffmpeg",
                            "-nostdin",
                            "-hide_banner",
                            "-loglevel",
                            "error",
                            "-y",
                            "-i",
                            clip->string(),
                            "-c:v",
                            "libx264",
                            "-preset",
                            "ultrafast",
                            "-g",
                            "60",
                            "-keyint_min",
                            "60",
                            "-sc_threshold",
                            "0",
                            "-c:a",
                            "aac",
                            "-b:a",
                            "64k",
                            "-f",
                            "hls",
                            "-hls_time",
                            "2",
                            "-hls_playlist_type",
                            "vod",
                            "-hls_segment_filename",
                            (good_ / "0" / "%d.ts").string(),
                            (good_ / "0" / "index.m3u8").string()});
    ASSERT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->err : r.status().ToString());
    auto media = hls::ParseMedia(Slurp(good_ / "0" / "index.m3u8"));
    ASSERT_TRUE(media.ok()) << media.status();
    auto rate = hls::MeasureBitrate(*media, good_ / "0");
    ASSERT_TRUE(rate.ok()) << rate.status();
    hls::Variant v;
    v.bandwidth = rate->peak_bps;
    v.average_bandwidth = rate->average_bps;
    v.codecs = "avc1.42c00d,mp4a.40.2";  // x264 ultrafast at 320x180: Constrained Baseline 1.3
    v.width = 320;
    v.height = 180;
    v.frame_rate = 30;
    v.uri = "0/index.m3u8";
    hls::MasterPlaylist m;
    m.variants = {v};
    Spit(good_ / "master.m3u8", hls::WriteMaster(m));

    // Broken: a segment gone and CODECS missing.
    broken_ = tmp_->path() / "broken";
    fs::copy(good_, broken_, fs::copy_options::recursive);
    fs::remove(broken_ / "0" / "1.ts");
    m.variants[0].codecs.clear();
    Spit(broken_ / "master.m3u8", hls::WriteMaster(m));
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  static TempDir* tmp_;
  static fs::path good_, broken_;
};

TempDir* ValidateCliTest::tmp_ = nullptr;
fs::path ValidateCliTest::good_;
fs::path ValidateCliTest::broken_;

TEST_F(ValidateCliTest, GoodPackageExitsZero) {
  auto r = RunHlsforge({"validate", good_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "OK: 1 variants, 2 segments\n");
  r = RunHlsforge({"validate", (good_ / "master.m3u8").string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST_F(ValidateCliTest, GoodPackageJson) {
  auto r = RunHlsforge({"validate", good_.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["variants"], 1);
  EXPECT_EQ(j["segments"], 2);
  EXPECT_TRUE(j["violations"].empty());
}

TEST_F(ValidateCliTest, BrokenPackageListsViolationsAndExitsOne) {
  auto r = RunHlsforge({"validate", broken_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("0/index.m3u8: missing-file: segment '0/1.ts' does not exist"));
  EXPECT_THAT(r.out, HasSubstr("master.m3u8: variant-codecs: 0/index.m3u8: CODECS missing"));
  EXPECT_THAT(r.out, HasSubstr("INVALID: 2 violations (1 variants, 2 segments)"));

  r = RunHlsforge({"validate", "--json", broken_.string()});
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["ok"], false);
  std::set<std::string> rules;
  for (const auto& v : j["violations"]) rules.insert(v["rule"].get<std::string>());
  EXPECT_EQ(rules, (std::set<std::string>{"missing-file", "variant-codecs"}));
}

TEST_F(ValidateCliTest, UnreadableAndUsageErrors) {
  auto r = RunHlsforge({"validate", (tmp_->path() / "nope").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("hlsforge: error: no such playlist"));
  EXPECT_TRUE(r.out.empty()) << r.out;

  r = RunHlsforge({"validate", (tmp_->path() / "nope").string(), "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("\"ok\":false"));

  r = RunHlsforge({"validate"});
  EXPECT_GE(r.exit_code, 2) << "a missing argument is a usage error";
  r = RunHlsforge({"validate", good_.string(), "--no-such-flag"});
  EXPECT_GE(r.exit_code, 2);
}

TEST_F(ValidateCliTest, HostileMasterDoesNotEscape) {
  fs::path p = tmp_->path() / "hostile";
  fs::remove_all(p);
  fs::copy(good_, p, fs::copy_options::recursive);
  std::string master = Slurp(p / "master.m3u8");
  master.replace(master.find("0/index.m3u8"), 12, "../good/0/index.m3u8");
  Spit(p / "master.m3u8", master);
  auto r = RunHlsforge({"validate", p.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("master.m3u8: uri-escape:"));
}

}  // namespace
}  // namespace hlsforge::testing
