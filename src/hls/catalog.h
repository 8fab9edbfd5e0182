// The catalog: encode/master.m3u8, one multivariant playlist listing every ready video once.
//
// Each video is one EXT-X-STREAM-INF "variant" with NAME="<video>" pointing at ONE media
// playlist of that video (a multivariant playlist may not point at another multivariant
// playlist). A player switches videos by switching levels with automatic switching off.
//
// Pure functions: no I/O, thread-safe.
//
// Decisions:
//  * Order: entries are sorted by name, then uri (std::stable_sort, so exact duplicates keep the
//    order given). The output depends only on the set of entries, not on the order the state
//    store returned them, so two workers rebuilding the same catalog write identical bytes.
//  * Unique BANDWIDTH: hls.js merges variants whose BANDWIDTH/RESOLUTION/CODECS coincide into one
//    level with fallbacks, which would hide a video. In the sorted order, each entry takes its
//    own bandwidth (at least 1), or, if an earlier entry already took it, the next larger value
//    not yet taken (+1 bit/s at a time). Deterministic; a 1 bit/s difference is invisible to
//    adaptation. ParseCatalog returns the bumped values as written.
//  * NAME and CODECS are sanitised by the writer (writer.h: '"' -> '\'', control characters ->
//    space, invalid UTF-8 -> U+FFFD); uri is a plain relative path, percent-encoded on output.
//    Entries with an empty uri are dropped (the writer cannot write them).
//  * Empty catalog: a valid multivariant playlist with the header only
//    ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"). hls.js reports a fatal
//    MANIFEST_PARSING_ERROR ("no level found in manifest") for it, exactly as it would for a
//    404, so the choice is not about players: it lets the publisher always overwrite the
//    catalog (deleting the last video replaces the stale list rather than leaving it), and
//    ParseCatalog reads it back as zero entries. Clients should ask the API whether any video is
//    ready before loading the catalog, or treat that error as "no videos yet".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hlsforge::hls {

struct CatalogEntry {
  std::string name;               // video name, written as NAME="..."
  std::string uri;                // media playlist relative to encode/, e.g. "<slug>/1/index.m3u8"
  int64_t bandwidth = 0;          // BANDWIDTH (peak) of that rendition, bits/s
  int64_t average_bandwidth = 0;  // 0 = omitted
  std::string codecs;             // "" = omitted
  int width = 0, height = 0;      // 0 = omitted
  double frame_rate = 0;          // 0 = omitted

  bool operator==(const CatalogEntry&) const = default;
};

std::string BuildCatalog(const std::vector<CatalogEntry>& entries);

// Reads a catalog (any multivariant playlist) back into entries, in playlist order.
// kInvalidArgument (with a line number) when it is not a well-formed multivariant playlist.
Result<std::vector<CatalogEntry>> ParseCatalog(std::string_view text);

}  // namespace hlsforge::hls
