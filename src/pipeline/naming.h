// How an uploaded object's name becomes the `<video>` folder under encode/ in the HLS bucket.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace hlsforge::pipeline {

// A name already made only of [A-Za-z0-9._-], not starting with '.', at most 200 bytes, is
// used as is (so "28dbd38f-ddd9-46a0-a4b2-1f2014e7b3e4.mov" stays itself). Anything else is
// mapped to that alphabet ('/' and every other byte become '_', runs collapsed, leading dots
// and underscores stripped, cut to 180 bytes) and suffixed with "-" + 8 hex digits of a hash
// of the full name, so two different names never share a folder in practice and nothing can
// name a path outside encode/. kInvalidArgument for an empty name or one with NUL/control bytes.
Result<std::string> MakeSlug(std::string_view object_name);

// Whether an upload-bucket key should be considered a video candidate at all (skips folders,
// hidden files, partial uploads like "*.part", "*.tmp", "*.crdownload").
bool IsCandidateObject(std::string_view key);

}  // namespace hlsforge::pipeline
