// Validator tests on real packages made with plain ffmpeg: one GOOD package (two aligned
// variants, master written with WriteMaster from measured values) and deliberately broken
// copies, each of which must be reported with the right rule.
#include "hls/validator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include "common/fs.h"
#include "common/subprocess.h"
#include "hls/catalog.h"
#include "hls/parser.h"
#include "hls/ts_scan.h"
#include "hls/writer.h"

namespace hlsforge::hls {
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
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

void Replace(const fs::path& p, const std::string& from, const std::string& to) {
  std::string s = Slurp(p);
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << p;
  s.replace(at, from.size(), to);
  Spit(p, s);
}

void Ffmpeg(std::vector<std::string> args) {
  std::vector<std::string> argv = {"ffmpeg",    "-nostdin", "-hide_banner",
                                   "-loglevel", "error",    "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunSubprocess(argv);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->exit_code, 0) << r->err;
}

// Encodes a 4 s clip of `size` into dir/<i>/ exactly like the reference command.
void EncodeVariant(const fs::path& dir, int i, const std::string& size,
                   std::vector<std::string> extra = {}) {
  fs::path out = dir / std::to_string(i);
  fs::create_directories(out);
  std::vector<std::string> a = {"-f",
                                "lavfi",
                                "-i",
                                "testsrc2=size=" + size + ":rate=30:duration=4",
                                "-f",
                                "lavfi",
                                "-i",
                                "sine=frequency=440:sample_rate=48000:duration=4",
                                "-c:v",
                                "libx264",
                                "-preset",
                                "ultrafast",
                                "-g",
                                "60",
                                "-keyint_min",
                                "60",
                                "-sc_threshold",
                                "0"};
  a.insert(a.end(), extra.begin(), extra.end());
  a.insert(a.end(), {"-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "2",
                     "-hls_playlist_type", "vod", "-hls_segment_filename", (out / "%d.ts").string(),
                     (out / "index.m3u8").string()});
  Ffmpeg(a);
}

// CODECS from ffprobe's view of the stream (independent of our own SPS reader).
std::string ProbeCodecs(const fs::path& seg) {
  auto r = RunSubprocess({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=profile,level", "-of", "csv=p=0", seg.string()});
  EXPECT_TRUE(r.ok() && r->exit_code == 0);
  std::string out = r.ok() ? r->out : "";
  // "Constrained Baseline,13" -> avc1.42C0xx; "High,31" -> avc1.6400xx
  std::string profile = out.substr(0, out.find(','));
  int level = std::atoi(out.substr(out.find(',') + 1).c_str());
  std::string pp = profile == "High" ? "6400" : profile == "Main" ? "4d40" : "42c0";
  char ll[8];
  std::snprintf(ll, sizeof ll, "%02x", level);
  return "avc1." + pp + ll + ",mp4a.40.2";
}

Variant MeasuredVariant(const fs::path& dir, int i, int w, int h) {
  fs::path media_dir = dir / std::to_string(i);
  auto media = ParseMedia(Slurp(media_dir / "index.m3u8"));
  EXPECT_TRUE(media.ok()) << media.status();
  auto m = MeasureBitrate(*media, media_dir);
  EXPECT_TRUE(m.ok()) << m.status();
  Variant v;
  v.bandwidth = m->peak_bps;
  v.average_bandwidth = m->average_bps;
  v.codecs = ProbeCodecs(media_dir / "0.ts");
  v.width = w;
  v.height = h;
  v.frame_rate = 30;
  v.uri = std::to_string(i) + "/index.m3u8";
  return v;
}

class ValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto t = TempDir::Create({}, "hls-validator-test-");
    ASSERT_TRUE(t.ok()) << t.status();
    tmp_ = new TempDir(std::move(t).value());
    good_ = CachedGoodPackage();
  }

  // ctest runs every test in its own process: encode the good package once per build folder
  // (tests only ever modify copies). Built aside and renamed into place, so concurrent test
  // processes either see all of it or none.
  static fs::path CachedGoodPackage() {
    fs::path cache = HLS_TEST_CACHE_DIR;
    fs::path good = cache / "good-v1";
    if (fs::exists(good / "master.m3u8")) return good;
    fs::path build = cache / ("tmp-" + std::to_string(::getpid()));
    fs::remove_all(build);
    EncodeVariant(build, 0, "160x90");
    EncodeVariant(build, 1, "320x180");
    MasterPlaylist m;
    m.variants = {MeasuredVariant(build, 0, 160, 90), MeasuredVariant(build, 1, 320, 180)};
    Spit(build / "master.m3u8", WriteMaster(m));
    std::error_code ec;
    fs::rename(build, good, ec);
    if (ec) fs::remove_all(build);  // another process was faster
    return good;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  // A fresh copy of the good package to break.
  fs::path Copy(const std::string& name) {
    fs::path dst = tmp_->path() / name;
    fs::remove_all(dst);
    fs::copy(good_, dst, fs::copy_options::recursive);
    return dst;
  }

  static ValidationReport Validate(const fs::path& p, ValidateOptions o = {}) {
    auto r = ValidatePackage(p, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ValidationReport{};
  }

  static void ExpectRule(const ValidationReport& r, const std::string& rule,
                         const std::string& file, const std::string& text = "") {
    bool found = false;
    for (const auto& v : r.violations) {
      found |= v.rule == rule && v.file == file && v.message.find(text) != std::string::npos;
    }
    EXPECT_TRUE(found) << "want " << file << ": " << rule << " (" << text << ") in\n" << r.ToText();
  }

  static TempDir* tmp_;
  static fs::path good_;
};

TempDir* ValidatorTest::tmp_ = nullptr;
fs::path ValidatorTest::good_;

TEST_F(ValidatorTest, GoodPackageIsValid) {
  auto start = std::chrono::steady_clock::now();
  ValidationReport r = Validate(good_);
  EXPECT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.variants, 2);
  EXPECT_EQ(r.segments, 4);
  EXPECT_EQ(r.ToText(), "OK: 2 variants, 4 segments\n");
  // The master file itself works as the argument too.
  EXPECT_TRUE(Validate(good_ / "master.m3u8").ok());
  // One ffprobe per segment: validating many packages in tests stays cheap.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(ValidatorTest, OneProbePerVariantFindsWhatOnePerSegmentFinds) {
  ValidationReport fast = Validate(good_);
  EXPECT_EQ(fast.ffprobe_runs, 2) << "one per variant";
  ValidateOptions each;
  each.probe_each_segment = true;
  ValidationReport slow = Validate(good_, each);
  EXPECT_EQ(slow.ffprobe_runs, 4) << "one per segment";
  EXPECT_TRUE(fast.ok() && slow.ok()) << fast.ToText() << slow.ToText();

  // Measured durations drive extinf-sum and segment-duration: both paths must agree.
  fs::path p = Copy("fast-vs-slow");
  Replace(p / "0" / "index.m3u8", "#EXTINF:2.000000,\n0.ts", "#EXTINF:1.900000,\n0.ts");
  Replace(p / "1" / "index.m3u8", "#EXT-X-TARGETDURATION:2\n", "#EXT-X-TARGETDURATION:1\n");
  fast = Validate(p);
  slow = Validate(p, each);
  EXPECT_EQ(fast.ffprobe_runs, 2);
  EXPECT_EQ(fast.ToText(), slow.ToText());
  ExpectRule(fast, "extinf-sum", "0/index.m3u8", "the media lasts 4.000 s");
  ExpectRule(fast, "segment-duration", "1/1.ts", "measured duration 2.000 s");
}

TEST_F(ValidatorTest, OurTsReaderSeesIdrAndSps) {
  auto head = ReadFile(good_ / "1" / "1.ts");
  ASSERT_TRUE(head.ok());
  TsVideoStart s = ScanTsVideoStart(*head);
  EXPECT_TRUE(s.StartsWithIdr()) << s.Explain();
  EXPECT_EQ(s.codec, VideoCodec::kH264);
  EXPECT_EQ(s.first_slice_nal_type, 5);
  EXPECT_TRUE(s.has_sps);
  EXPECT_EQ(s.profile_idc, 66);  // ultrafast: Constrained Baseline
}

TEST_F(ValidatorTest, MissingCodecs) {
  fs::path p = Copy("no-codecs");
  std::string master = Slurp(p / "master.m3u8");
  auto m = ParseMaster(master);
  ASSERT_TRUE(m.ok());
  m->variants[1].codecs.clear();
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "variant-codecs", "master.m3u8", "1/index.m3u8: CODECS missing");
  EXPECT_EQ(r.violations.size(), 1u) << r.ToText();
}

TEST_F(ValidatorTest, MissingAttributes) {
  fs::path p = Copy("no-attrs");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  ASSERT_TRUE(m.ok());
  m->variants[0].average_bandwidth = 0;
  m->variants[0].width = 0;
  m->variants[0].frame_rate = 0;
  m->independent_segments = false;
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "variant-average-bandwidth", "master.m3u8");
  ExpectRule(r, "variant-resolution", "master.m3u8");
  ExpectRule(r, "variant-frame-rate", "master.m3u8");
  ExpectRule(r, "independent-segments", "master.m3u8");
}

TEST_F(ValidatorTest, BandwidthOffByHalf) {
  fs::path p = Copy("bandwidth");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  ASSERT_TRUE(m.ok());
  m->variants[0].bandwidth = m->variants[0].bandwidth * 3 / 2;
  m->variants[1].average_bandwidth /= 2;
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "bandwidth-peak", "master.m3u8", "50% above");
  ExpectRule(r, "bandwidth-average", "master.m3u8", "50% below");
  EXPECT_EQ(r.violations.size(), 2u) << r.ToText();
  // Within 10% passes.
  m->variants[0].bandwidth = m->variants[0].bandwidth * 2 / 3 * 109 / 100;
  m->variants[1].average_bandwidth = m->variants[1].average_bandwidth * 2 * 92 / 100;
  Spit(p / "master.m3u8", WriteMaster(*m));
  EXPECT_TRUE(Validate(p).ok()) << Validate(p).ToText();
}

TEST_F(ValidatorTest, SegmentWithoutIdrFromForcedSplit) {
  // -g 1000 and the segment muxer told to cut anywhere: segment 1 starts on a P-frame.
  fs::path p = Copy("no-idr");
  fs::remove_all(p / "1");
  fs::create_directories(p / "1");
  Ffmpeg({"-f",
          "lavfi",
          "-i",
          "testsrc2=size=320x180:rate=30:duration=4",
          "-f",
          "lavfi",
          "-i",
          "sine=frequency=440:sample_rate=48000:duration=4",
          "-c:v",
          "libx264",
          "-preset",
          "ultrafast",
          "-g",
          "1000",
          "-sc_threshold",
          "0",
          "-c:a",
          "aac",
          "-b:a",
          "64k",
          "-f",
          "segment",
          "-segment_time",
          "2",
          "-break_non_keyframes",
          "1",
          "-segment_format",
          "mpegts",
          "-segment_list",
          (p / "1" / "seg.m3u8").string(),
          "-segment_list_type",
          "m3u8",
          (p / "1" / "%d.ts").string()});
  auto seg = ParseMedia(Slurp(p / "1" / "seg.m3u8"));
  ASSERT_TRUE(seg.ok()) << seg.status();
  ASSERT_GE(seg->segments.size(), 2u);
  MediaPlaylist media;
  media.segments = seg->segments;
  Spit(p / "1" / "index.m3u8", WriteMedia(media));
  ValidationReport r = Validate(p);
  ExpectRule(r, "segment-idr", "1/1.ts", "NAL type 1");
  for (const auto& v : r.violations) {
    EXPECT_NE(v.file, "1/0.ts") << "the first segment does start with an IDR: " << v.ToString();
  }
}

TEST_F(ValidatorTest, OpenGopIFrameIsNotAnIdrEvenThoughFfprobeSaysKey) {
  // x264 open GOP: every 60th frame is an I-frame with a recovery point SEI, not an IDR.
  // ffmpeg's HLS muxer cuts there because the packet is flagged as a keyframe.
  fs::path p = Copy("open-gop");
  fs::remove_all(p / "1");
  EncodeVariant(p, 1, "320x180", {"-x264-params", "open-gop=1:bframes=3"});
  auto flags = RunSubprocess({"ffprobe", "-v", "quiet", "-select_streams", "v:0", "-show_entries",
                              "packet=flags", "-read_intervals", "%+#1", "-of", "csv=p=0",
                              (p / "1" / "1.ts").string()});
  ASSERT_TRUE(flags.ok());
  EXPECT_THAT(flags->out, ::testing::StartsWith("K")) << "ffprobe calls it a keyframe";
  ValidationReport r = Validate(p);
  ExpectRule(r, "segment-idr", "1/1.ts", "NAL type 1 (not IDR 5)");
}

TEST_F(ValidatorTest, MissingSegmentFile) {
  fs::path p = Copy("missing-segment");
  fs::remove(p / "0" / "1.ts");
  ValidationReport r = Validate(p);
  ExpectRule(r, "missing-file", "0/index.m3u8", "segment '0/1.ts' does not exist");
}

TEST_F(ValidatorTest, MissingMediaPlaylist) {
  fs::path p = Copy("missing-playlist");
  fs::remove(p / "1" / "index.m3u8");
  ValidationReport r = Validate(p);
  ExpectRule(r, "missing-file", "master.m3u8", "'1/index.m3u8' does not exist");
}

TEST_F(ValidatorTest, VariantShorterThanTheOthers) {
  fs::path p = Copy("short-variant");
  MediaPlaylist m = *ParseMedia(Slurp(p / "1" / "index.m3u8"));
  m.segments.pop_back();
  Spit(p / "1" / "index.m3u8", WriteMedia(m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "variant-duration", "1/index.m3u8", "lasts 2.000 s but 0/index.m3u8 lasts 4.000 s");
  ExpectRule(r, "segment-alignment", "1/index.m3u8");
  // As a catalog (different videos) the same package has no cross-variant violations.
  ValidateOptions o;
  o.catalog = true;
  ValidationReport c = Validate(p, o);
  EXPECT_FALSE(c.Has("variant-duration")) << c.ToText();
  EXPECT_FALSE(c.Has("segment-alignment")) << c.ToText();
}

TEST_F(ValidatorTest, UrisThatEscapeThePackage) {
  fs::path p = Copy("escape");
  Replace(p / "0" / "index.m3u8", "\n1.ts\n", "\n../0/1.ts\n");
  Replace(p / "1" / "index.m3u8", "\n0.ts\n", "\n/etc/passwd\n");
  Replace(p / "1" / "index.m3u8", "\n1.ts\n", "\nhttp://evil.example/1.ts\n");
  ValidationReport r = Validate(p);
  ExpectRule(r, "uri-escape", "0/index.m3u8", "'../0/1.ts' climbs out");
  ExpectRule(r, "uri-escape", "1/index.m3u8", "absolute URI");
  ExpectRule(r, "uri-escape", "1/index.m3u8", "scheme");

  fs::path q = Copy("escape-master");
  Replace(q / "master.m3u8", "\n1/index.m3u8\n", "\n../good/1/index.m3u8\n");
  ExpectRule(Validate(q), "uri-escape", "master.m3u8", "climbs out");
  // Percent-encoded dots are decoded first, so they do not slip through.
  Replace(q / "master.m3u8", "\n../good/1/index.m3u8\n", "\n%2e%2e/good/1/index.m3u8\n");
  ExpectRule(Validate(q), "uri-escape", "master.m3u8", "climbs out");

  // A symlink inside the package that points outside it.
  fs::path s = Copy("escape-symlink");
  fs::remove(s / "0" / "1.ts");
  fs::create_symlink(good_ / "0" / "1.ts", s / "0" / "1.ts");
  ExpectRule(Validate(s), "uri-escape", "0/index.m3u8", "symlink");
}

TEST_F(ValidatorTest, PlaylistTypeEndlistAndTargetDuration) {
  fs::path p = Copy("tags");
  Replace(p / "0" / "index.m3u8", "#EXT-X-PLAYLIST-TYPE:VOD\n", "");
  Replace(p / "0" / "index.m3u8", "#EXT-X-ENDLIST\n", "");
  Replace(p / "1" / "index.m3u8", "#EXT-X-TARGETDURATION:2\n", "#EXT-X-TARGETDURATION:1\n");
  ValidationReport r = Validate(p);
  ExpectRule(r, "playlist-type", "0/index.m3u8");
  ExpectRule(r, "endlist", "0/index.m3u8");
  ExpectRule(r, "segment-duration", "1/index.m3u8", "exceeds EXT-X-TARGETDURATION 1");
  ExpectRule(r, "segment-duration", "1/0.ts", "measured duration 2.000 s");
}

TEST_F(ValidatorTest, ExtinfSumDoesNotMatchTheMedia) {
  fs::path p = Copy("extinf");
  for (int i : {0, 1}) {
    Replace(p / std::to_string(i) / "index.m3u8", "#EXTINF:2.000000,\n0.ts",
            "#EXTINF:1.900000,\n0.ts");
  }
  ValidationReport r = Validate(p);
  ExpectRule(r, "extinf-sum", "0/index.m3u8", "sum of EXTINF 3.900 s but the media lasts 4.000 s");
  ExpectRule(r, "extinf-sum", "1/index.m3u8");
  EXPECT_FALSE(r.Has("variant-duration")) << r.ToText();
}

TEST_F(ValidatorTest, ResolutionAndCodecsMustMatchTheStreams) {
  fs::path p = Copy("mismatch");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  ASSERT_TRUE(m.ok());
  m->variants[0].width = 640;
  m->variants[0].height = 360;
  m->variants[1].codecs = "avc1.64001f";  // High 3.1, no audio declared
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "resolution-mismatch", "master.m3u8", "RESOLUTION=640x360 but the video is 160x90");
  ExpectRule(r, "codecs-mismatch", "master.m3u8", "declares profile_idc 100 but the stream has 66");
  ExpectRule(r, "codecs-mismatch", "master.m3u8", "declares level_idc 31");
  ExpectRule(r, "codecs-mismatch", "master.m3u8", "aac audio that CODECS does not declare");
}

TEST_F(ValidatorTest, FrameRateMustMatch) {
  fs::path p = Copy("fps");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  m->variants[0].frame_rate = 60;
  m->variants[1].frame_rate = 29.97;  // within 2% of 30: fine
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "frame-rate-mismatch", "master.m3u8",
             "FRAME-RATE=60.000 but the stream has 30.000");
  EXPECT_EQ(r.violations.size(), 1u) << r.ToText();
}

TEST_F(ValidatorTest, GarbagePlaylistsAndSegments) {
  fs::path p = Copy("garbage");
  Spit(p / "1" / "index.m3u8", "#EXTM3U\n#EXTINF:abc,\n0.ts\n");
  Spit(p / "0" / "1.ts", std::string(50000, 'x'));
  ValidationReport r = Validate(p);
  ExpectRule(r, "syntax", "1/index.m3u8", "line 2: bad EXTINF duration");
  ExpectRule(r, "segment-unreadable", "0/1.ts");

  fs::path q = Copy("garbage-master");
  Spit(q / "master.m3u8", "not a playlist\n");
  ValidationReport rm = Validate(q);
  ExpectRule(rm, "syntax", "master.m3u8", "line 1: playlist does not start with #EXTM3U");

  // A media playlist given where the master is expected.
  ValidationReport rmedia = Validate(q / "0" / "index.m3u8");
  ExpectRule(rmedia, "syntax", "index.m3u8", "this is a media playlist");

  fs::path e = Copy("empty-master");
  Spit(e / "master.m3u8", WriteMaster(MasterPlaylist{}));
  ExpectRule(Validate(e), "no-variants", "master.m3u8");
  ValidateOptions catalog;
  catalog.catalog = true;
  Spit(e / "master.m3u8", BuildCatalog({}));
  EXPECT_TRUE(Validate(e, catalog).ok()) << "the empty catalog is valid as a catalog";
}

TEST_F(ValidatorTest, HostileSegmentNamesStayInert) {
  // A segment that is really a text playlist pointing at a local file: ffprobe is forced to
  // read it as MPEG-TS through file: only, so it is merely unreadable.
  fs::path p = Copy("hostile");
  Spit(p / "0" / "1.ts", "#EXTM3U\n#EXTINF:2,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n");
  fs::rename(p / "1" / "0.ts", p / "1" / "-i weird \"name\".ts");
  Replace(p / "1" / "index.m3u8", "\n0.ts\n", "\n" + EncodeUriPath("-i weird \"name\".ts") + "\n");
  ValidationReport r = Validate(p);
  ExpectRule(r, "segment-unreadable", "0/1.ts");
  for (const auto& v : r.violations) EXPECT_THAT(v.file, ::testing::Not(HasSubstr("weird")));
}

TEST_F(ValidatorTest, ViolationsStayOnePrintableLine) {
  fs::path p = Copy("newline-uri");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  ASSERT_TRUE(m.ok());
  m->variants[1].uri = "1/index\n\rx.m3u8";  // written as 1/index%0A%0Dx.m3u8
  m->variants[1].codecs.clear();             // so a message names the variant by its URI
  Spit(p / "master.m3u8", WriteMaster(*m));
  ValidationReport r = Validate(p);
  ExpectRule(r, "uri-escape", "master.m3u8", "control character");
  ExpectRule(r, "variant-codecs", "master.m3u8", "1/index??x.m3u8: CODECS missing");
  for (const auto& v : r.violations) {
    EXPECT_EQ(v.ToString().find_first_of("\r\n"), std::string::npos) << v.ToString();
  }
}

TEST_F(ValidatorTest, CatalogBuiltFromMeasuredVariantsValidates) {
  // Two "videos" (the two rungs), listed in a catalog the way the publisher builds it.
  fs::path p = Copy("catalog");
  auto m = ParseMaster(Slurp(p / "master.m3u8"));
  ASSERT_TRUE(m.ok());
  std::vector<CatalogEntry> entries;
  for (const Variant& v : m->variants) {
    entries.push_back({"video \"" + v.uri + "\"", v.uri, v.bandwidth, v.average_bandwidth, v.codecs,
                       v.width, v.height, v.frame_rate});
  }
  Spit(p / "catalog.m3u8", BuildCatalog(entries));
  ValidateOptions o;
  o.catalog = true;
  ValidationReport r = Validate(p / "catalog.m3u8", o);
  EXPECT_TRUE(r.ok()) << r.ToText();
  EXPECT_EQ(r.variants, 2);
}

TEST_F(ValidatorTest, UnreadableInputIsAnError) {
  auto r = ValidatePackage(tmp_->path() / "does-not-exist");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  fs::path empty = tmp_->path() / "empty-dir";
  fs::create_directories(empty);
  r = ValidatePackage(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST(TsScanTest, HostileBytesNeverCrash) {
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 4000, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    // Sprinkle sync bytes at packet boundaries so the packet parser is exercised.
    for (size_t k = 0; k < s.size(); k += 188) {
      if (rng() % 4) s[k] = 0x47;
      if (k + 1 < s.size() && rng() % 3 == 0) s[k + 1] = static_cast<char>(0x40 | (rng() & 1));
    }
    TsVideoStart t = ScanTsVideoStart(s);
    (void)t.Explain();
  }
  EXPECT_FALSE(ScanTsVideoStart("").StartsWithIdr());
}

}  // namespace
}  // namespace hlsforge::hls
