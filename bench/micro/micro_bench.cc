// In-process micro-benchmarks (Google Benchmark) of the code that runs per object, per request or
// per publication, at the sizes the service targets name (10,000 objects / videos).
// They isolate what bench/bench.py can only see as whole-process CPU: e.g. its "watcher CPU per
// poll" also contains the scheduler loop and heartbeats of a running `serve`.
//
// Every benchmark checks its own answer once (SkipWithError on a wrong one), so a run that
// measures a broken code path says so; ctest runs them once as bench.micro_smoke.
//
//   build/bench/micro/hlsforge_micro_bench                       # all, default timing
//   build/bench/micro/hlsforge_micro_bench --benchmark_format=json
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/log.h"
#include "coord/coordinator.h"
#include "hls/catalog.h"
#include "hls/parser.h"
#include "hls/writer.h"
#include "pipeline/watcher.h"
#include "state/state_store.h"
#include "storage/object_store.h"
#include "storage/sigv4.h"

namespace hlsforge {
namespace {
namespace fs = std::filesystem;

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

// ---- watcher: one steady-state poll of a bucket whose objects are all known ----

void WatcherPoll(benchmark::State& state, bool folder) {
  const int n = static_cast<int>(state.range(0));
  TempDir dir = Must(TempDir::Create({}, "hlsforge-micro-"), "scratch folder");
  auto upload = Must(storage::OpenObjectStore(folder ? "file://" + (dir.path() / "upload").string()
                                                     : "memory://micro-upload-" + std::to_string(n)),
                     "upload store");
  auto hls = Must(storage::OpenObjectStore("memory://micro-hls-" + std::to_string(n)), "hls store");
  auto st = Must(state::OpenStateStore("sqlite://" + (dir.path() / "state.db").string()), "state");
  auto coord = Must(coord::OpenCoordinator("local://"), "coordinator");
  for (int i = 0; i < n; i++) {
    char key[32];
    snprintf(key, sizeof key, "obj%05d.mp4", i);
    if (!upload->PutBytes(key, "x").ok()) std::abort();
  }
  pipeline::PipelineConfig cfg;
  cfg.settle_age = std::chrono::milliseconds(0);
  pipeline::Watcher w({upload.get(), hls.get(), st.get(), coord.get()}, cfg);
  auto first = w.PollOnce();  // records all n (not measured)
  if (!first.ok() || first->queued != n) {
    state.SkipWithError("first poll did not queue every object");
    return;
  }
  for (auto _ : state) {
    auto r = w.PollOnce();
    if (!r.ok() || r->listed != n || r->queued != 0) {
      state.SkipWithError("steady poll listed or queued the wrong objects");
      break;
    }
  }
  state.counters["objects"] = n;
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK_CAPTURE(WatcherPoll, folder, true)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(WatcherPoll, memory, false)->Arg(10000)->Unit(benchmark::kMillisecond);

// ---- GET /api/videos: the state store's part (a page of 50, newest first, and the total) ----

void ApiVideoPage(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  TempDir dir = Must(TempDir::Create({}, "hlsforge-micro-"), "scratch folder");
  auto st = Must(state::OpenStateStore("sqlite://" + (dir.path() / "state.db").string()), "state");
  for (int i = 0; i < n; i++) {
    std::string name = "video" + std::to_string(i) + ".mp4";
    if (!st->RecordObject(name, name, "etag" + std::to_string(i), 1000 + i).ok()) std::abort();
  }
  state::VideoQuery q;  // the API's default page
  for (auto _ : state) {
    auto page = st->ListVideos(q);
    auto total = st->CountVideos(q);
    if (!page.ok() || page->size() != 50u || !total.ok() || *total != n) {
      state.SkipWithError("wrong page or total");
      break;
    }
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK(ApiVideoPage)->Arg(10000)->Unit(benchmark::kMicrosecond);

// ---- catalog: encode/master.m3u8 rebuilt from the state store's entries ----

void Catalog(benchmark::State& state, bool same_bandwidth) {
  const int n = static_cast<int>(state.range(0));
  std::vector<hls::CatalogEntry> entries;
  for (int i = 0; i < n; i++) {
    hls::CatalogEntry e;
    e.name = "video " + std::to_string(i) + ".mp4";
    e.uri = "video_" + std::to_string(i) + ".mp4-1a2b3c4d/1/index.m3u8";
    // Same-ladder videos of the same content have the same measured peak: the writer must then
    // make every BANDWIDTH unique (hls.js merges equal variants), the worst case of that rule.
    e.bandwidth = same_bandwidth ? 3000000 : 2000000 + 997 * i;
    e.average_bandwidth = e.bandwidth * 3 / 4;
    e.codecs = "avc1.64001f,mp4a.40.2";
    e.width = 1280;
    e.height = 720;
    e.frame_rate = 30;
    entries.push_back(std::move(e));
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = hls::BuildCatalog(entries);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  auto back = hls::ParseCatalog(hls::BuildCatalog(entries));
  if (!back.ok() || back->size() != entries.size()) state.SkipWithError("catalog does not read back");
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK_CAPTURE(Catalog, distinct_bandwidth, false)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Catalog, same_bandwidth, true)->Arg(10000)->Unit(benchmark::kMillisecond);

// ---- media playlists: a 2-hour rendition (3,600 two-second segments) written and parsed ----

hls::MediaPlaylist TwoHours() {
  hls::MediaPlaylist p;
  p.target_duration = 2;
  for (int i = 0; i < 3600; i++) p.segments.push_back({2.0, std::to_string(i) + ".ts"});
  return p;
}

void MediaWrite(benchmark::State& state) {
  const auto p = TwoHours();
  for (auto _ : state) {
    std::string text = hls::WriteMedia(p);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(MediaWrite)->Unit(benchmark::kMicrosecond);

void MediaParse(benchmark::State& state) {
  const std::string text = hls::WriteMedia(TwoHours());
  for (auto _ : state) {
    auto p = hls::ParseMedia(text);
    if (!p.ok() || p->segments.size() != 3600u) {
      state.SkipWithError("parse lost segments");
      break;
    }
    benchmark::DoNotOptimize(p);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(MediaParse)->Unit(benchmark::kMicrosecond);

// ---- S3: SigV4 signature of one segment PUT (done for every object the worker uploads) ----

void SigV4PutSegment(benchmark::State& state) {
  namespace sigv4 = storage::sigv4;
  sigv4::Credentials cred{"S3RVER", "S3RVER", ""};
  sigv4::Request req;
  req.method = "PUT";
  req.canonical_uri = "/hls/encode/video_1.mp4-1a2b3c4d/2/417.ts";
  req.payload_hash = std::string(sigv4::kUnsignedPayload);
  req.headers = {{"host", "127.0.0.1:4566"},
                 {"content-type", "video/mp2t"},
                 {"cache-control", "public, max-age=31536000, immutable"},
                 {"x-amz-content-sha256", req.payload_hash},
                 {"x-amz-date", "20261201T000000Z"}};
  for (auto _ : state) {
    auto s = sigv4::Sign(req, cred, "us-east-1", "s3", "20261201T000000Z");
    if (s.signature.size() != 64) {
      state.SkipWithError("signature is not 32 hex bytes");
      break;
    }
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(SigV4PutSegment)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hlsforge

int main(int argc, char** argv) {
  hlsforge::InitLogging("warn");  // the watcher logs every object it queues
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
