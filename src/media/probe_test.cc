#include "media/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>

#include "common/fs.h"
#include "testutil/testutil.h"

namespace hlsforge::media {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

json VideoStream() {
  return json::parse(R"({
    "index": 0, "codec_name": "h264", "profile": "High", "codec_type": "video",
    "width": 1920, "height": 1080, "sample_aspect_ratio": "1:1", "pix_fmt": "yuv420p",
    "r_frame_rate": "30/1", "avg_frame_rate": "30/1", "duration": "10.000000",
    "bit_rate": "5000000", "bits_per_raw_sample": "8", "nb_frames": "300",
    "disposition": {"default": 1, "attached_pic": 0, "still_image": 0}
  })");
}

json AudioStream(int channels = 2) {
  return json{{"index", 1},           {"codec_name", "aac"},    {"codec_type", "audio"},
              {"channels", channels}, {"sample_rate", "48000"}, {"bit_rate", "128000"}};
}

json Doc(std::vector<json> streams, std::string format = "mov,mp4,m4a,3gp,3g2,mj2",
         std::string duration = "10.000000") {
  return json{{"streams", streams},
              {"format",
               {{"format_name", format},
                {"duration", duration},
                {"size", "1000"},
                {"bit_rate", "5128000"}}}};
}

TEST(ProbeJson, PlainLandscape) {
  auto s = ParseProbeJson(Doc({VideoStream(), AudioStream()}).dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->demuxer, "mov");
  EXPECT_DOUBLE_EQ(s->duration, 10.0);
  EXPECT_EQ(s->display_width, 1920);
  EXPECT_EQ(s->display_height, 1080);
  EXPECT_EQ(s->rotation, 0);
  EXPECT_FALSE(s->vfr);
  EXPECT_EQ(s->frame_rate, (Rational{30, 1}));
  EXPECT_EQ(s->bit_depth, 8);
  EXPECT_TRUE(s->has_audio);
  EXPECT_EQ(s->audio_channels, 2);
  EXPECT_EQ(s->audio_index, 1);
  EXPECT_EQ(s->video_bit_rate, 5000000);
  EXPECT_FALSE(s->interlaced);
  json v = VideoStream();
  v["field_order"] = "tt";
  auto i = ParseProbeJson(Doc({v}).dump());
  ASSERT_TRUE(i.ok());
  EXPECT_TRUE(i->interlaced);
}

TEST(ProbeJson, RotationFromDisplayMatrixAndTag) {
  json v = VideoStream();
  v["side_data_list"] = json::array({{{"side_data_type", "Display Matrix"}, {"rotation", -90}}});
  auto s = ParseProbeJson(Doc({v}).dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->rotation, 90);
  EXPECT_EQ(s->display_width, 1080);
  EXPECT_EQ(s->display_height, 1920);
  EXPECT_TRUE(s->portrait());
  EXPECT_FALSE(s->has_audio);

  json t = VideoStream();
  t["tags"] = {{"rotate", "270"}};
  s = ParseProbeJson(Doc({t}).dump());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rotation, 270);
  EXPECT_EQ(s->display_width, 1080);

  json u = VideoStream();
  u["side_data_list"] = json::array({{{"side_data_type", "Display Matrix"}, {"rotation", 180}}});
  s = ParseProbeJson(Doc({u}).dump());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rotation, 180);
  EXPECT_EQ(s->display_width, 1920);
}

TEST(ProbeJson, VariableFrameRateTenBitAnamorphic) {
  json v = VideoStream();
  v["avg_frame_rate"] = "2000/87";  // ~23 fps average
  v["r_frame_rate"] = "30/1";
  v["pix_fmt"] = "yuv420p10le";
  v.erase("bits_per_raw_sample");
  v["width"] = 720;
  v["height"] = 480;
  v["sample_aspect_ratio"] = "32:27";
  auto s = ParseProbeJson(Doc({v}).dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->vfr);
  EXPECT_EQ(s->frame_rate, (Rational{30, 1}));
  EXPECT_EQ(s->bit_depth, 10);
  EXPECT_EQ(s->display_width, 853);
  EXPECT_EQ(s->display_height, 480);

  // A timebase-like r_frame_rate is not a frame rate: the average, snapped, is used.
  v["r_frame_rate"] = "90000/1";
  v["avg_frame_rate"] = "2997/100";
  s = ParseProbeJson(Doc({v}).dump());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->frame_rate, (Rational{30000, 1001}));
}

TEST(ProbeJson, CoverArtIsNotTheVideo) {
  json art = VideoStream();
  art["codec_name"] = "mjpeg";
  art["disposition"]["attached_pic"] = 1;
  json v = VideoStream();
  v["index"] = 2;
  auto s = ParseProbeJson(Doc({art, AudioStream(), v}).dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->video_index, 2);
  // Audio-only file with cover art: no video.
  auto a = ParseProbeJson(Doc({art, AudioStream()}).dump());
  EXPECT_EQ(a.status().code(), Code::kBadInput);
  EXPECT_THAT(a.status().message(), HasSubstr("no video"));
}

TEST(ProbeJson, HostileOrUselessDocumentsAreBadInput) {
  json png = VideoStream();
  png["codec_name"] = "png";
  png["nb_frames"] = "1";
  json one = VideoStream();
  one["nb_frames"] = "1";
  json nosize = VideoStream();
  nosize["width"] = 0;
  json huge = VideoStream();
  huge["width"] = 100000;
  json nofps = VideoStream();
  nofps["avg_frame_rate"] = "0/0";
  nofps["r_frame_rate"] = "0/0";
  json nopix = VideoStream();
  nopix.erase("pix_fmt");
  const std::pair<std::string, std::string> cases[] = {
      {"", "unreadable"},
      {"[]", "unreadable"},
      {"{\"streams\": 5}", "container"},
      {Doc({VideoStream()}, "hls").dump(), "not a supported video container"},
      {Doc({VideoStream()}, "concat").dump(), "not a supported video container"},
      {Doc({VideoStream()}, "image2").dump(), "not a supported video container"},
      {Doc({VideoStream()}, "png_pipe").dump(), "not a supported video container"},
      {Doc({AudioStream()}).dump(), "no video stream"},
      {Doc({}).dump(), "no video stream"},
      {Doc({png}).dump(), "still image"},
      {Doc({one}).dump(), "still image"},
      {Doc({nosize}).dump(), "picture size"},
      {Doc({huge}).dump(), "picture size"},
      {Doc({nofps}).dump(), "frame rate"},
      {Doc({nopix}).dump(), "pixel format"},
      {Doc({VideoStream()}, "mov", "N/A").dump(), ""},  // falls back to the stream's duration
  };
  for (const auto& [doc, expect] : cases) {
    auto s = ParseProbeJson(doc);
    if (expect.empty()) {
      EXPECT_TRUE(s.ok()) << doc;
      continue;
    }
    ASSERT_FALSE(s.ok()) << doc;
    EXPECT_EQ(s.status().code(), Code::kBadInput) << doc;
    EXPECT_THAT(s.status().message(), HasSubstr(expect)) << doc;
  }
  json v = VideoStream();
  v.erase("duration");
  auto s = ParseProbeJson(Doc({v}, "mov", "N/A").dump());
  EXPECT_EQ(s.status().code(), Code::kBadInput);
  EXPECT_THAT(s.status().message(), HasSubstr("duration"));
}

TEST(ProbeJson, ParseRational) {
  EXPECT_EQ(ParseRational("30000/1001"), (Rational{30000, 1001}));
  EXPECT_EQ(ParseRational("25"), (Rational{25, 1}));
  for (const char* bad : {"0/0", "N/A", "", "/", "1/0", "-30/1", "x/1", "99999999999/1"}) {
    EXPECT_FALSE(ParseRational(bad).valid()) << bad;
  }
}

TEST(ProbeJson, ExplainFailure) {
  EXPECT_THAT(
      ExplainProbeFailure("[hls @ 0x55d752207280] Format not on whitelist 'mov'\nx: Invalid "
                          "argument\n"),
      HasSubstr("'hls' is not allowed"));
  EXPECT_THAT(ExplainProbeFailure("[mov,mp4 @ 0x1] moov atom not found\n"), HasSubstr("truncated"));
  EXPECT_EQ(ExplainProbeFailure(""), "ffprobe could not read the file");
  std::string multi = ExplainProbeFailure("a\nb\nlast line\n");
  EXPECT_EQ(multi.find('\n'), std::string::npos);
}

// ---- real files through ffprobe ----

class ProbeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
  }
  fs::path Write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_->path() / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  fs::path Clip(testing::ClipSpec spec = {}) {
    auto c = testing::MakeClip(dir_->path() / "clips", spec);
    EXPECT_TRUE(c.ok()) << c.status();
    return *c;
  }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(ProbeFiles, RealClip) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  spec.audio_channels = 6;
  auto s = Probe(Clip(spec));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->demuxer, "mov");
  EXPECT_EQ(s->width, 320);
  EXPECT_EQ(s->height, 180);
  EXPECT_NEAR(s->duration, 2.0, 0.1);
  EXPECT_TRUE(s->has_audio);
  EXPECT_EQ(s->audio_channels, 6);
  EXPECT_EQ(s->frame_rate, (Rational{30, 1}));
  EXPECT_GT(s->size_bytes, 0);
}

TEST_F(ProbeFiles, MissingEmptyDirectoryDevice) {
  EXPECT_EQ(Probe(dir_->path() / "nope.mp4").status().code(), Code::kNotFound);
  EXPECT_EQ(Probe(Write("zero.mp4", "")).status().code(), Code::kBadInput);
  EXPECT_EQ(Probe(dir_->path()).status().code(), Code::kBadInput);
  EXPECT_EQ(Probe("/dev/zero").status().code(), Code::kBadInput);
}

TEST_F(ProbeFiles, TextAndTruncated) {
  auto text = Probe(Write("notes.mp4", "hello, this is not a video\n"));
  EXPECT_EQ(text.status().code(), Code::kBadInput);
  EXPECT_EQ(text.status().message().find('\n'), std::string::npos);

  std::string full = *ReadFile(Clip());
  auto cut = Probe(Write("cut.mp4", full.substr(0, full.size() * 3 / 10)));
  EXPECT_EQ(cut.status().code(), Code::kBadInput) << cut.status();
}

TEST_F(ProbeFiles, StillImageAndAudioOnly) {
  fs::path png = dir_->path() / "pic.png";
  auto r = RunSubprocess({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64",
                          "-frames:v", "1", png.string()});
  ASSERT_TRUE(r.ok() && r->exit_code == 0);
  fs::path renamed = dir_->path() / "pic.mp4";
  fs::copy_file(png, renamed);
  EXPECT_EQ(Probe(renamed).status().code(), Code::kBadInput);
  // A PNG inside a real container is still a still image.
  fs::path in_mov = dir_->path() / "pic_in.mov";
  r = RunSubprocess({"ffmpeg", "-v", "error", "-i", png.string(), "-c", "copy", in_mov.string()});
  ASSERT_TRUE(r.ok() && r->exit_code == 0) << r->err;
  auto s = Probe(in_mov);
  EXPECT_EQ(s.status().code(), Code::kBadInput);

  fs::path m4a = dir_->path() / "tone.m4a";
  r = RunSubprocess({"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac",
                     m4a.string()});
  ASSERT_TRUE(r.ok() && r->exit_code == 0);
  auto a = Probe(m4a);
  EXPECT_EQ(a.status().code(), Code::kBadInput);
  EXPECT_THAT(a.status().message(), HasSubstr("no video"));
}

// A disguised playlist must be refused before any demuxer follows it. The canary is a real,
// playable TS file named by the playlist: if it were ever opened, the lockdown failed.
TEST_F(ProbeFiles, DisguisedPlaylistsNeverOpenWhatTheyName) {
  testing::ClipSpec spec;
  spec.seconds = 1;
  spec.container = "ts";
  fs::path canary = Clip(spec);
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(in, 0);
  ASSERT_GE(inotify_add_watch(in, canary.c_str(), IN_OPEN | IN_ACCESS), 0);

  fs::path hls = Write("attack.mp4", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nfile://" +
                                         canary.string() + "\n#EXTINF:2,\n" + canary.string() +
                                         "\n#EXTINF:2,\nfile:///etc/passwd\n#EXTINF:2,\n"
                                         "http://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n");
  fs::path concat =
      Write("attack.mov", "ffconcat version 1.0\nfile " + canary.string() + "\nfile /etc/passwd\n");
  fs::path sdp = Write("attack.mkv",
                       "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\n"
                       "t=0 0\nm=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\n");
  for (const fs::path& p : {hls, concat, sdp}) {
    auto s = Probe(p);
    ASSERT_FALSE(s.ok()) << p;
    EXPECT_EQ(s.status().code(), Code::kBadInput) << p << " " << s.status();
    EXPECT_EQ(s.status().message().find('\n'), std::string::npos);
  }
  EXPECT_THAT(Probe(hls).status().message(), HasSubstr("not a supported video container"));
  char buf[4096];
  ssize_t n = read(in, buf, sizeof buf);
  EXPECT_LT(n, 0) << "the canary named by a disguised playlist was opened";
  close(in);
}

}  // namespace
}  // namespace hlsforge::media
