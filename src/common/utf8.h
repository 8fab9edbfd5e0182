// UTF-8 validation shared by every module that writes user text somewhere strict
// (playlists, PostgreSQL, JSON).
#pragma once

#include <cstddef>
#include <string_view>

namespace hlsforge {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (overlong forms,
// surrogates and code points above U+10FFFF are invalid, as PostgreSQL also rejects them).
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace hlsforge
