#include "hls/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "hls/writer.h"

namespace hlsforge::hls {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseMediaTest, RoundTripsTheWriter) {
  MediaPlaylist p;
  p.media_sequence = 3;
  p.segments = {{2.0, "0.ts"}, {1.966667, "sub dir/ü #1.ts"}, {0.033333, "2.ts"}};
  std::string text = WriteMedia(p);
  auto parsed = ParseMedia(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->version, 3);
  EXPECT_EQ(parsed->target_duration, 2);
  EXPECT_EQ(parsed->media_sequence, 3);
  EXPECT_EQ(parsed->playlist_type, "VOD");
  EXPECT_TRUE(parsed->independent_segments);
  EXPECT_TRUE(parsed->endlist);
  ASSERT_EQ(parsed->segments.size(), 3u);
  EXPECT_EQ(parsed->segments[1].uri, "sub dir/ü #1.ts");
  EXPECT_DOUBLE_EQ(parsed->segments[1].duration, 1.966667);
  EXPECT_EQ(WriteMedia(*parsed), text);
}

TEST(ParseMediaTest, FfmpegStyleWithCrlfCommentsAndUnknownTags) {
  auto p = ParseMedia(
      "\xEF\xBB\xBF#EXTM3U\r\n"
      "#EXT-X-VERSION:3\r\n"
      "#EXT-X-TARGETDURATION:2\r\n"
      "#EXT-X-MEDIA-SEQUENCE:0\r\n"
      "#EXT-X-PLAYLIST-TYPE:VOD\r\n"
      "# a comment\r\n"
      "#EXT-X-FUTURE-TAG:FOO=\"a,b\"\r\n"
      "\r\n"
      "#EXTINF:2.000000, title with, commas\r\n"
      "#EXT-X-BYTERANGE:100@0\r\n"
      "  0.ts  \r\n"
      "#EXTINF:1.5,\r\n"
      "1.ts\r\n"
      "#EXT-X-ENDLIST\r\n");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->segments.size(), 2u);
  EXPECT_EQ(p->segments[0].uri, "0.ts");
  EXPECT_DOUBLE_EQ(p->segments[0].duration, 2.0);
  EXPECT_DOUBLE_EQ(p->TotalDuration(), 3.5);
  EXPECT_FALSE(p->independent_segments);
  EXPECT_TRUE(p->endlist);
}

TEST(ParseMediaTest, RfcDefaultsWhenTagsAreMissing) {
  auto p = ParseMedia("#EXTM3U\n#EXTINF:4,\na.ts\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->target_duration, 0);
  EXPECT_EQ(p->playlist_type, "");
  EXPECT_FALSE(p->endlist);
  EXPECT_DOUBLE_EQ(p->segments[0].duration, 4.0);
}

void ExpectError(const Result<MediaPlaylist>& r, const std::string& prefix) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), StartsWith(prefix));
}

TEST(ParseMediaTest, MalformedInputsGiveLineNumbers) {
  ExpectError(ParseMedia(""), "line 1: playlist does not start with #EXTM3U");
  ExpectError(ParseMedia("#EXTINF:2,\na.ts\n"), "line 1: playlist does not start");
  ExpectError(ParseMedia("garbage\n#EXTM3U\n"), "line 1:");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:2,\n#EXTINF:2,\nb.ts\n"),
              "line 2: EXTINF without a URI");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:2,\n"), "line 2: EXTINF without a URI");
  ExpectError(ParseMedia("#EXTM3U\n\na.ts\n"), "line 3: URI without EXTINF");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:abc,\na.ts\n"), "line 2: bad EXTINF duration 'abc'");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:-1,\na.ts\n"), "line 2: bad EXTINF");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:nan,\na.ts\n"), "line 2: bad EXTINF");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:1e9,\na.ts\n"), "line 2: bad EXTINF");
  ExpectError(ParseMedia("#EXTM3U\n#EXTINF:1.2.3,\na.ts\n"), "line 2: bad EXTINF");
  ExpectError(ParseMedia("#EXTM3U\n#EXT-X-TARGETDURATION:2.5\n"), "line 2: bad number");
  ExpectError(ParseMedia("#EXTM3U\n#EXT-X-TARGETDURATION:99999999999999999999\n"),
              "line 2: bad number");
  ExpectError(ParseMedia("#EXTM3U\n#EXT-X-VERSION:\n"), "line 2: bad number");
  ExpectError(ParseMedia("#EXTM3U\n#EXT-X-PLAYLIST-TYPE:LIVE\n"), "line 2: bad EXT-X-PLAYLIST");
  ExpectError(ParseMedia("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n"),
              "line 2: multivariant playlist tag");
}

TEST(ParseMasterTest, RoundTripsTheWriterWithHostileNames) {
  MasterPlaylist m;
  Variant v;
  v.bandwidth = 1200000;
  v.average_bandwidth = 1000000;
  v.codecs = "avc1.64001f,mp4a.40.2";
  v.width = 1280;
  v.height = 720;
  v.frame_rate = 29.97;
  v.name = "a, \"quoted\" name\nwith newline";
  v.uri = "my clip #1 ünï.mov/1/index.m3u8";
  m.variants = {v, v};
  m.variants[1].bandwidth = 1200001;
  std::string text = WriteMaster(m);
  auto parsed = ParseMaster(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->variants.size(), 2u);
  const Variant& p = parsed->variants[0];
  EXPECT_EQ(p.bandwidth, 1200000);
  EXPECT_EQ(p.average_bandwidth, 1000000);
  EXPECT_EQ(p.codecs, "avc1.64001f,mp4a.40.2");
  EXPECT_EQ(p.width, 1280);
  EXPECT_EQ(p.height, 720);
  EXPECT_DOUBLE_EQ(p.frame_rate, 29.97);
  EXPECT_EQ(p.name, "a, 'quoted' name with newline");
  EXPECT_EQ(p.uri, "my clip #1 ünï.mov/1/index.m3u8");
  EXPECT_EQ(parsed->variants[1].bandwidth, 1200001);
  EXPECT_TRUE(parsed->independent_segments);
  EXPECT_EQ(WriteMaster(*parsed), text);
}

TEST(ParseMasterTest, ToleratesOtherWritersAndIgnoresUnknownAttributes) {
  auto m = ParseMaster(
      "#EXTM3U\r\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"en\"\r\n"
      "#EXT-X-STREAM-INF:PROGRAM-ID=1, BANDWIDTH=800000 ,CODECS=\"avc1.4d401e, mp4a.40.2\","
      "RESOLUTION=640x360,AUDIO=\"a\"\r\n"
      "http://cdn.example/x/index.m3u8\r\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"iframe.m3u8\"\r\n");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->variants.size(), 1u);
  EXPECT_EQ(m->variants[0].bandwidth, 800000);
  EXPECT_EQ(m->variants[0].codecs, "avc1.4d401e, mp4a.40.2");
  EXPECT_EQ(m->variants[0].uri, "http://cdn.example/x/index.m3u8");
  EXPECT_EQ(m->version, 1);
}

TEST(ParseMasterTest, MalformedInputsGiveLineNumbers) {
  auto err = [](std::string_view text) {
    auto r = ParseMaster(text);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    return r.status().message();
  };
  EXPECT_THAT(err("#EXT-X-STREAM-INF:BANDWIDTH=1\na\n"), StartsWith("line 1: playlist does not"));
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"),
            "line 2: EXT-X-STREAM-INF without a URI");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n#EXT-X-STREAM-INF:BANDWIDTH=2\nb\n"),
            "line 2: EXT-X-STREAM-INF without a URI");
  EXPECT_EQ(err("#EXTM3U\na.m3u8\n"), "line 2: URI without EXT-X-STREAM-INF: 'a.m3u8'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"x\"\na\n"),
            "line 2: EXT-X-STREAM-INF without BANDWIDTH");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=12k\na\n"), "line 2: bad BANDWIDTH '12k'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640\na\n"),
            "line 2: bad RESOLUTION '640'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=-30\na\n"),
            "line 2: bad FRAME-RATE '-30'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=avc1\na\n"),
            "line 2: bad CODECS 'avc1'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,NAME=\"abc\na\n"),
            "line 2: unterminated quoted string in attribute 'NAME'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,BANDWIDTH=2\na\n"),
            "line 2: duplicate attribute 'BANDWIDTH'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,novalue\na\n"),
            "line 2: attribute without '=': 'novalue'");
  EXPECT_EQ(err("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,NAME=\"a\"b\na\n"),
            "line 2: garbage after quoted value of 'NAME'");
  EXPECT_EQ(err("#EXTM3U\n#EXTINF:2,\na.ts\n"),
            "line 2: media playlist tag in a multivariant playlist");
}

TEST(ParseMasterTest, EmptyMasterIsValid) {
  auto m = ParseMaster(WriteMaster(MasterPlaylist{}));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->variants.empty());
}

TEST(DetectPlaylistKindTest, Kinds) {
  EXPECT_EQ(*DetectPlaylistKind("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na\n"),
            PlaylistKind::kMaster);
  EXPECT_EQ(*DetectPlaylistKind("#EXTM3U\n#EXTINF:1,\na\n"), PlaylistKind::kMedia);
  EXPECT_FALSE(DetectPlaylistKind("nope").ok());
}

TEST(DecodeUriPathTest, InverseOfEncode) {
  for (std::string s : {std::string("my clip #1 ünï.mov/0/index.m3u8"), std::string("100%/a?b=c&d"),
                        std::string("plain/0.ts"), std::string("\0\x01\xff", 3)}) {
    EXPECT_EQ(DecodeUriPath(EncodeUriPath(s)), s);
  }
  EXPECT_EQ(DecodeUriPath("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(DecodeUriPath("100%"), "100%");
  EXPECT_EQ(DecodeUriPath("%zz%4"), "%zz%4");
  EXPECT_EQ(DecodeUriPath("a+b"), "a+b");
}

TEST(DecodeUriPathTest, QueryAndFragmentAreNotPartOfThePath) {
  EXPECT_EQ(DecodeUriPath("0.ts?v=12-1795511271000"), "0.ts");
  EXPECT_EQ(DecodeUriPath("a%3Fb.ts?v=1"), "a?b.ts");  // an escaped '?' is part of the name
  EXPECT_EQ(DecodeUriPath("a%23b.ts#t=3"), "a#b.ts");
  EXPECT_EQ(DecodeUriPath("?only"), "");
  auto media = ParseMedia(
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
      "#EXTINF:2.000,\n0.ts?v=7\n#EXT-X-ENDLIST\n");
  ASSERT_TRUE(media.ok()) << media.status();
  ASSERT_EQ(media->segments.size(), 1u);
  EXPECT_EQ(media->segments[0].uri, "0.ts");
}

// Hostile input: none of this may crash, hang or be accepted as something it is not.
TEST(ParserHostileTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  const std::string alphabet =
      std::string("#EXTINFM3U-:,=\"\r\n\x00\xff", 19) + "0123456789.x/ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int i = 0; i < 3000; ++i) {
    std::string s = i % 2 ? "#EXTM3U\n" : "";
    size_t len = rng() % 400;
    for (size_t k = 0; k < len; ++k) {
      s += (i % 3 == 0) ? static_cast<char>(rng() & 0xFF) : alphabet[rng() % alphabet.size()];
    }
    auto a = ParseMedia(s);
    auto b = ParseMaster(s);
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
    }
    if (!b.ok()) {
      EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(ParserHostileTest, TruncatedPlaylistsFailOrParseAPrefix) {
  MediaPlaylist p;
  for (int i = 0; i < 20; ++i) p.segments.push_back({2.0, std::to_string(i) + ".ts"});
  std::string media = WriteMedia(p);
  for (size_t cut = 0; cut + 1 < media.size(); ++cut) {
    auto r = ParseMedia(media.substr(0, cut));
    if (r.ok()) {
      EXPECT_LE(r->segments.size(), 20u);
      // A truncated VOD playlist is detectable: it lost its ENDLIST.
      EXPECT_FALSE(r->endlist) << "cut at " << cut;
    } else {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
  MasterPlaylist m;
  for (int i = 0; i < 5; ++i)
    m.variants.push_back({100 + i, 90, "avc1.64001f", 640, 360, 30, "n", "x"});
  std::string master = WriteMaster(m);
  for (size_t cut = 0; cut < master.size(); ++cut) {
    auto r = ParseMaster(master.substr(0, cut));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    }
  }
}

TEST(ParserHostileTest, TenMegabytesOfGarbageIsFastAndBounded) {
  std::mt19937 rng(7);
  std::string garbage(10 << 20, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng() & 0xFF);
  std::string with_header = "#EXTM3U\n" + garbage;
  // Lines of tags and quotes only: the worst case for the attribute scanner.
  std::string tags = "#EXTM3U\n";
  while (tags.size() < (10u << 20)) tags += "#EXT-X-STREAM-INF:BANDWIDTH=1,NAME=\"a,b,c\",X=\"";
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ParseMedia(garbage).ok());
  EXPECT_FALSE(ParseMaster(garbage).ok());
  auto r1 = ParseMedia(with_header);
  auto r2 = ParseMaster(with_header);
  EXPECT_FALSE(r1.ok() && r1->endlist && !r1->segments.empty() && r2.ok());
  EXPECT_FALSE(ParseMaster(tags).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  std::string huge = "#EXTM3U\n" + std::string(kMaxPlaylistBytes, '#');
  auto r = ParseMedia(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("too large"));
}

}  // namespace
}  // namespace hlsforge::hls
