// Storage-private helpers shared by the backends. Not for use outside src/storage.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/object_store.h"

namespace hlsforge::storage::internal {

// A List/DeletePrefix prefix: "" (when allow_empty), or a key-like string whose last segment
// may be partial or empty ("encode/", "encode/vid"). Same byte rules as keys.
Status ValidatePrefix(std::string_view prefix, bool allow_empty);

// The rules for one path segment (no '/'): non-empty, <= 255 bytes, no leading '.', no
// backslash, no NUL/control characters, valid UTF-8. `what` names the thing in the message.
Status ValidateSegment(std::string_view segment, std::string_view what);

// %XX decoding; kInvalidArgument on a malformed escape or a decoded NUL/control character.
Result<std::string> PercentDecode(std::string_view s);

// 16 random bytes as 32 hex characters (temp-file names, multipart tags in tests).
std::string RandomHex(size_t bytes = 8);

Result<std::unique_ptr<ObjectStore>> OpenFileStore(const std::filesystem::path& root,
                                                   std::string url);
std::unique_ptr<ObjectStore> OpenMemoryStore(const std::string& name, std::string url);
Result<std::unique_ptr<ObjectStore>> OpenS3StoreForFactory(const std::string& url,
                                                           const StoreOptions& options);

}  // namespace hlsforge::storage::internal
