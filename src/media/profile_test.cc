#include "media/profile.h"

#include <gtest/gtest.h>

#include "common/fs.h"

namespace hlsforge::media {
namespace {

TEST(Profile, BuiltinLadderIsTheDesignTable) {
  auto p = BuiltinProfile("ladder");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->rungs.size(), 5u);
  const int heights[] = {360, 720, 1080, 1440, 2160};
  const int64_t rates[] = {800000, 2800000, 5000000, 10000000, 20000000};
  const int64_t audio[] = {96000, 128000, 192000, 192000, 256000};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(p->rungs[i].height, heights[i]);
    EXPECT_EQ(p->rungs[i].video_bitrate, rates[i]);
    EXPECT_EQ(p->rungs[i].maxrate, rates[i]);
    EXPECT_EQ(p->rungs[i].bufsize, 2 * rates[i]);
    EXPECT_EQ(p->rungs[i].audio_bitrate, audio[i]);
  }
  EXPECT_FALSE(p->single);
  EXPECT_EQ(p->segment_seconds, 2.0);
  EXPECT_EQ(p->max_fps, 60.0);
}

TEST(Profile, BuiltinSingleMirrorsTheMissionCommand) {
  auto p = BuiltinProfile("single");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->single);
  EXPECT_EQ(p->crf, 23);
  EXPECT_EQ(p->x264_preset, "medium");
  EXPECT_EQ(p->audio_bitrate, 128000);
  EXPECT_TRUE(p->rungs.empty());
}

TEST(Profile, UnknownBuiltin) {
  EXPECT_EQ(BuiltinProfile("fancy").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveProfile("/no/such/profile.toml").status().code(), Code::kInvalidArgument);
}

TEST(Profile, ParseBitrate) {
  EXPECT_EQ(*ParseBitrate("800k"), 800000);
  EXPECT_EQ(*ParseBitrate("1.5M"), 1500000);
  EXPECT_EQ(*ParseBitrate("96000"), 96000);
  for (const char* bad : {"", "k", "-5k", "12q", "1e9999", "0", "999999999999k", "1..2k"}) {
    EXPECT_FALSE(ParseBitrate(bad).ok()) << bad;
  }
}

TEST(Profile, TomlFileRoundTrip) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "tiny.toml";
  ASSERT_TRUE(WriteFileAtomic(path, R"(
name = "tiny"
x264_preset = "ultrafast"
[[rung]]
height = 90
video_bitrate = "100k"
maxrate = "100k"
bufsize = "200k"
audio_bitrate = "64k"
[[rung]]
height = 180
video_bitrate = 300000
maxrate = "300k"
bufsize = "600k"
audio_bitrate = "96k"
)")
                  .ok());
  auto p = ResolveProfile(path.string());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "tiny");
  EXPECT_EQ(p->x264_preset, "ultrafast");
  ASSERT_EQ(p->rungs.size(), 2u);
  EXPECT_EQ(p->rungs[1].video_bitrate, 300000);
}

TEST(Profile, HostileTomlIsRejectedWithAReason) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"name = ", "TOML error"},
      {"", "name"},
      {"name = \"x\"", "at least one"},
      {"name = \"x\"\nbogus = 1\n[[rung]]\nheight=360\n", "unknown key 'bogus'"},
      {"name = \"x\"\n[[rung]]\nheight = "
       "361\nvideo_bitrate=\"1k\"\nmaxrate=\"1k\"\nbufsize=\"1k\"\n"
       "audio_bitrate=\"1k\"\n",
       "even"},
      {"name = \"x\"\n[[rung]]\nheight = 360\n", "required"},
      {"name = \"x\"\n[[rung]]\nheight = 360\nvideo_bitrate=\"2k\"\nmaxrate=\"1k\"\n"
       "bufsize=\"1k\"\naudio_bitrate=\"1k\"\n",
       "maxrate"},
      {"name = \"x\"\n[[rung]]\nheight = "
       "720\nvideo_bitrate=\"1k\"\nmaxrate=\"1k\"\nbufsize=\"1k\"\n"
       "audio_bitrate=\"1k\"\n[[rung]]\nheight = 360\nvideo_bitrate=\"1k\"\nmaxrate=\"1k\"\n"
       "bufsize=\"1k\"\naudio_bitrate=\"1k\"\n",
       "ascending"},
      {"name = \"x\"\nx264_preset = \"; rm -rf /\"\n", "preset"},
      {"name = \"x\"\nvideo_codec = \"libx265\"\n", "libx264"},
      {"name = \"x\"\nsingle = true\n", "crf"},
      {"name = \"x\"\nsegment_seconds = 1e300\n", "segment_seconds"},
      {"name = \"x\"\nrung = 5\n", "array of tables"},
  };
  for (const auto& c : cases) {
    auto p = ParseProfileToml(c.text, "t");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.expect), std::string::npos)
        << c.text << " → " << p.status();
  }
}

}  // namespace
}  // namespace hlsforge::media
