// ObjectStore: the two buckets (upload, hls) behind one small interface, chosen by URL:
//   file:///abs/folder   a folder as a bucket (embedded default); created if missing
//   memory://name        in-process, for unit tests; the same name in one process is the same
//                        store (so separately opened components share it)
//   s3://bucket[/prefix][?endpoint=URL&region=R&path_style=0|1]
//                        any S3 API. Query values override StoreOptions (endpoint e.g.
//                        http://127.0.0.1:4566, percent-encoded or not). Keys live under
//                        `prefix/` when a prefix is given. Unknown query parameters are rejected.
//                        Credentials never go in the URL: StoreOptions or AWS_ACCESS_KEY_ID /
//                        AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
// Keys are relative, '/'-separated UTF-8, at most 1024 bytes with segments of at most 255 bytes;
// they never start or end with '/', never have empty segments ("a//b"), segments starting with
// '.' (so no "." / ".." and no hidden files), backslashes, NUL or control characters. Every
// backend rejects such keys with kInvalidArgument, so nothing can be read or written outside the
// bucket. List skips stored keys that break these rules (e.g. written by another S3 client).
// Content type: PutOptions.content_type when given, else GuessContentType(key). The file backend
// always answers GuessContentType(key) and ignores cache_control (its HTTP server sets headers).
// All methods are thread-safe and blocking. Large objects are streamed, never held in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hlsforge::storage {

struct ObjectInfo {
  std::string key;
  std::string etag;  // content identity: S3 ETag; file backend: hash of size+mtime+inode
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string content_type;  // when known (Head)
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::string next_token;  // "" = last page; otherwise opaque, pass it back to List
};

struct PutOptions {
  std::string content_type;   // "" = GuessContentType(key) (application/octet-stream if unknown)
  std::string cache_control;  // "" = none
};

struct StoreOptions {
  std::string endpoint;  // s3: "http://127.0.0.1:4566"; "" = AWS for the region
  std::string region = "us-east-1";
  bool path_style = true;
  // Credentials; empty = from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  std::string access_key_id, secret_access_key, session_token;
  uint64_t multipart_threshold = 64ull << 20;  // s3: PUT larger files in parts
  uint64_t multipart_part_size = 16ull << 20;  // s3: raised to >= 5 MiB and <= 10,000 parts
  int max_retries = 4;                         // s3: on 5xx, 429, connection errors
};

// A running change notification (ObjectStore::WatchChanges). Destroying it stops it: the
// callback is not running and is never called again once the destructor returns.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // One page of keys under `prefix`, in lexicographic order, starting after `token`.
  virtual Result<ListPage> List(const std::string& prefix, const std::string& token,
                                int max_keys = 1000) = 0;
  // kNotFound if the key does not exist.
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;
  // Streams the object into `dest` (written to a temp name, then renamed).
  virtual Status GetToFile(const std::string& key, const std::filesystem::path& dest) = 0;
  // Reads a small object (playlists) whole; kResourceExhausted above max_bytes.
  virtual Result<std::string> GetBytes(const std::string& key, uint64_t max_bytes = 16 << 20) = 0;
  // Streams `length` bytes from `offset` (length 0 = to the end) to `sink`; sink returns false
  // to stop early.
  virtual Status ReadRange(const std::string& key, uint64_t offset, uint64_t length,
                           const std::function<bool(const char*, size_t)>& sink) = 0;
  // Readers see the old object or the new one, never a partial one.
  virtual Status PutFile(const std::string& key, const std::filesystem::path& src,
                         const PutOptions& options = {}) = 0;
  virtual Status PutBytes(const std::string& key, std::string_view data,
                          const PutOptions& options = {}) = 0;
  // Deleting a missing key is OK.
  virtual Status Delete(const std::string& key) = 0;
  // Deletes every key under prefix (batched on S3). prefix must be non-empty.
  virtual Status DeletePrefix(const std::string& prefix) = 0;
  // The URL this store was opened with (secrets removed).
  virtual std::string Url() const = 0;
  // True when every object is also a plain file that players may open straight from disk
  // (file://): a playlist URI must then be a bare relative file name, with no "?query".
  virtual bool ObjectsAreLocalFiles() const { return false; }
  // Push notification of changes, where the backend has one (file://: inotify on the folder and
  // every sub-folder). Calls `on_change` from a thread of its own, soon (<= ~50 ms, bursts
  // coalesced) after an object is completely written (closed, or renamed into place) or removed.
  // A hint, not a listing: the caller lists to learn what changed, and keeps polling, because a
  // hint can be lost (kernel queue overflow, watch limit). nullptr: no notifications (S3, memory).
  virtual std::unique_ptr<ChangeWatch> WatchChanges(std::function<void()> on_change) {
    (void)on_change;
    return nullptr;
  }
};

// Opens a store by URL. kInvalidArgument for an unknown scheme or malformed URL.
Result<std::unique_ptr<ObjectStore>> OpenObjectStore(const std::string& url,
                                                     const StoreOptions& options = {});

// kInvalidArgument unless `key` is a safe relative key (see above). Max 1024 bytes.
Status ValidateKey(std::string_view key);

// MIME type from the key's extension (case-insensitive): .m3u8 application/vnd.apple.mpegurl,
// .ts video/mp2t, .m4s video/iso.segment, .mp4 video/mp4, .json application/json, ...;
// application/octet-stream when unknown.
std::string GuessContentType(std::string_view key);

}  // namespace hlsforge::storage
