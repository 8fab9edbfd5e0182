#include "media/ladder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hlsforge::media {
namespace {

SourceInfo Src(int w, int h, int rotation = 0, Rational fps = {30, 1}, bool audio = true) {
  SourceInfo s;
  s.width = w;
  s.height = h;
  s.rotation = rotation;
  bool swap = rotation == 90 || rotation == 270;
  s.display_width = swap ? h : w;
  s.display_height = swap ? w : h;
  s.frame_rate = fps;
  s.fps = fps.value();
  s.has_audio = audio;
  return s;
}

Profile LadderProfile() {
  auto p = BuiltinProfile("ladder");
  EXPECT_TRUE(p.ok()) << p.status();
  return *p;
}

// "640x360" per rendition, in index order.
std::vector<std::string> Sizes(const Ladder& l) {
  std::vector<std::string> out;
  for (const auto& r : l.renditions) {
    out.push_back(std::to_string(r.width) + "x" + std::to_string(r.height));
  }
  return out;
}

std::vector<std::string> Labels(const Ladder& l) {
  std::vector<std::string> out;
  for (const auto& r : l.renditions) out.push_back(r.label);
  return out;
}

Ladder Plan(const SourceInfo& s, const Profile& p = LadderProfile()) {
  auto l = PlanLadder(s, p);
  EXPECT_TRUE(l.ok()) << l.status();
  if (!l.ok()) return {};
  for (size_t i = 0; i < l->renditions.size(); ++i) {
    const auto& r = l->renditions[i];
    EXPECT_EQ(r.index, static_cast<int>(i));
    EXPECT_EQ(r.width % 2, 0) << r.label;
    EXPECT_EQ(r.height % 2, 0) << r.label;
    EXPECT_LE(r.width, std::max(2, s.display_width)) << "upscaled " << r.label;
    EXPECT_LE(r.height, std::max(2, s.display_height)) << "upscaled " << r.label;
    if (i > 0) {
      EXPECT_GT(r.width * r.height, l->renditions[i - 1].width * l->renditions[i - 1].height);
    }
  }
  return *l;
}

TEST(Ladder, Landscape1080p) {
  Ladder l = Plan(Src(1920, 1080));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "1280x720", "1920x1080"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p", "1080p"));
  EXPECT_EQ(l.renditions[0].video_bitrate, 800000);
  EXPECT_EQ(l.renditions[0].maxrate, 800000);
  EXPECT_EQ(l.renditions[0].bufsize, 1600000);
  EXPECT_EQ(l.renditions[0].audio_bitrate, 96000);
  EXPECT_EQ(l.renditions[1].video_bitrate, 2800000);
  EXPECT_EQ(l.renditions[1].audio_bitrate, 128000);
  EXPECT_EQ(l.renditions[2].maxrate, 5000000);
  EXPECT_EQ(l.renditions[2].bufsize, 10000000);
  EXPECT_EQ(l.renditions[2].audio_bitrate, 192000);
  EXPECT_EQ(l.gop, 60);
  EXPECT_EQ(l.frame_rate, (Rational{30, 1}));
  EXPECT_TRUE(l.audio);
  EXPECT_EQ(l.x264_preset, "faster");
  EXPECT_EQ(l.crf, 0);
}

TEST(Ladder, Landscape720p) {
  Ladder l = Plan(Src(1280, 720));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "1280x720"));
}

TEST(Ladder, Portrait1080x1920ShortSideIsTheRung) {
  Ladder l = Plan(Src(1080, 1920));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("360x640", "720x1280", "1080x1920"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p", "1080p"));
}

TEST(Ladder, RotationMetadataMakesItPortrait) {
  for (int rot : {90, 270}) {
    Ladder l = Plan(Src(1920, 1080, rot));
    EXPECT_THAT(Sizes(l), ::testing::ElementsAre("360x640", "720x1280", "1080x1920")) << rot;
  }
  Ladder upside_down = Plan(Src(1920, 1080, 180));
  EXPECT_THAT(Sizes(upside_down), ::testing::ElementsAre("640x360", "1280x720", "1920x1080"));
}

TEST(Ladder, VrTwoToOneGetsFiveRungsTopAtNativeSize) {
  // Short side 1920: 2160p is taller (and not within 5%), 1440p is kept, and 1920 is more than
  // 10% above 1440, so the source's own size becomes the fifth rung.
  Ladder l = Plan(Src(3840, 1920));
  EXPECT_THAT(Sizes(l),
              ::testing::ElementsAre("720x360", "1440x720", "2160x1080", "2880x1440", "3840x1920"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p", "1080p", "1440p", "1920p"));
  const Rendition& top = l.renditions[4];
  EXPECT_TRUE(top.native);
  // Scaled by pixels from 1440p (2880x1440 → 3840x1920 = x1.78), capped at the 2160p row.
  EXPECT_GT(top.video_bitrate, 10000000);
  EXPECT_LE(top.video_bitrate, 20000000);
  EXPECT_EQ(top.video_bitrate, 17778000);
  EXPECT_EQ(top.bufsize, 35556000);
  EXPECT_EQ(top.audio_bitrate, 256000);
}

TEST(Ladder, NineHundredPGetsAnExtraTopRung) {
  Ladder l = Plan(Src(1600, 900));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "1280x720", "1600x900"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p", "900p"));
  // 2800k x (1600*900)/(1280*720) = 4375k, under the 1080p row's 5000k.
  EXPECT_EQ(l.renditions[2].video_bitrate, 4375000);
  EXPECT_EQ(l.renditions[2].audio_bitrate, 192000);
}

TEST(Ladder, JustUnderARungKeepsItAtOwnSize) {
  Ladder l = Plan(Src(1278, 718));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "1278x718"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p"));
  EXPECT_TRUE(l.renditions[1].native);
  EXPECT_EQ(l.renditions[1].video_bitrate, 2800000);
}

TEST(Ladder, SlightlyAboveARungGetsNoExtraRung) {
  // 760 is within 10% of 720: no extra top rung, 1080 is not within 5%.
  Ladder l = Plan(Src(1352, 760));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p"));
}

TEST(Ladder, TinySourceGetsOneRungAtOwnSize) {
  Ladder l = Plan(Src(160, 90));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("160x90"));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("90p"));
  EXPECT_GT(l.renditions[0].video_bitrate, 0);
  EXPECT_LT(l.renditions[0].video_bitrate, 800000);
  EXPECT_EQ(l.renditions[0].audio_bitrate, 96000);
}

TEST(Ladder, EightK) {
  Ladder l = Plan(Src(7680, 4320));
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "1280x720", "1920x1080", "2560x1440",
                                               "3840x2160", "7680x4320"));
  EXPECT_EQ(l.renditions[4].video_bitrate, 20000000);
  EXPECT_TRUE(l.renditions[5].native);
  EXPECT_EQ(l.renditions[5].video_bitrate, 80000000);  // x4 pixels, no higher row to cap it
}

TEST(Ladder, UhdExactlyGetsAllFiveTableRungs) {
  Ladder l = Plan(Src(3840, 2160));
  EXPECT_THAT(Labels(l), ::testing::ElementsAre("360p", "720p", "1080p", "1440p", "2160p"));
  for (const auto& r : l.renditions) EXPECT_FALSE(r.native);
}

TEST(Ladder, OddSizesBecomeEven) {
  Ladder a = Plan(Src(1921, 1081));
  EXPECT_THAT(Sizes(a), ::testing::ElementsAre("640x360", "1280x720", "1920x1080"));
  Ladder b = Plan(Src(1919, 1079));  // within 5% under 1080p: own size, floored to even
  EXPECT_THAT(Sizes(b), ::testing::ElementsAre("640x360", "1280x720", "1918x1078"));
  Ladder c = Plan(Src(333, 187));
  EXPECT_THAT(Sizes(c), ::testing::ElementsAre("332x186"));
  Ladder d = Plan(Src(853, 480));  // 16:9 at 480: 360p is 640x360 (639.8 → 640)
  EXPECT_THAT(Sizes(d), ::testing::ElementsAre("640x360", "852x480"));
}

TEST(Ladder, AnamorphicUsesDisplayAspect) {
  SourceInfo s = Src(720, 480);
  s.display_width = 853;  // SAR 32:27 → 16:9 display
  Ladder l = Plan(s);
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("640x360", "852x480"));
}

TEST(Ladder, NoAudioMeansNoAudioBitrates) {
  Ladder l = Plan(Src(1280, 720, 0, {30, 1}, /*audio=*/false));
  EXPECT_FALSE(l.audio);
  for (const auto& r : l.renditions) EXPECT_EQ(r.audio_bitrate, 0);
}

TEST(Ladder, FrameRateKeptAndCapped) {
  EXPECT_EQ(Plan(Src(640, 360, 0, {30000, 1001})).gop, 60);
  EXPECT_EQ(Plan(Src(640, 360, 0, {25, 1})).gop, 50);
  EXPECT_EQ(Plan(Src(640, 360, 0, {24000, 1001})).gop, 48);
  Ladder sixty = Plan(Src(640, 360, 0, {60, 1}));
  EXPECT_EQ(sixty.frame_rate, (Rational{60, 1}));
  EXPECT_EQ(sixty.gop, 120);
  Ladder hfr = Plan(Src(640, 360, 0, {120, 1}));
  EXPECT_EQ(hfr.frame_rate, (Rational{60, 1}));
  EXPECT_EQ(hfr.gop, 120);
  EXPECT_EQ(PlanFrameRate({120000, 1001}, 60), (Rational{120000, 2002}));
  EXPECT_EQ(PlanFrameRate({100, 1}, 60), (Rational{50, 1}));
  EXPECT_EQ(PlanFrameRate({240, 1}, 60), (Rational{60, 1}));
  EXPECT_EQ(PlanFrameRate({72, 1}, 60), (Rational{36, 1}));
  EXPECT_EQ(PlanFrameRate({61, 1}, 60), (Rational{61, 2}));
  EXPECT_EQ(PlanFrameRate({1000, 1}, 60), (Rational{60, 1}));  // no divisor up to 16: cap
}

TEST(Ladder, SingleProfileIsOneRenditionAtSourceSize) {
  auto p = BuiltinProfile("single");
  ASSERT_TRUE(p.ok()) << p.status();
  Ladder l = Plan(Src(1921, 1081), *p);
  EXPECT_THAT(Sizes(l), ::testing::ElementsAre("1920x1080"));
  EXPECT_EQ(l.crf, 23);
  EXPECT_EQ(l.x264_preset, "medium");
  EXPECT_EQ(l.renditions[0].audio_bitrate, 128000);
  EXPECT_EQ(l.renditions[0].video_bitrate, 0);
  Ladder portrait = Plan(Src(1920, 1080, 90), *p);
  EXPECT_THAT(Sizes(portrait), ::testing::ElementsAre("1080x1920"));
  EXPECT_THAT(Labels(portrait), ::testing::ElementsAre("1080p"));
}

TEST(Ladder, HostileSourcesAreRefused) {
  EXPECT_EQ(PlanLadder(Src(0, 0), LadderProfile()).status().code(), Code::kBadInput);
  EXPECT_EQ(PlanLadder(Src(1, 1), LadderProfile()).status().code(), Code::kBadInput);
  EXPECT_EQ(PlanLadder(Src(640, 360, 0, {0, 1}), LadderProfile()).status().code(), Code::kBadInput);
  // 2x2 is the smallest picture that can be encoded.
  Ladder tiny = Plan(Src(3, 3));
  EXPECT_THAT(Sizes(tiny), ::testing::ElementsAre("2x2"));
}

TEST(Ladder, RoundEven) {
  EXPECT_EQ(RoundEven(639.8), 640);
  EXPECT_EQ(RoundEven(641), 642);  // ties away from zero in halves: 320.5 → 321 → 642
  EXPECT_EQ(RoundEven(0.3), 2);
  EXPECT_EQ(RoundEven(-5), 2);
}

}  // namespace
}  // namespace hlsforge::media
