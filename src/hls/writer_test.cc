#include "hls/writer.h"

#include <gtest/gtest.h>

#include <limits>

namespace hlsforge::hls {
namespace {

MediaPlaylist ThreeSegments() {
  MediaPlaylist p;
  p.segments = {{2.0, "0.ts"}, {2.0, "1.ts"}, {0.5, "2.ts"}};
  return p;
}

TEST(WriteMediaTest, GoldenVod) {
  EXPECT_EQ(WriteMedia(ThreeSegments()),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-TARGETDURATION:2\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-PLAYLIST-TYPE:VOD\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXTINF:2.000000,\n"
            "0.ts\n"
            "#EXTINF:2.000000,\n"
            "1.ts\n"
            "#EXTINF:0.500000,\n"
            "2.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST(WriteMediaTest, TargetDurationIsCeilOfLongestWrittenDuration) {
  MediaPlaylist p;
  p.segments = {{2.002, "0.ts"}, {1.5, "1.ts"}};
  EXPECT_NE(WriteMedia(p).find("#EXT-X-TARGETDURATION:3\n"), std::string::npos);
  // 2.0000001 is written as 2.000000, so the target stays 2: the text is self-consistent.
  p.segments = {{2.0000001, "0.ts"}};
  EXPECT_NE(WriteMedia(p).find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
  // A model target that is too small is raised; a larger one is kept.
  p.target_duration = 1;
  EXPECT_NE(WriteMedia(p).find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
  p.target_duration = 6;
  EXPECT_NE(WriteMedia(p).find("#EXT-X-TARGETDURATION:6\n"), std::string::npos);
}

TEST(WriteMediaTest, VersionNeverBelowThreeAndOptionalTags) {
  MediaPlaylist p = ThreeSegments();
  p.version = 1;
  p.playlist_type = "";
  p.independent_segments = false;
  p.endlist = false;
  p.media_sequence = 7;
  std::string t = WriteMedia(p);
  EXPECT_NE(t.find("#EXT-X-VERSION:3\n"), std::string::npos);
  EXPECT_NE(t.find("#EXT-X-MEDIA-SEQUENCE:7\n"), std::string::npos);
  EXPECT_EQ(t.find("PLAYLIST-TYPE"), std::string::npos);
  EXPECT_EQ(t.find("INDEPENDENT"), std::string::npos);
  EXPECT_EQ(t.find("ENDLIST"), std::string::npos);
  p.version = 6;
  EXPECT_NE(WriteMedia(p).find("#EXT-X-VERSION:6\n"), std::string::npos);
}

TEST(WriteMediaTest, HostileModelCannotBreakThePlaylist) {
  MediaPlaylist p;
  p.playlist_type = "VOD\n#EXT-X-ENDLIST";  // not an allowed value: omitted
  p.segments = {{std::numeric_limits<double>::quiet_NaN(), "a b.ts"},
                {-3, "x\n#EXT-X-ENDLIST\ny.ts"},
                {std::numeric_limits<double>::infinity(), ""},  // skipped
                {1, "ok.ts"}};
  EXPECT_EQ(WriteMedia(p),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXTINF:0.000000,\n"
            "a%20b.ts\n"
            "#EXTINF:0.000000,\n"
            "x%0A%23EXT-X-ENDLIST%0Ay.ts\n"
            "#EXTINF:1.000000,\n"
            "ok.ts\n"
            "#EXT-X-ENDLIST\n");
}

TEST(WriteMasterTest, Golden) {
  MasterPlaylist m;
  Variant low;
  low.bandwidth = 1'000'000;
  low.average_bandwidth = 800'000;
  low.codecs = "avc1.64001e,mp4a.40.2";
  low.width = 640;
  low.height = 360;
  low.frame_rate = 29.97002997;
  low.uri = "0/index.m3u8";
  Variant bare;
  bare.bandwidth = 5'000'000;
  bare.uri = "1/index.m3u8";
  Variant named = low;
  named.name = "clip.mov";
  named.frame_rate = 30;
  named.uri = "clip.mov/0/index.m3u8";
  m.variants = {low, bare, named};
  EXPECT_EQ(WriteMaster(m),
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=800000,"
            "CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=29.970\n"
            "0/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=5000000\n"
            "1/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1000000,AVERAGE-BANDWIDTH=800000,"
            "CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=30.000,"
            "NAME=\"clip.mov\"\n"
            "clip.mov/0/index.m3u8\n");
}

TEST(WriteMasterTest, EmptyIsHeaderOnly) {
  MasterPlaylist m;
  EXPECT_EQ(WriteMaster(m), "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
}

TEST(WriteMasterTest, HostileNamesAreSanitised) {
  MasterPlaylist m;
  Variant v;
  v.bandwidth = 1;
  v.name = "evil\",BANDWIDTH=9\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://x/\x01\x7f\xff";
  v.codecs = "avc1\"\n";
  v.uri = "evil\"\n.mov/1/index.m3u8";
  m.variants = {v};
  std::string t = WriteMaster(m);
  EXPECT_EQ(t,
            "#EXTM3U\n"
            "#EXT-X-VERSION:3\n"
            "#EXT-X-INDEPENDENT-SEGMENTS\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1' \","
            "NAME=\"evil',BANDWIDTH=9  #EXT-X-STREAM-INF:BANDWIDTH=1 http://x/  \xEF\xBF\xBD\"\n"
            "evil%22%0A.mov/1/index.m3u8\n");
  // Exactly one STREAM-INF tag line and one URI line.
  int lines = 0;
  for (char c : t) lines += c == '\n';
  EXPECT_EQ(lines, 5);
}

TEST(EncodeUriPathTest, EncodesUnsafeKeepsSlash) {
  EXPECT_EQ(EncodeUriPath("my clip #1 ünï.mov/0/index.m3u8"),
            "my%20clip%20%231%20%C3%BCn%C3%AF.mov/0/index.m3u8");
  EXPECT_EQ(EncodeUriPath("a\"b%c?d:e+f&g"), "a%22b%25c%3Fd%3Ae%2Bf%26g");
  EXPECT_EQ(EncodeUriPath("Az09-._~/"), "Az09-._~/");
  EXPECT_EQ(EncodeUriPath(std::string_view("\0\n", 2)), "%00%0A");
}

TEST(SanitizeQuotedStringTest, KeepsValidUtf8AndCommas) {
  EXPECT_EQ(SanitizeQuotedString("Ünïcødé, with commas 日本"), "Ünïcødé, with commas 日本");
  EXPECT_EQ(SanitizeQuotedString("a\"b\tc"), "a'b c");
  // Overlong encoding of '/', a lone continuation byte, a surrogate, truncated sequence.
  EXPECT_EQ(SanitizeQuotedString("\xC0\xAF|\x80|\xED\xA0\x80|\xE2\x82"),
            "\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD|"
            "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace hlsforge::hls
