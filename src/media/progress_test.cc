#include "media/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hlsforge::media {
namespace {

std::vector<Progress> FeedAll(ProgressParser& p, const std::string& text) {
  std::vector<Progress> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (auto u = p.Feed(std::string_view(text).substr(start, nl - start))) out.push_back(*u);
    start = nl + 1;
  }
  return out;
}

TEST(Progress, ParsesFfmpegBlocks) {
  ProgressParser p(10.0);
  auto u = FeedAll(p,
                   "frame=30\nfps=0.00\nstream_0_0_q=28.0\nbitrate=N/A\ntotal_size=N/A\n"
                   "out_time_us=2500000\nout_time_ms=2500000\nout_time=00:00:02.500000\n"
                   "dup_frames=0\ndrop_frames=0\nspeed=2.5x\nprogress=continue\n"
                   "out_time_us=10000000\nspeed=5x\nprogress=end\n");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_DOUBLE_EQ(u[0].percent, 25.0);
  EXPECT_DOUBLE_EQ(u[0].speed, 2.5);
  EXPECT_DOUBLE_EQ(u[0].eta_s, 3.0);  // 7.5 s of media left at 2.5x
  EXPECT_FALSE(u[0].done);
  EXPECT_DOUBLE_EQ(u[1].percent, 100.0);
  EXPECT_TRUE(u[1].done);
  EXPECT_DOUBLE_EQ(u[1].eta_s, 0.0);
}

TEST(Progress, UnknownValuesAndJunk) {
  ProgressParser p(4.0);
  auto u = FeedAll(p,
                   "garbage\n=\nout_time_us=N/A\nout_time=N/A\nspeed=N/A\nprogress=continue\n"
                   "out_time_us=-1000\nprogress=continue\n");
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].percent, 0);
  EXPECT_EQ(u[0].speed, 0);
  EXPECT_EQ(u[0].eta_s, -1);
  EXPECT_TRUE(u[0].ToJson()["eta_s"].is_null());
  EXPECT_EQ(u[1].percent, 0);
}

TEST(Progress, OutTimeClockFallbackAndClamping) {
  ProgressParser p(60.0);
  auto u = FeedAll(p, "out_time=00:00:30.000000\nprogress=continue\n");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_DOUBLE_EQ(u[0].percent, 50.0);
  // Audio priming can push out_time past the duration: never above 100, never backwards.
  auto v = FeedAll(
      p, "out_time_us=61000000\nprogress=continue\nout_time_us=1000000\nprogress=continue\n");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_DOUBLE_EQ(v[0].percent, 100.0);
  EXPECT_DOUBLE_EQ(v[1].percent, 100.0);
}

TEST(Progress, ZeroDurationNeverDividesByZero) {
  ProgressParser p(0);
  auto u = FeedAll(p, "out_time_us=1000000\nspeed=1x\nprogress=continue\n");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].percent, 0);
  EXPECT_EQ(u[0].eta_s, -1);
}

TEST(Progress, Json) {
  Progress p;
  p.percent = 42.123;
  p.speed = 1.956;
  p.eta_s = 12.34;
  auto j = p.ToJson();
  EXPECT_DOUBLE_EQ(j["percent"].get<double>(), 42.1);
  EXPECT_DOUBLE_EQ(j["speed"].get<double>(), 1.96);
  EXPECT_DOUBLE_EQ(j["eta_s"].get<double>(), 12.3);
}

}  // namespace
}  // namespace hlsforge::media
