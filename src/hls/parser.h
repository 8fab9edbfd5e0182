// Parsing HLS playlists (RFC 8216) into the model of playlist.h.
//
// Pure functions: no I/O, thread-safe, linear in the input size. They accept what real
// writers produce (CRLF line ends, a UTF-8 byte order mark, blank lines, surrounding
// whitespace, comments, unknown tags, quoted commas in attribute lists) and reject malformed
// input with kInvalidArgument and a message that starts with the 1-based line number
// ("line 7: EXTINF without a URI"): missing #EXTM3U, bad numbers, a URI without its tag, a tag
// without its URI, a media tag in a multivariant playlist or the reverse, duplicate attributes,
// an unterminated quoted string. Inputs larger than kMaxPlaylistBytes are rejected up front.
//
// Tags the model does not hold are skipped. Defaults follow RFC 8216, not the model's
// defaults: a playlist without EXT-X-VERSION has version 1, without EXT-X-PLAYLIST-TYPE
// playlist_type "", without EXT-X-ENDLIST endlist false, without EXT-X-TARGETDURATION
// target_duration 0 (the validator reports the last three; the parser is not the rule book).
//
// URIs are percent-decoded (DecodeUriPath) so the model holds the same plain relative paths the
// writer takes; WriteMedia(ParseMedia(WriteMedia(p))) == WriteMedia(p).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "hls/playlist.h"

namespace hlsforge::hls {

// 16 MiB: a 24-hour VOD with 2-second segments is about 2 MB of playlist.
inline constexpr size_t kMaxPlaylistBytes = size_t{16} << 20;

Result<MediaPlaylist> ParseMedia(std::string_view text);
Result<MasterPlaylist> ParseMaster(std::string_view text);

enum class PlaylistKind { kMedia, kMaster };
// Which kind `text` is (EXT-X-STREAM-INF => master, otherwise media), without validating it.
// kInvalidArgument when it does not start with #EXTM3U or is too large.
Result<PlaylistKind> DetectPlaylistKind(std::string_view text);

// Inverse of EncodeUriPath: %XX (either case) becomes the byte; a '%' not followed by two hex
// digits is kept literally. Nothing else changes ('+' stays '+': this is a path, not a form).
// A query or fragment ("0.ts?v=12", the publisher's cache-busting version) is not part of the
// path and is dropped: EncodeUriPath escapes '?' and '#' in names, so an unescaped one starts it.
std::string DecodeUriPath(std::string_view uri);

}  // namespace hlsforge::hls
