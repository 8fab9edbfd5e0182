#include "media/package.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/fs.h"
#include "testutil/testutil.h"

namespace hlsforge::media {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(CodecString, FromSpsBytes) {
  EXPECT_EQ(AvcCodecString(100, 0, 31), "avc1.64001f");
  EXPECT_EQ(AvcCodecString(77, 0x40, 30), "avc1.4d401e");
  EXPECT_EQ(AvcCodecString(66, 0xc0, 13), "avc1.42c00d");
  EXPECT_EQ(AvcCodecString(100, 0, 51), "avc1.640033");
}

TEST(CodecString, FromProbeNames) {
  EXPECT_EQ(AvcCodecStringFromProbe("High", 31), "avc1.64001f");
  EXPECT_EQ(AvcCodecStringFromProbe("Main", 40), "avc1.4d4028");
  EXPECT_EQ(AvcCodecStringFromProbe("Constrained Baseline", 30), "avc1.42c01e");
  EXPECT_EQ(AvcCodecStringFromProbe("Baseline", 30), "avc1.42001e");
}

TEST(CodecString, FindSps) {
  // AUD, then SPS (High, no constraint flags, level 3.1), then PPS.
  const unsigned char es[] = {0,    0,    0,    1,    0x09, 0xf0, 0, 0, 0,    1,    0x67, 0x64,
                              0x00, 0x1f, 0xac, 0xd9, 0,    0,    0, 1, 0x68, 0xeb, 0xe3};
  int p = 0, c = 0, l = 0;
  ASSERT_TRUE(FindSps(std::string_view(reinterpret_cast<const char*>(es), sizeof es), &p, &c, &l));
  EXPECT_EQ(p, 100);
  EXPECT_EQ(c, 0);
  EXPECT_EQ(l, 31);
  EXPECT_FALSE(FindSps("", &p, &c, &l));
  EXPECT_FALSE(FindSps(std::string("\0\0\1\x67", 4), &p, &c, &l));  // cut short
  EXPECT_FALSE(FindSps("random bytes without a start code", &p, &c, &l));
}

TEST(MediaPlaylist, LayoutContract) {
  auto ok = ReadMediaPlaylist(
      "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
      "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXTINF:2.000000,\n0.ts\n"
      "#EXTINF:1.500000,\n1.ts\n#EXT-X-ENDLIST\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->segments.size(), 2u);
  EXPECT_DOUBLE_EQ(ok->TotalDuration(), 3.5);

  const char* bad[] = {
      "",
      "not a playlist",
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n0.ts\n",                  // no ENDLIST
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-ENDLIST\n",                    // no segments
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n1.ts\n#EXT-X-ENDLIST\n",  // not from 0
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n../0.ts\n#EXT-X-ENDLIST\n",
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n/etc/passwd\n#EXT-X-ENDLIST\n",
      "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:0,\n0.ts\n#EXT-X-ENDLIST\n",
  };
  for (const char* text : bad) {
    auto r = ReadMediaPlaylist(text);
    EXPECT_FALSE(r.ok()) << text;
  }
}

TEST(MeasureRendition, BandwidthFromSizesAndDurations) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  // Measuring reads the playlist and sizes first; with fake (non-TS) segments it must then fail
  // cleanly at the stream probe rather than report made-up codecs.
  ASSERT_TRUE(WriteFileAtomic(dir->path() / "index.m3u8",
                              "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n0.ts\n"
                              "#EXTINF:1.0,\n1.ts\n#EXT-X-ENDLIST\n")
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(dir->path() / "0.ts", std::string(1000, 'x')).ok());
  auto missing = MeasureRendition(dir->path());
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing segment"));
  ASSERT_TRUE(WriteFileAtomic(dir->path() / "1.ts", std::string(1000, 'x')).ok());
  auto fake = MeasureRendition(dir->path());
  EXPECT_FALSE(fake.ok());
  EXPECT_THAT(fake.status().message(), HasSubstr("cannot probe"));
}

// ---- EncodePackage on real (tiny) clips ----

class Encode : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
    testing::ClipSpec spec;
    spec.width = 160;
    spec.height = 90;
    spec.seconds = 2;
    auto c = testing::MakeClip(dir_->path() / "clips", spec);
    ASSERT_TRUE(c.ok()) << c.status();
    clip_ = *c;
  }
  // Everything under the test folder except the clips.
  std::vector<std::string> Leftovers() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_->path())) {
      std::string rel = fs::relative(e.path(), dir_->path()).string();
      if (rel.rfind("clips", 0) != 0) out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  EncodeOptions Fast() {
    EncodeOptions o;
    o.preset_override = "ultrafast";
    o.threads = 1;
    return o;
  }
  std::unique_ptr<TempDir> dir_;
  fs::path clip_;
};

TEST_F(Encode, ProducesTheLayoutAndMeasuresIt) {
  std::vector<Progress> updates;
  EncodeOptions o = Fast();
  o.on_progress = [&](const Progress& p) { updates.push_back(p); };
  auto r = EncodePackage(clip_, dir_->path() / "out", o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->renditions.size(), 1u);
  const RenditionResult& x = r->renditions[0];
  EXPECT_EQ(x.label, "90p");
  EXPECT_EQ(x.width, 160);
  EXPECT_EQ(x.height, 90);
  EXPECT_EQ(x.segments, 1);
  EXPECT_NEAR(x.duration, 2.0, 0.05);
  // Measured, not assumed: x264's ultrafast preset turns off CABAC and 8x8 transforms, so the
  // stream is Constrained Baseline (42, constraint_set0+1 = c0) although High was allowed.
  EXPECT_THAT(x.codecs, ::testing::MatchesRegex("avc1\\.42c0[0-9a-f]{2},mp4a\\.40\\.2"));
  EXPECT_NEAR(x.frame_rate, 30.0, 0.01);
  EXPECT_GE(x.bandwidth, x.average_bandwidth);
  EXPECT_GT(x.average_bandwidth, 0);
  EXPECT_THAT(Leftovers(), ::testing::ElementsAre("out", "out/0", "out/0/0.ts", "out/0/index.m3u8",
                                                  "out/master.m3u8"));
  ASSERT_FALSE(updates.empty());
  EXPECT_TRUE(updates.back().done);
  EXPECT_EQ(updates.back().percent, 100);
  auto j = r->ToJson();
  EXPECT_EQ(j["renditions"][0]["label"], "90p");
  EXPECT_EQ(j["source"]["video"]["width"], 160);

  // A second run replaces the previous package.
  auto again = EncodePackage(clip_, dir_->path() / "out", Fast());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(Leftovers(), ::testing::ElementsAre("out", "out/0", "out/0/0.ts", "out/0/index.m3u8",
                                                  "out/master.m3u8"));
}

TEST_F(Encode, RefusesAForeignNonEmptyOutdirBeforeEncoding) {
  fs::create_directories(dir_->path() / "out");
  std::ofstream(dir_->path() / "out" / "precious.txt") << "keep me";
  auto r = EncodePackage(clip_, dir_->path() / "out", Fast());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status();
  EXPECT_THAT(Leftovers(), ::testing::ElementsAre("out", "out/precious.txt"));
}

TEST_F(Encode, UnwritableOutdir) {
  std::ofstream(dir_->path() / "file") << "x";
  auto r = EncodePackage(clip_, dir_->path() / "file" / "out", Fast());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status();
  auto p = EncodePackage(clip_, "/proc/hlsforge-out", Fast());
  EXPECT_EQ(p.status().code(), Code::kPermissionDenied) << p.status();
  auto f = EncodePackage(clip_, dir_->path() / "file", Fast());
  EXPECT_EQ(f.status().code(), Code::kFailedPrecondition) << f.status();
  EXPECT_THAT(Leftovers(), ::testing::ElementsAre("file"));
}

TEST_F(Encode, CancelStopsFfmpegAndLeavesNothing) {
  std::atomic<bool> cancel{true};  // raised before the encode starts: ffmpeg is stopped at once
  EncodeOptions o = Fast();
  o.cancel = &cancel;
  auto r = EncodePackage(clip_, dir_->path() / "out", o);
  EXPECT_EQ(r.status().code(), Code::kCancelled) << r.status();
  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

TEST_F(Encode, TimeLimit) {
  EncodeOptions o = Fast();
  o.timeout = std::chrono::milliseconds(1);
  auto r = EncodePackage(clip_, dir_->path() / "out", o);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status();
  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

TEST_F(Encode, TruncatedWithIndexUpFrontIsBadInput) {
  // moov first (faststart): ffprobe is happy, ffmpeg decodes what is there and exits 0.
  testing::ClipSpec spec;
  spec.width = 160;
  spec.height = 90;
  spec.seconds = 6;
  auto longer = testing::MakeClip(dir_->path() / "clips", spec);
  ASSERT_TRUE(longer.ok());
  fs::path fast = dir_->path() / "clips" / "fast.mp4";
  auto rr = RunSubprocess({"ffmpeg", "-v", "error", "-i", longer->string(), "-c", "copy",
                           "-movflags", "+faststart", fast.string()});
  ASSERT_TRUE(rr.ok() && rr->exit_code == 0);
  std::string bytes = *ReadFile(fast);
  fs::path cut = dir_->path() / "clips" / "cut.mp4";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() * 3 / 10);
  auto r = EncodePackage(cut, dir_->path() / "out", Fast());
  EXPECT_EQ(r.status().code(), Code::kBadInput) << r.status();
  EXPECT_TRUE(Leftovers().empty()) << ::testing::PrintToString(Leftovers());
}

}  // namespace
}  // namespace hlsforge::media
