#include "hls/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

namespace hlsforge::hls {
namespace {

CatalogEntry Entry(std::string name, int64_t bw) {
  CatalogEntry e;
  e.name = name;
  e.uri = name + "/1/index.m3u8";
  e.bandwidth = bw;
  e.average_bandwidth = bw * 8 / 10;
  e.codecs = "avc1.64001f,mp4a.40.2";
  e.width = 1280;
  e.height = 720;
  e.frame_rate = 30;
  return e;
}

TEST(CatalogTest, Golden) {
  CatalogEntry b = Entry("b.mov", 3000000);
  CatalogEntry a = Entry("a.mp4", 2000000);
  a.codecs = "avc1.4d401f";
  a.frame_rate = 0;
  a.average_bandwidth = 0;
  EXPECT_EQ(BuildCatalog({b, a}),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.4d401f\",RESOLUTION=1280x720,"
            "NAME=\"a.mp4\"\n"
            "a.mp4/1/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2400000,"
            "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000,"
            "NAME=\"b.mov\"\n"
            "b.mov/1/index.m3u8\n");
}

TEST(CatalogTest, EmptyCatalogIsAValidPlaylistWithNoVariants) {
  std::string text = BuildCatalog({});
  EXPECT_EQ(text, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
  auto parsed = ParseCatalog(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->empty());
}

TEST(CatalogTest, DuplicateBandwidthsAreBumpedDeterministically) {
  // c collides with a and b; d's own value collides with a bumped one.
  std::vector<CatalogEntry> in = {Entry("c", 1000), Entry("a", 1000), Entry("b", 1000),
                                  Entry("d", 1001), Entry("e", 0),    Entry("f", 0)};
  std::string text = BuildCatalog(in);
  auto out = ParseCatalog(text);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 6u);
  std::vector<std::pair<std::string, int64_t>> got;
  for (const auto& e : *out) got.emplace_back(e.name, e.bandwidth);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int64_t>>{
                     {"a", 1000}, {"b", 1001}, {"c", 1002}, {"d", 1003}, {"e", 1}, {"f", 2}}));
  // Any input order gives the same bytes.
  std::vector<CatalogEntry> reversed(in.rbegin(), in.rend());
  EXPECT_EQ(BuildCatalog(reversed), text);
}

TEST(CatalogTest, ManyEqualBandwidthsAllUnique) {
  std::vector<CatalogEntry> in;
  for (int i = 0; i < 500; ++i) in.push_back(Entry("v" + std::to_string(i), 800000 + i % 3));
  auto out = ParseCatalog(BuildCatalog(in));
  ASSERT_TRUE(out.ok());
  std::set<int64_t> seen;
  for (const auto& e : *out) EXPECT_TRUE(seen.insert(e.bandwidth).second) << e.bandwidth;
  EXPECT_EQ(seen.size(), 500u);
}

// The bump search resumes where the last search for the same value ended; it must give exactly
// what counting up from each wanted value gives (the rule the header states), on inputs full of
// collisions, runs and values that land inside earlier runs.
TEST(CatalogTest, BumpMatchesCountingUpFromEachValue) {
  std::mt19937 rng(42);
  std::vector<CatalogEntry> in;
  for (int i = 0; i < 3000; ++i) {
    char name[16];
    snprintf(name, sizeof name, "v%05d", i);
    in.push_back(Entry(name, 1000 + static_cast<int64_t>(rng() % 40) * (rng() % 2 ? 1 : 25)));
  }
  std::set<int64_t> taken;
  std::vector<int64_t> expected;
  for (const auto& e : in) {  // names are already in sorted order
    int64_t b = std::max<int64_t>(e.bandwidth, 1);
    while (!taken.insert(b).second) ++b;
    expected.push_back(b);
  }
  auto out = ParseCatalog(BuildCatalog(in));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ((*out)[i].bandwidth, expected[i]) << i;
}

TEST(CatalogTest, HostileNamesCannotBreakTheCatalog) {
  std::vector<CatalogEntry> in = {
      Entry("evil\",BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nhttp://attacker/x.m3u8", 5),
      Entry("my clip #1 ünï.mov", 5),
      Entry(std::string("nul\0byte\r\x1b[31m", 14), 5),
      Entry("../../etc/passwd", 5),
  };
  std::string text = BuildCatalog(in);
  // Exactly 4 variants and 4 URI lines: nothing injected.
  auto out = ParseCatalog(text);
  ASSERT_TRUE(out.ok()) << out.status() << "\n" << text;
  ASSERT_EQ(out->size(), 4u);
  int uri_lines = 0;
  for (size_t i = 0, j; i < text.size(); i = j + 1) {
    j = text.find('\n', i);
    if (text[i] != '#') ++uri_lines;
  }
  EXPECT_EQ(uri_lines, 4);
  EXPECT_EQ(text.find("\nhttp://"), std::string::npos);
  // The URI of the Unicode name resolves back to the exact object key.
  bool found = false;
  for (const auto& e : *out) {
    if (e.name == "my clip #1 ünï.mov") {
      found = true;
      EXPECT_EQ(e.uri, "my clip #1 ünï.mov/1/index.m3u8");
    }
    EXPECT_EQ(e.name.find_first_of("\"\r\n"), std::string::npos);
  }
  EXPECT_TRUE(found);
  EXPECT_THAT(text, ::testing::HasSubstr("\nmy%20clip%20%231%20%C3%BCn%C3%AF.mov/1/index.m3u8\n"));
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "NAME=\"evil',BANDWIDTH=1 #EXT-X-STREAM-INF:BANDWIDTH=2 http://attacker/"
                        "x.m3u8\""));
}

TEST(CatalogTest, RoundTrip) {
  std::vector<CatalogEntry> in = {Entry("a", 100), Entry("b", 200)};
  in[1].frame_rate = 29.97;
  auto out = ParseCatalog(BuildCatalog(in));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, in);
}

TEST(CatalogTest, ParseCatalogRejectsGarbage) {
  for (std::string_view bad : {"", "hello", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=x\na\n",
                               "#EXTM3U\n#EXTINF:2,\n0.ts\n"}) {
    auto r = ParseCatalog(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace hlsforge::hls
