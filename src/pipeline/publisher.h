// Publisher: moves a finished local package into the HLS bucket under encode/<slug>/ in an
// order that never lets a player reach a playlist naming a missing file, and rebuilds the
// catalog encode/master.m3u8.
//
// First publish:  segments -> media playlists -> video master.
// Re-publish (the video already has live output):
//   1. the whole new package goes to encode/<slug>/staging-<job>/ (segments, playlists, master);
//   2. encode/<slug>/master.m3u8 is rewritten to point into staging (consistent new version);
//   3. each rung folder is overwritten in place: segments first, then its index.m3u8 (the
//      catalog, which points at a rung playlist, always sees a complete old or new playlist);
//   4. the video master is rewritten to the canonical rung folders;
//   5. (RemoveStale, after the state store says ready and the catalog was rebuilt, because the
//      old catalog may still point at a rung the new version no longer has) leftovers are
//      removed: staging, rung folders no longer used, segments past the new count; playlists
//      before the segments they name.
// A `fence` callback runs before every phase; when it fails (lease lost, job cancelled) the
// publisher stops and returns that status, so a worker that lost its lease stops writing.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "common/status.h"
#include "coord/coordinator.h"
#include "state/state_store.h"
#include "storage/object_store.h"

namespace hlsforge::pipeline {

inline constexpr char kPlaylistType[] = "application/vnd.apple.mpegurl";
inline constexpr char kSegmentType[] = "video/mp2t";
inline constexpr char kPlaylistCache[] = "no-cache";
// Segment URLs carry the publication's version (index.m3u8 names "<n>.ts?v=<job>-<ms>"), so a
// URL always means the same bytes even though a new version rewrites the same keys.
inline constexpr char kSegmentCache[] = "public, max-age=31536000, immutable";
// A bucket whose objects are local files (file://) keeps bare "<n>.ts" URIs, so that ffplay or
// VLC can play DATA/hls/encode/<video>/master.m3u8 from disk (a file name has no query part).
// Its segments' URLs then do not change with the version, so whoever serves them over HTTP
// must make caches revalidate them (the ETag changes with the bytes).
inline constexpr char kUnversionedSegmentCache[] = "no-cache";

// Whether PublishPackage versions segment URIs in `hls`, and the Cache-Control that fits.
bool VersionsSegmentUrls(const storage::ObjectStore& hls);
const char* SegmentCacheFor(const storage::ObjectStore& hls);

struct PublishStats {
  int files = 0;
  int64_t bytes = 0;
};

// Uploads `package_dir` (master.m3u8, <i>/index.m3u8, <i>/<n>.ts) as encode/<slug>/.
// `republish` selects the staged swap above. Thread-safe for distinct slugs.
Status PublishPackage(storage::ObjectStore& hls, const std::filesystem::path& package_dir,
                      const std::string& slug, int64_t job_id, bool republish,
                      const std::function<Status()>& fence, PublishStats* stats);

// Removes from encode/<slug>/ every object that the package in `package_dir` does not have.
Status RemoveStale(storage::ObjectStore& hls, const std::filesystem::path& package_dir,
                   const std::string& slug, int64_t job_id);

// Removes everything of a video from the HLS bucket.
Status UnpublishVideo(storage::ObjectStore& hls, const std::string& slug);

// Rebuilds encode/master.m3u8 from the state store (never read-modify-write) under the
// coordinator lock "catalog", so that concurrent publishes never lose an entry.
Status RebuildCatalog(state::StateStore& state, coord::Coordinator& coord,
                      storage::ObjectStore& hls, const std::string& owner);

// Picks the catalog rung: the one whose label height is `preferred_height`, else the highest
// below it, else the lowest. Returns its position in `heights_by_index` (ascending).
int PickCatalogRung(const std::vector<int>& short_sides, int preferred_height);

}  // namespace hlsforge::pipeline
