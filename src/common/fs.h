// Small file-system helpers shared by all modules.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace hlsforge {

// A uniquely named folder created under `parent` (default: $TMPDIR or /tmp) and removed,
// with everything in it, when the object is destroyed unless Release() was called.
class TempDir {
 public:
  static Result<TempDir> Create(const std::filesystem::path& parent = {},
                                std::string_view prefix = "hlsforge-");
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // Keeps the folder on disk; the caller owns it from now on.
  std::filesystem::path Release();

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

Result<std::string> ReadFile(const std::filesystem::path& path);
// Writes to a sibling temporary file, fsyncs and renames, so readers see old or new, never half.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data);

// Milliseconds since the Unix epoch.
int64_t NowMs();

}  // namespace hlsforge
