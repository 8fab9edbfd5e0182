#include "pipeline/publisher.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "hls/catalog.h"

namespace hlsforge::pipeline {
namespace fs = std::filesystem;
namespace {

struct Rung {
  int index = 0;
  fs::path dir;
  std::vector<std::pair<int, fs::path>> segments;  // (n, path), ascending n
};

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<std::vector<Rung>> ScanPackage(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "master.m3u8", ec)) {
    return Internal("package " + dir.string() + " has no master.m3u8");
  }
  std::vector<Rung> rungs;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_directory() || !AllDigits(name) || name.size() > 3) continue;
    Rung r;
    r.index = std::stoi(name);
    r.dir = e.path();
    if (!fs::is_regular_file(r.dir / "index.m3u8")) {
      return Internal("package rung " + name + " has no index.m3u8");
    }
    for (const auto& s : fs::directory_iterator(r.dir)) {
      std::string f = s.path().filename().string();
      if (f.size() > 3 && f.ends_with(".ts") && AllDigits(f.substr(0, f.size() - 3))) {
        r.segments.emplace_back(std::stoi(f.substr(0, f.size() - 3)), s.path());
      }
    }
    if (r.segments.empty()) return Internal("package rung " + name + " has no segments");
    std::sort(r.segments.begin(), r.segments.end());
    rungs.push_back(std::move(r));
  }
  if (ec) return Internal("cannot read package " + dir.string() + ": " + ec.message());
  if (rungs.empty()) return Internal("package " + dir.string() + " has no renditions");
  std::sort(rungs.begin(), rungs.end(), [](const Rung& a, const Rung& b) { return a.index < b.index; });
  return rungs;
}

// Appends "?v=<version>" to every segment URI of a media playlist. Segments of a new version are
// written over the old ones at the same keys (the layout fixes encode/<video>/<i>/<n>.ts), so
// the URL a player fetches must change with the version: the URL, not the key, is what caches
// keep, and kSegmentCache tells them to keep it forever.
std::string VersionSegmentUris(const std::string& text, const std::string& version) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#' && line.find('?') == std::string::npos) {
      line += "?v=" + version;
    }
    out += line + "\n";
  }
  return out;
}

// Rewrites every URI line of a multivariant playlist to live under `prefix`.
std::string PrefixUris(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') line = prefix + line;
    out += line + "\n";
  }
  return out;
}

}  // namespace

bool VersionsSegmentUrls(const storage::ObjectStore& hls) { return !hls.ObjectsAreLocalFiles(); }

const char* SegmentCacheFor(const storage::ObjectStore& hls) {
  return VersionsSegmentUrls(hls) ? kSegmentCache : kUnversionedSegmentCache;
}

Status PublishPackage(storage::ObjectStore& hls, const fs::path& dir, const std::string& slug,
                      int64_t job_id, bool republish, const std::function<Status()>& fence,
                      PublishStats* stats) {
  ASSIGN_OR_RETURN(std::vector<Rung> rungs, ScanPackage(dir));
  ASSIGN_OR_RETURN(std::string master, ReadFile(dir / "master.m3u8"));
  const std::string base = "encode/" + slug + "/";
  PublishStats local;
  PublishStats& st = stats ? *stats : local;
  storage::PutOptions seg_opts{kSegmentType, SegmentCacheFor(hls)};
  storage::PutOptions pl_opts{kPlaylistType, kPlaylistCache};
  auto put_file = [&](const std::string& key, const fs::path& p, const storage::PutOptions& o) {
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    RETURN_IF_ERROR(hls.PutFile(key, p, o).Annotate("upload " + key));
    st.files++;
    st.bytes += ec ? 0 : static_cast<int64_t>(size);
    return Status::Ok();
  };
  // Unique per publication, even if a reset state store hands out the same job id again.
  const std::string version = std::to_string(job_id) + "-" + std::to_string(NowMs());
  auto upload_rungs = [&](const std::string& prefix) -> Status {
    for (const Rung& r : rungs) {
      RETURN_IF_ERROR(fence());
      const std::string rp = prefix + std::to_string(r.index) + "/";
      for (const auto& [n, path] : r.segments) {
        RETURN_IF_ERROR(put_file(rp + std::to_string(n) + ".ts", path, seg_opts));
      }
      ASSIGN_OR_RETURN(std::string playlist, ReadFile(r.dir / "index.m3u8"));
      if (VersionsSegmentUrls(hls)) playlist = VersionSegmentUris(playlist, version);
      RETURN_IF_ERROR(hls.PutBytes(rp + "index.m3u8", playlist, pl_opts).Annotate("upload " + rp + "index.m3u8"));
      st.files++;
      st.bytes += static_cast<int64_t>(playlist.size());
    }
    return Status::Ok();
  };

  if (republish) {
    const std::string staging = "staging-" + std::to_string(job_id) + "/";
    RETURN_IF_ERROR(upload_rungs(base + staging));
    RETURN_IF_ERROR(fence());
    RETURN_IF_ERROR(hls.PutBytes(base + "master.m3u8", PrefixUris(master, staging), pl_opts));
    HF_LOG_INFO("video={} job={} staged new version, master points at {}", slug, job_id, staging);
  } else {
    // Nothing of this video is live: clear what an earlier, interrupted attempt left behind.
    RETURN_IF_ERROR(hls.DeletePrefix(base));
  }
  RETURN_IF_ERROR(upload_rungs(base));
  RETURN_IF_ERROR(fence());
  RETURN_IF_ERROR(put_file(base + "master.m3u8", dir / "master.m3u8", pl_opts));

  return Status::Ok();
}

Status RemoveStale(storage::ObjectStore& hls, const fs::path& dir, const std::string& slug,
                   int64_t job_id) {
  ASSIGN_OR_RETURN(std::vector<Rung> rungs, ScanPackage(dir));
  const std::string base = "encode/" + slug + "/";
  std::set<std::string> keep = {base + "master.m3u8"};
  for (const Rung& r : rungs) {
    const std::string rp = base + std::to_string(r.index) + "/";
    keep.insert(rp + "index.m3u8");
    for (const auto& seg : r.segments) keep.insert(rp + std::to_string(seg.first) + ".ts");
  }
  std::string token;
  std::vector<std::string> stale;
  do {
    ASSIGN_OR_RETURN(storage::ListPage page, hls.List(base, token));
    for (const auto& o : page.objects) {
      if (!keep.count(o.key)) stale.push_back(o.key);
    }
    token = page.next_token;
  } while (!token.empty());
  // Playlists first, so that no remaining playlist names a removed segment.
  std::stable_partition(stale.begin(), stale.end(),
                        [](const std::string& k) { return k.ends_with(".m3u8"); });
  for (const auto& k : stale) {
    Status s = hls.Delete(k);
    if (!s.ok()) HF_LOG_WARN("video={} job={} could not remove stale {}: {}", slug, job_id, k, s.ToString());
  }
  return Status::Ok();
}

Status UnpublishVideo(storage::ObjectStore& hls, const std::string& slug) {
  if (slug.empty()) return InvalidArgument("empty slug");
  return hls.DeletePrefix("encode/" + slug + "/");
}

int PickCatalogRung(const std::vector<int>& short_sides, int preferred_height) {
  int best = -1;
  for (size_t i = 0; i < short_sides.size(); ++i) {
    if (short_sides[i] <= preferred_height && (best < 0 || short_sides[i] >= short_sides[best])) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0) return best;
  int lowest = 0;
  for (size_t i = 1; i < short_sides.size(); ++i) {
    if (short_sides[i] < short_sides[lowest]) lowest = static_cast<int>(i);
  }
  return lowest;
}

Status RebuildCatalog(state::StateStore& state, coord::Coordinator& coord,
                      storage::ObjectStore& hls, const std::string& owner) {
  ASSIGN_OR_RETURN(auto lock, coord::ScopedLock::Acquire(coord, "catalog", owner,
                                                         std::chrono::seconds(30),
                                                         std::chrono::seconds(60)));
  ASSIGN_OR_RETURN(std::vector<state::Video> videos, state.PublishedVideos());
  std::vector<hls::CatalogEntry> entries;
  for (const auto& v : videos) {
    auto j = nlohmann::json::parse(v.catalog_json, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("uri")) {
      HF_LOG_WARN("video={} has no catalog entry data; left out of the catalog", v.id);
      continue;
    }
    hls::CatalogEntry e;
    e.name = v.name;
    e.uri = j.value("uri", "");
    e.bandwidth = j.value("bandwidth", int64_t{0});
    e.average_bandwidth = j.value("average_bandwidth", int64_t{0});
    e.codecs = j.value("codecs", "");
    e.width = j.value("width", 0);
    e.height = j.value("height", 0);
    e.frame_rate = j.value("frame_rate", 0.0);
    entries.push_back(std::move(e));
  }
  std::string text = hls::BuildCatalog(entries);
  RETURN_IF_ERROR(hls.PutBytes("encode/master.m3u8", text,
                               storage::PutOptions{kPlaylistType, kPlaylistCache}));
  HF_LOG_INFO("catalog rebuilt with {} videos", entries.size());
  return Status::Ok();
}

}  // namespace hlsforge::pipeline
