// Writing HLS playlists (RFC 8216) as deterministic text.
//
// Everything here is a pure function of its arguments: no I/O, thread-safe, never fails.
// The writer never emits a playlist that a player would mis-parse, whatever the model holds:
//
//  * EXT-X-VERSION: max(model.version, 3). Version 3 is what our features need: EXTINF is
//    always written with decimals (RFC 8216 §7: decimal EXTINF needs version >= 3);
//    EXT-X-INDEPENDENT-SEGMENTS, EXT-X-PLAYLIST-TYPE, AVERAGE-BANDWIDTH, FRAME-RATE and the
//    (non-standard, hls.js-read) NAME attribute need no particular version.
//  * EXT-X-TARGETDURATION: max(model.target_duration, ceil of the longest EXTINF as written),
//    so a too-small value in the model can never produce an invalid playlist.
//  * EXTINF: "%.6f," (six decimals, no title), the same form ffmpeg writes. NaN, infinite and
//    negative durations are written as 0.
//  * EXT-X-PLAYLIST-TYPE is written only for "VOD" or "EVENT"; anything else is omitted.
//  * Quoted-string attributes (CODECS, NAME) go through SanitizeQuotedString().
//  * URIs in the model are plain relative paths (object keys relative to the playlist, not
//    URI-encoded); the writer percent-encodes them with EncodeUriPath(). Entries with an empty
//    URI are skipped (an empty line would silently shift every later URI).
//  * BANDWIDTH is REQUIRED by RFC 8216 and always written (even 0); AVERAGE-BANDWIDTH,
//    CODECS, RESOLUTION (when width or height is 0), FRAME-RATE and NAME are omitted when
//    0 / empty. FRAME-RATE has three decimals ("29.970").
//  * Lines end with "\n"; the text ends with a newline.
#pragma once

#include <string>
#include <string_view>

#include "hls/playlist.h"

namespace hlsforge::hls {

// Media playlist of one rendition:
//   #EXTM3U / #EXT-X-VERSION / #EXT-X-TARGETDURATION / #EXT-X-MEDIA-SEQUENCE /
//   [#EXT-X-PLAYLIST-TYPE] / [#EXT-X-INDEPENDENT-SEGMENTS] / (#EXTINF + URI)* / [#EXT-X-ENDLIST]
std::string WriteMedia(const MediaPlaylist& playlist);

// Multivariant playlist: #EXTM3U / #EXT-X-VERSION / [#EXT-X-INDEPENDENT-SEGMENTS] /
// (#EXT-X-STREAM-INF + URI)* in the order given. Zero variants gives a syntactically valid
// playlist with only the header (see catalog.h for why that is what an empty catalog is).
std::string WriteMaster(const MasterPlaylist& playlist);

// Percent-encodes a relative path for use as a playlist URI: every byte except the RFC 3986
// unreserved characters (A-Z a-z 0-9 - . _ ~) and '/' becomes %XX (uppercase hex). So space,
// '"', '#', '%', '?', ':', control characters and the UTF-8 bytes of non-ASCII characters are
// encoded, and a player resolving the URI against the playlist's URL requests exactly the object
// key `path` ("my clip #1 ünï.mov/0/index.m3u8" -> "my%20clip%20%231%20%C3%BCn%C3%AF.mov/0/
// index.m3u8"). ':' is encoded too, so a first segment like "a:b" can never read as a scheme.
std::string EncodeUriPath(std::string_view path);

// Makes `s` safe inside a quoted-string attribute (RFC 8216 §4.2: no '"', CR or LF):
// '"' becomes '\'', CR, LF, TAB and every other control character (0x00-0x1F, 0x7F) become a
// space, and bytes that are not valid UTF-8 become U+FFFD. Everything else is kept as is, so
// "Ünïcødé, with commas" survives unchanged (commas are legal inside quotes).
std::string SanitizeQuotedString(std::string_view s);

}  // namespace hlsforge::hls
