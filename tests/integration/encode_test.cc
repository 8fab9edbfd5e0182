// `hlsforge encode` / `hlsforge probe` end to end: generated clips in, HLS packages out, checked
// with ffprobe/ffmpeg themselves (resolution, keyframes, duration read back through
// master.m3u8), with `hlsforge validate`, and bad inputs that must fail cleanly with nothing
// published.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "common/fs.h"
#include "common/subprocess.h"
#include "hls/parser.h"
#include "testutil/testutil.h"

namespace hlsforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// Clips are cached across test processes (gtest_discover_tests runs one process per test).
fs::path ClipCache() { return fs::temp_directory_path() / "hlsforge-test-clips"; }

fs::path Clip(testing::ClipSpec spec) {
  auto c = testing::MakeClip(ClipCache(), spec);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : fs::path();
}

SubprocessResult RunTool(const std::vector<std::string>& argv, int timeout_s = 120) {
  SubprocessOptions o;
  o.timeout = std::chrono::seconds(timeout_s);
  auto r = RunSubprocess(argv, o);
  if (!r.ok()) {
    SubprocessResult f;
    f.err = r.status().ToString();
    return f;
  }
  return *r;
}

json ProbeJson(const fs::path& p, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"ffprobe", "-v", "error", "-print_format", "json"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(p.string());
  auto r = RunTool(argv);
  EXPECT_EQ(r.exit_code, 0) << p << ": " << r.err;
  return json::parse(r.out, nullptr, false);
}

json FirstStream(const json& probe, const std::string& type) {
  if (probe.contains("streams")) {
    for (const auto& s : probe["streams"]) {
      if (s.value("codec_type", "") == type) return s;
    }
  }
  return json();
}

// NAL unit types of the first access unit of a TS segment.
std::vector<int> FirstAccessUnitNalTypes(const fs::path& ts) {
  auto r = RunTool({"ffmpeg", "-v", "error", "-nostdin", "-i", ts.string(), "-map", "0:v:0", "-c",
                    "copy", "-frames:v", "1", "-f", "h264", "pipe:1"});
  std::vector<int> types;
  const std::string& b = r.out;
  for (size_t i = 0; i + 3 < b.size(); ++i) {
    if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) types.push_back(b[i + 3] & 0x1f);
  }
  return types;
}

bool ValidateAvailable() {
  static int available = -1;
  if (available < 0) {
    auto r = testing::RunHlsforge({"validate", "--help"}, 30);
    available = r.exit_code == 0 ? 1 : 0;
  }
  return available == 1;
}

struct Expect {
  std::vector<std::string> sizes;  // "640x360" per rendition index
  bool audio = true;
};

class EncodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create();
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(d).value());
  }

  fs::path Out(const std::string& name = "out") { return dir_->path() / name; }

  SubprocessResult Encode(const fs::path& in, const fs::path& out,
                          std::vector<std::string> extra = {"--preset", "ultrafast"}) {
    std::vector<std::string> args = {"encode", in.string(), out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::RunHlsforge(args, 300);
  }

  // Everything under the test folder, relative, sorted.
  std::vector<std::string> Tree() {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_->path())) {
      out.push_back(fs::relative(e.path(), dir_->path()).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The whole contract of a finished package.
  void CheckPackage(const fs::path& out, const fs::path& source, const Expect& want) {
    SCOPED_TRACE(out.string());
    const size_t n = want.sizes.size();
    // 1. Layout: exactly master.m3u8 + <i>/index.m3u8 + <i>/<k>.ts, k from 0, nothing else.
    std::set<std::string> entries;
    for (const auto& e : fs::directory_iterator(out)) entries.insert(e.path().filename().string());
    std::set<std::string> want_top = {"master.m3u8"};
    for (size_t i = 0; i < n; ++i) want_top.insert(std::to_string(i));
    ASSERT_EQ(entries, want_top);
    EXPECT_FALSE(fs::exists(out.parent_path() / ("." + out.filename().string() + ".tmp")));
    for (const auto& e : fs::directory_iterator(out.parent_path())) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    }

    auto master_text = ReadFile(out / "master.m3u8");
    ASSERT_TRUE(master_text.ok());
    auto master = hls::ParseMaster(*master_text);
    ASSERT_TRUE(master.ok()) << master.status() << "\n" << *master_text;
    ASSERT_EQ(master->variants.size(), n);
    EXPECT_TRUE(master->independent_segments);
    EXPECT_THAT(*master_text, HasSubstr("#EXT-X-INDEPENDENT-SEGMENTS"));

    // Source facts for the duration check.
    json src = ProbeJson(source, {"-show_format", "-show_streams"});
    double src_duration = std::atof(src["format"].value("duration", "0").c_str());
    ASSERT_GT(src_duration, 0);

    std::vector<int> seg_counts;
    std::vector<double> totals;
    int64_t last_bw = -1;
    for (const auto& v : master->variants) {
      EXPECT_GE(v.bandwidth, last_bw) << "variants not sorted by bandwidth";
      last_bw = v.bandwidth;
      EXPECT_GT(v.average_bandwidth, 0);
      EXPECT_LE(v.average_bandwidth, v.bandwidth);
      EXPECT_GT(v.frame_rate, 0);
      std::smatch m;
      ASSERT_TRUE(std::regex_match(v.uri, m, std::regex("([0-9]+)/index\\.m3u8"))) << v.uri;
      size_t i = std::stoul(m[1]);
      ASSERT_LT(i, n);
      SCOPED_TRACE("rendition " + std::to_string(i));
      std::string size = std::to_string(v.width) + "x" + std::to_string(v.height);
      EXPECT_EQ(size, want.sizes[i]);
      EXPECT_TRUE(std::regex_match(
          v.codecs,
          std::regex(want.audio ? "avc1\\.[0-9a-f]{6},mp4a\\.40\\.2" : "avc1\\.[0-9a-f]{6}")))
          << v.codecs;

      fs::path rdir = out / std::to_string(i);
      auto media_text = ReadFile(rdir / "index.m3u8");
      ASSERT_TRUE(media_text.ok());
      auto media = hls::ParseMedia(*media_text);
      ASSERT_TRUE(media.ok()) << media.status();
      EXPECT_EQ(media->playlist_type, "VOD");
      EXPECT_TRUE(media->endlist);
      std::set<std::string> files;
      for (const auto& e : fs::directory_iterator(rdir)) files.insert(e.path().filename().string());
      std::set<std::string> want_files = {"index.m3u8"};
      for (size_t k = 0; k < media->segments.size(); ++k) {
        const auto& seg = media->segments[k];
        EXPECT_EQ(seg.uri, std::to_string(k) + ".ts");
        want_files.insert(std::to_string(k) + ".ts");
        EXPECT_LE(seg.duration, media->target_duration + 0.5);
        // Every segment starts with an IDR (NAL type 5) and has the planned picture.
        auto nals = FirstAccessUnitNalTypes(rdir / seg.uri);
        EXPECT_NE(std::find(nals.begin(), nals.end(), 5), nals.end()) << seg.uri;
        EXPECT_EQ(std::find(nals.begin(), nals.end(), 1), nals.end()) << seg.uri << " not IDR";
      }
      EXPECT_EQ(files, want_files);
      seg_counts.push_back(static_cast<int>(media->segments.size()));
      totals.push_back(media->TotalDuration());

      // The real stream, as ffprobe sees it in the first segment.
      json seg = ProbeJson(rdir / "0.ts", {"-show_streams"});
      json vs = FirstStream(seg, "video");
      EXPECT_EQ(vs.value("codec_name", ""), "h264");
      EXPECT_EQ(vs.value("pix_fmt", ""), "yuv420p");
      EXPECT_EQ(std::to_string(vs.value("width", 0)) + "x" + std::to_string(vs.value("height", 0)),
                want.sizes[i]);
      json as = FirstStream(seg, "audio");
      if (want.audio) {
        EXPECT_EQ(as.value("codec_name", ""), "aac");
        EXPECT_EQ(as.value("channels", 0), 2);
        EXPECT_EQ(as.value("sample_rate", ""), "48000");
      } else {
        EXPECT_TRUE(as.is_null()) << as.dump();
      }
      // Display orientation is baked in: no rotation left in the output.
      EXPECT_FALSE(vs.contains("side_data_list")) << vs.dump();
    }
    // Rungs aligned: same segments, same durations.
    for (size_t i = 1; i < seg_counts.size(); ++i) {
      EXPECT_EQ(seg_counts[i], seg_counts[0]);
      EXPECT_NEAR(totals[i], totals[0], 0.001);
    }

    // ffmpeg reads the package back through master.m3u8: duration within one frame of the
    // source (plus a little for AAC priming), and the number of video frames it finds agrees.
    double fps = master->variants[0].frame_rate;
    double frame = 1.0 / fps;
    double tol = frame + (want.audio ? 0.05 : 0.001);
    double got = testing::ProbeDuration((out / "master.m3u8").string());
    EXPECT_NEAR(got, src_duration, tol) << "master duration";
    auto counted = RunTool({"ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0",
                            (out / "master.m3u8").string()});
    ASSERT_EQ(counted.exit_code, 0) << counted.err;
    double frames = std::atof(counted.out.c_str());
    EXPECT_NEAR(frames * frame, src_duration, tol) << "frames read back: " << frames;

    if (ValidateAvailable()) {
      auto v = testing::RunHlsforge({"validate", out.string()}, 120);
      EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
    }
  }

  // A failure must be one line on stderr, a given exit code, and leave nothing published.
  void CheckCleanFailure(const SubprocessResult& r, int code, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.exit_code, code) << r.err;
    std::string err = r.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_EQ(err.find('\n'), std::string::npos) << "more than one line: " << r.err;
    EXPECT_EQ(err.rfind("hlsforge: error: ", 0), 0u) << r.err;
    for (const auto& p : Tree()) {
      EXPECT_EQ(p.find("master.m3u8"), std::string::npos) << p;
      EXPECT_EQ(p.find(".tmp-"), std::string::npos) << p;
      EXPECT_EQ(p.find(".old-"), std::string::npos) << p;
      EXPECT_FALSE(std::regex_search(p, std::regex("(^|/)[0-9]+\\.ts$"))) << p;
    }
  }

  fs::path Write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_->path() / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  std::unique_ptr<TempDir> dir_;
};

// ---- good inputs ----

TEST_F(EncodeTest, DefaultLadderWithAudio720p) {
  testing::ClipSpec spec;
  spec.width = 1280;
  spec.height = 720;
  spec.seconds = 2;
  fs::path in = Clip(spec);
  auto r = Encode(in, Out(), {});  // the shipped preset, not a test override
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 rendition(s)"));
  CheckPackage(Out(), in, {{"640x360", "1280x720"}, true});
  auto master = *ReadFile(Out() / "master.m3u8");
  // The shipped preset produces High profile streams.
  EXPECT_THAT(master, HasSubstr("CODECS=\"avc1.64"));
  EXPECT_THAT(master, HasSubstr("FRAME-RATE=30.000"));
}

TEST_F(EncodeTest, CustomProfileTwoRungsNoAudio) {
  testing::ClipSpec spec;
  spec.seconds = 3;
  spec.audio = false;
  fs::path in = Clip(spec);
  fs::path toml = Write("tiny.toml", R"(
name = "tiny"
[[rung]]
height = 90
video_bitrate = "150k"
maxrate = "150k"
bufsize = "300k"
audio_bitrate = "64k"
[[rung]]
height = 180
video_bitrate = "300k"
maxrate = "300k"
bufsize = "600k"
audio_bitrate = "96k"
)");
  auto r = Encode(in, Out(), {"--profile", toml.string(), "--preset", "ultrafast"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"160x90", "320x180"}, false});
  auto master = *ReadFile(Out() / "master.m3u8");
  EXPECT_THAT(master, ::testing::Not(HasSubstr("mp4a")));
}

TEST_F(EncodeTest, RotatedPhoneVideoBecomesPortrait) {
  testing::ClipSpec spec;
  spec.width = 640;
  spec.height = 360;
  spec.seconds = 2;
  spec.rotate = 90;
  fs::path in = Clip(spec);
  auto p = testing::RunHlsforge({"probe", in.string(), "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  json j = json::parse(p.out);
  EXPECT_EQ(j["source"]["video"]["rotation"], 90);
  EXPECT_EQ(j["source"]["video"]["display_width"], 360);
  EXPECT_EQ(j["source"]["video"]["display_height"], 640);
  EXPECT_EQ(j["ladder"]["renditions"][0]["label"], "360p");
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"360x640"}, true});
}

TEST_F(EncodeTest, TenBitHevcSource) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  spec.vcodec = "libx265";
  spec.pix_fmt = "yuv420p10le";
  fs::path in = Clip(spec);
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});
}

TEST_F(EncodeTest, TenBitH264FourTwoTwoSource) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  spec.pix_fmt = "yuv422p10le";
  spec.container = "mkv";
  fs::path in = Clip(spec);
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});
}

TEST_F(EncodeTest, ProResSource) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  spec.vcodec = "prores_ks";
  spec.pix_fmt = "yuv422p10le";
  spec.container = "mov";
  spec.audio_channels = 1;
  fs::path in = Clip(spec);
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});  // mono in, stereo out
}

TEST_F(EncodeTest, VariableFrameRateBecomesConstant) {
  testing::ClipSpec spec;
  spec.seconds = 3;
  spec.vfr = true;
  fs::path in = Clip(spec);
  auto p = testing::RunHlsforge({"probe", in.string(), "--json"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(json::parse(p.out)["source"]["video"]["vfr"], true);
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});
  json seg = ProbeJson(Out() / "0" / "0.ts", {"-show_streams"});
  EXPECT_EQ(FirstStream(seg, "video").value("avg_frame_rate", ""), "30/1");
}

TEST_F(EncodeTest, SixChannelAudioIsDownmixedToStereo) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  spec.audio_channels = 6;
  fs::path in = Clip(spec);
  auto r = Encode(in, Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});  // checks 2 channels, 48 kHz
}

TEST_F(EncodeTest, SingleProfileMirrorsTheBasicCommand) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  fs::path in = Clip(spec);
  auto r = Encode(in, Out(), {"--profile", "single"});  // CRF 23, preset medium, as shipped
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CheckPackage(Out(), in, {{"320x180"}, true});
  EXPECT_THAT(*ReadFile(Out() / "master.m3u8"), HasSubstr("CODECS=\"avc1.64"));
}

TEST_F(EncodeTest, JsonProgressAndSummary) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  fs::path in = Clip(spec);
  auto r = Encode(in, Out(), {"--json-progress", "--preset", "ultrafast", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<json> objs;
  while (std::getline(lines, line)) {
    json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    objs.push_back(j);
  }
  ASSERT_GE(objs.size(), 2u);
  for (size_t i = 0; i + 1 < objs.size(); ++i) {
    EXPECT_TRUE(objs[i].contains("percent"));
    EXPECT_TRUE(objs[i].contains("speed"));
    EXPECT_TRUE(objs[i].contains("eta_s"));
  }
  EXPECT_EQ(objs[objs.size() - 2]["percent"], 100.0);
  const json& summary = objs.back();
  EXPECT_EQ(summary["done"], true);
  ASSERT_EQ(summary["renditions"].size(), 1u);
  EXPECT_EQ(summary["renditions"][0]["width"], 320);
  EXPECT_GT(summary["renditions"][0]["bandwidth"].get<int64_t>(), 0);
  CheckPackage(Out(), in, {{"320x180"}, true});
}

TEST_F(EncodeTest, ProbeText) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  auto p = testing::RunHlsforge({"probe", Clip(spec).string()});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_THAT(p.out, HasSubstr("duration:  2.0"));
  EXPECT_THAT(p.out, HasSubstr("320x180"));
  EXPECT_THAT(p.out, HasSubstr("audio:     aac"));
  EXPECT_THAT(p.out, HasSubstr("180p"));
}

// ---- bad inputs: one line, non-zero, nothing published ----

TEST_F(EncodeTest, NotAVideo) {
  auto r = Encode(Write("notes.mp4", "just some text\nnot a video\n"), Out());
  CheckCleanFailure(r, 3, "text");
  auto p = testing::RunHlsforge({"probe", (dir_->path() / "notes.mp4").string()});
  CheckCleanFailure(p, 3, "probe text");
}

TEST_F(EncodeTest, ZeroByte) {
  auto r = Encode(Write("empty.mp4", ""), Out());
  CheckCleanFailure(r, 3, "zero-byte");
  EXPECT_THAT(r.err, HasSubstr("empty"));
}

TEST_F(EncodeTest, Truncated) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  std::string bytes = *ReadFile(Clip(spec));
  auto r = Encode(Write("cut.mp4", bytes.substr(0, bytes.size() * 3 / 10)), Out());
  CheckCleanFailure(r, 3, "truncated");
}

TEST_F(EncodeTest, Missing) {
  auto r = Encode(dir_->path() / "nope.mp4", Out());
  CheckCleanFailure(r, 4, "missing");
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(EncodeTest, UnwritableOutdir) {
  testing::ClipSpec spec;
  spec.seconds = 2;
  fs::path in = Clip(spec);
  Write("plainfile", "x");
  CheckCleanFailure(Encode(in, dir_->path() / "plainfile" / "out"), 5, "under a regular file");
  CheckCleanFailure(Encode(in, dir_->path() / "plainfile"), 5, "OUTDIR is a file");
  CheckCleanFailure(Encode(in, "/proc/hlsforge-test-out"), 5, "under /proc");
  fs::create_directories(dir_->path() / "full");
  Write("full/precious.txt", "keep");
  CheckCleanFailure(Encode(in, dir_->path() / "full"), 5, "foreign non-empty OUTDIR");
  EXPECT_TRUE(fs::exists(dir_->path() / "full" / "precious.txt"));
  if (geteuid() != 0) {  // root ignores permission bits
    fs::create_directories(dir_->path() / "ro");
    fs::permissions(dir_->path() / "ro", fs::perms(0555));
    CheckCleanFailure(Encode(in, dir_->path() / "ro" / "out"), 5, "read-only parent");
    fs::permissions(dir_->path() / "ro", fs::perms(0755));
  }
}

// A text playlist renamed to .mp4 / .mov must be refused as bad input and must never make
// ffmpeg open what it names. The canary is a real, playable TS clip named by the playlists: if
// the lockdown failed, it would be opened (inotify sees it) and the encode would even succeed.
TEST_F(EncodeTest, PlaylistAttacksAreRefusedWithoutReadingAnything) {
  testing::ClipSpec spec;
  spec.seconds = 1;
  spec.container = "ts";
  fs::path canary = dir_->path() / "canary.ts";
  fs::copy_file(Clip(spec), canary);
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(in, 0);
  ASSERT_GE(inotify_add_watch(in, canary.c_str(), IN_OPEN | IN_ACCESS), 0);

  fs::path hls = Write("attack.mp4",
                       "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                       "#EXTINF:1,\nfile://" +
                           canary.string() + "\n#EXTINF:1,\n" + canary.string() +
                           "\n#EXTINF:2,\nfile:///etc/passwd\n#EXTINF:2,\n"
                           "http://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n");
  fs::path concat =
      Write("attack.mov", "ffconcat version 1.0\nfile " + canary.string() + "\nfile /etc/passwd\n");
  auto a = Encode(hls, Out());
  CheckCleanFailure(a, 3, "hls attack");
  EXPECT_THAT(a.err, HasSubstr("not a supported video container"));
  auto b = Encode(concat, Out());
  CheckCleanFailure(b, 3, "concat attack");
  EXPECT_THAT(b.err, HasSubstr("not a supported video container"));
  // Not a decode error of passwd: the lockdown refused the format itself.
  EXPECT_THAT(a.err + b.err, ::testing::Not(HasSubstr("passwd")));
  char buf[4096];
  EXPECT_LT(read(in, buf, sizeof buf), 0) << "the canary named by a disguised playlist was opened";
  close(in);
}

TEST_F(EncodeTest, InterruptKillsFfmpegAndLeavesNothing) {
  testing::ClipSpec spec;
  spec.width = 640;
  spec.height = 360;
  spec.seconds = 20;
  spec.audio = false;
  fs::path in = Clip(spec);
  testing::ChildProcess child;
  fs::path log = dir_->path() / "encode.log";
  // --threads 1 and preset medium: slow enough to be interrupted mid-way.
  ASSERT_TRUE(child
                  .Start({testing::HlsforgeBin(), "encode", in.string(), Out().string(),
                          "--json-progress", "--threads", "1", "--preset", "medium"},
                         log)
                  .ok());
  ASSERT_TRUE(
      testing::WaitFor([&] { return child.Log().find("percent") != std::string::npos; }, 60))
      << child.Log();
  int code = child.Stop(SIGINT);
  EXPECT_EQ(code, 130) << child.Log();
  EXPECT_THAT(child.Log(), HasSubstr("hlsforge: error: interrupted"));
  fs::remove(log);
  EXPECT_TRUE(Tree().empty()) << ::testing::PrintToString(Tree());
  // No ffmpeg left writing into our folder.
  auto ps = RunTool({"pgrep", "-f", Out().string()});
  EXPECT_NE(ps.exit_code, 0) << ps.out;
}

TEST_F(EncodeTest, UsageErrors) {
  EXPECT_NE(testing::RunHlsforge({"encode"}).exit_code, 0);
  testing::ClipSpec spec;
  spec.seconds = 2;
  auto r = Encode(Clip(spec), Out(), {"--profile", "nonsense"});
  CheckCleanFailure(r, 2, "bad profile");
  auto t = Encode(Clip(spec), Out(), {"--threads", "-3"});
  EXPECT_NE(t.exit_code, 0);
  EXPECT_FALSE(fs::exists(Out()));
}

}  // namespace
}  // namespace hlsforge
