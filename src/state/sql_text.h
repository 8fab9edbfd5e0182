// Internal to src/state: checks and clean-ups of text before it reaches a database, shared by
// both backends so that they accept and reject exactly the same inputs.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace hlsforge::state {

bool IsValidUtf8(std::string_view s);

// An identifier-like value (object name, ETag, slug, worker id): non-empty, at most max_bytes,
// valid UTF-8, no NUL (PostgreSQL text cannot hold NUL). kInvalidArgument names `what`.
Status CheckIdentifier(std::string_view what, std::string_view s, size_t max_bytes);

// Free text (error messages, JSON blobs): invalid UTF-8 sequences become U+FFFD, NULs are
// dropped, and text longer than max_bytes is cut at a character boundary with a marker.
// Never fails: an error message from ffmpeg must always be storable.
std::string SanitizeText(std::string_view s, size_t max_bytes);

// ASCII-lowercases and escapes %, _ and \ for `LIKE ? ESCAPE '\'`, wrapped in %...%.
std::string ContainsPattern(std::string_view needle);

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db".
std::string RedactUrl(std::string_view url);

}  // namespace hlsforge::state
