#include "media/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace hlsforge::media {
namespace {

using ::testing::HasSubstr;

SourceInfo Src(int w, int h, bool audio = true) {
  SourceInfo s;
  s.path = "/data/in put%d.mov";
  s.demuxer = "mov";
  s.duration = 10;
  s.width = w;
  s.height = h;
  s.display_width = w;
  s.display_height = h;
  s.frame_rate = {30, 1};
  s.fps = 30;
  s.has_audio = audio;
  s.video_index = 0;
  s.audio_index = 1;
  return s;
}

Ladder Plan(const SourceInfo& s, const char* profile = "ladder") {
  auto p = BuiltinProfile(profile);
  EXPECT_TRUE(p.ok());
  auto l = PlanLadder(s, *p);
  EXPECT_TRUE(l.ok()) << l.status();
  return *l;
}

// The value following `flag` (first occurrence), or "" if absent.
std::string After(const std::vector<std::string>& a, const std::string& flag) {
  auto it = std::find(a.begin(), a.end(), flag);
  if (it == a.end() || it + 1 == a.end()) return "";
  return *(it + 1);
}

int Count(const std::vector<std::string>& a, const std::string& s) {
  return static_cast<int>(std::count(a.begin(), a.end(), s));
}

TEST(Command, LadderFor1080pIsOneRunWithOneSplitGraph) {
  SourceInfo s = Src(1920, 1080);
  auto a = BuildEncodeCommand(s, Plan(s));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0], "ffmpeg");
  EXPECT_EQ(Count(a, "-i"), 1);
  EXPECT_EQ(Count(a, "-filter_complex"), 1);
  std::string g = After(a, "-filter_complex");
  EXPECT_EQ(g,
            "[0:0]fps=30/1,split=3[s0][s1][s2];"
            "[s0]scale=640:360:flags=bicubic,setsar=1,format=yuv420p[v0];"
            "[s1]scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v1];"
            "[s2]scale=1920:1080:flags=bicubic,setsar=1,format=yuv420p[v2]");
  // Never -s / -s:N (which counts audio streams): sizes come only from the graph.
  for (const auto& x : a) {
    EXPECT_FALSE(x == "-s" || x.rfind("-s:", 0) == 0) << x;
  }
  EXPECT_EQ(After(a, "-b:v:0"), "800k");
  EXPECT_EQ(After(a, "-maxrate:v:0"), "800k");
  EXPECT_EQ(After(a, "-bufsize:v:0"), "1600k");
  EXPECT_EQ(After(a, "-b:v:2"), "5000k");
  EXPECT_EQ(After(a, "-bufsize:v:2"), "10000k");
  EXPECT_EQ(After(a, "-b:a:0"), "96k");
  EXPECT_EQ(After(a, "-b:a:1"), "128k");
  EXPECT_EQ(After(a, "-b:a:2"), "192k");
  EXPECT_EQ(After(a, "-g"), "60");
  EXPECT_EQ(After(a, "-keyint_min"), "60");
  EXPECT_EQ(After(a, "-sc_threshold"), "0");
  EXPECT_EQ(After(a, "-force_key_frames"), "expr:gte(t,n_forced*2)");
  EXPECT_EQ(After(a, "-forced-idr"), "1");
  EXPECT_EQ(After(a, "-flags"), "+cgop");
  EXPECT_EQ(After(a, "-c:v"), "libx264");
  EXPECT_EQ(After(a, "-preset"), "faster");
  EXPECT_EQ(After(a, "-c:a"), "aac");
  EXPECT_EQ(After(a, "-ac"), "2");
  EXPECT_EQ(After(a, "-ar"), "48000");
  EXPECT_EQ(Count(a, "-map"), 6);
  EXPECT_EQ(After(a, "-var_stream_map"), "v:0,a:0 v:1,a:1 v:2,a:2");
  EXPECT_EQ(After(a, "-hls_time"), "2");
  EXPECT_EQ(After(a, "-hls_playlist_type"), "vod");
  EXPECT_EQ(After(a, "-hls_flags"), "independent_segments");
  EXPECT_EQ(After(a, "-hls_segment_filename"), "%v/%d.ts");
  EXPECT_EQ(After(a, "-start_number"), "0");
  EXPECT_EQ(a.back(), "%v/index.m3u8");
  // ffmpeg never writes a master: hlsforge does, from measurements.
  EXPECT_EQ(Count(a, "-master_pl_name"), 0);
  EXPECT_EQ(Count(a, "-crf"), 0);
}

TEST(Command, InputIsLockedDown) {
  SourceInfo s = Src(640, 360);
  auto a = BuildEncodeCommand(s, Plan(s));
  auto i = std::find(a.begin(), a.end(), "-i") - a.begin();
  auto pw = std::find(a.begin(), a.end(), "-protocol_whitelist") - a.begin();
  auto fw = std::find(a.begin(), a.end(), "-format_whitelist") - a.begin();
  auto f = std::find(a.begin(), a.end(), "-f") - a.begin();
  // Input options must come before -i to apply to the input.
  EXPECT_LT(pw, i);
  EXPECT_LT(fw, i);
  EXPECT_LT(f, i);
  EXPECT_EQ(a[pw + 1], "file");
  EXPECT_EQ(a[fw + 1], kAllowedDemuxers);
  EXPECT_EQ(a[f + 1], "mov");
  EXPECT_EQ(a[i + 1], "/data/in put%d.mov");  // absolute, passed verbatim, no shell
  EXPECT_EQ(Count(a, "-nostdin"), 1);
  EXPECT_EQ(Count(a, "-y"), 1);
  EXPECT_EQ(After(a, "-progress"), "pipe:1");
  EXPECT_EQ(Count(a, "-nostats"), 1);
  EXPECT_EQ(After(a, "-loglevel"), "error");
  // Output paths are relative: the caller runs ffmpeg inside the package folder.
  for (const auto& x : a) {
    if (x.find(".m3u8") != std::string::npos || x.find(".ts") != std::string::npos) {
      EXPECT_NE(x[0], '/') << x;
    }
  }
}

TEST(Command, SingleRenditionHasNoSplit) {
  SourceInfo s = Src(640, 360);
  auto a = BuildEncodeCommand(s, Plan(s));
  EXPECT_EQ(After(a, "-filter_complex"),
            "[0:0]fps=30/1,scale=640:360:flags=bicubic,setsar=1,format=yuv420p[v0]");
  EXPECT_EQ(After(a, "-var_stream_map"), "v:0,a:0");
}

TEST(Command, NoAudioMeansNoAudioMapsOrEncoders) {
  SourceInfo s = Src(1280, 720, /*audio=*/false);
  auto a = BuildEncodeCommand(s, Plan(s));
  EXPECT_EQ(Count(a, "-map"), 2);
  EXPECT_EQ(After(a, "-map"), "[v0]");
  EXPECT_EQ(Count(a, "-c:a"), 0);
  EXPECT_EQ(Count(a, "-ac"), 0);
  EXPECT_EQ(Count(a, "-an"), 1);
  EXPECT_EQ(After(a, "-var_stream_map"), "v:0 v:1");
  for (const auto& x : a) EXPECT_EQ(x.find("-b:a"), std::string::npos) << x;
}

TEST(Command, AudioMapsUseTheProbedStream) {
  SourceInfo s = Src(640, 360);
  s.video_index = 2;  // e.g. cover art and data streams first
  s.audio_index = 5;
  auto a = BuildEncodeCommand(s, Plan(s));
  EXPECT_THAT(After(a, "-filter_complex"), ::testing::StartsWith("[0:2]fps="));
  auto it = std::find(a.begin(), a.end(), "0:5");
  EXPECT_NE(it, a.end());
}

TEST(Command, SingleProfileUsesCrf) {
  SourceInfo s = Src(1920, 1080);
  auto a = BuildEncodeCommand(s, Plan(s, "single"));
  EXPECT_EQ(After(a, "-crf"), "23");
  EXPECT_EQ(After(a, "-preset"), "medium");
  EXPECT_EQ(After(a, "-b:a:0"), "128k");
  EXPECT_EQ(Count(a, "-b:v:0"), 0);
  EXPECT_EQ(Count(a, "-maxrate:v:0"), 0);
}

TEST(Command, FrameRateGopAndThreads) {
  SourceInfo s = Src(640, 360);
  s.frame_rate = {120000, 1001};
  s.vfr = true;
  CommandOptions o;
  o.threads = 3;
  o.preset_override = "ultrafast";
  auto a = BuildEncodeCommand(s, Plan(s), o);
  EXPECT_THAT(After(a, "-filter_complex"), HasSubstr("fps=120000/2002,"));
  EXPECT_EQ(After(a, "-g"), "120");
  EXPECT_EQ(Count(a, "-threads"), 2);  // decoder and encoders
  EXPECT_EQ(After(a, "-preset"), "ultrafast");
}

TEST(Command, PortraitSizesInDisplayOrientation) {
  SourceInfo s = Src(1920, 1080);
  s.rotation = 90;
  s.display_width = 1080;
  s.display_height = 1920;
  auto g = BuildFilterGraph(s, Plan(s));
  EXPECT_THAT(g, HasSubstr("scale=360:640:"));
  EXPECT_THAT(g, HasSubstr("scale=720:1280:"));
  EXPECT_THAT(g, HasSubstr("scale=1080:1920:"));
}

TEST(Command, InterlacedSourceIsDeinterlacedOnceBeforeTheSplit) {
  SourceInfo s = Src(1920, 1080);
  s.interlaced = true;
  auto g = BuildFilterGraph(s, Plan(s));
  EXPECT_THAT(
      g, ::testing::StartsWith("[0:0]bwdif=mode=send_frame:parity=auto:deint=interlaced,fps="));
  EXPECT_EQ(g.find("bwdif", 10), std::string::npos);
  s.interlaced = false;
  EXPECT_THAT(BuildFilterGraph(s, Plan(s)), ::testing::Not(HasSubstr("bwdif")));
}

TEST(Command, FormatBitrate) {
  EXPECT_EQ(FormatBitrate(800000), "800k");
  EXPECT_EQ(FormatBitrate(17778000), "17778k");
  EXPECT_EQ(FormatBitrate(1500), "1500");
  EXPECT_EQ(FormatBitrate(999), "999");
}

}  // namespace
}  // namespace hlsforge::media
