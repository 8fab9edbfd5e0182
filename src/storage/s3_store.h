// S3Store: ObjectStore over any S3 API (AWS S3, MinIO, LocalStack, s3rver), with libcurl and
// our own SigV4 signer (sigv4.h). Opened by OpenObjectStore("s3://...") or S3Store::Open when
// the presign helpers are wanted.
//
// URL:  s3://bucket[/prefix][?endpoint=http://127.0.0.1:4566&region=us-east-1&path_style=1]
//   endpoint   http(s)://host[:port], percent-encoded or not; default
//   https://s3.<region>.amazonaws.com region     default StoreOptions.region (us-east-1) path_style
//   1/true: http://host/bucket/key; 0/false: http://bucket.host/key
// Query values override StoreOptions; any other parameter is kInvalidArgument. Credentials come
// from StoreOptions, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; opening
// without any is kInvalidArgument. Opening does no network I/O (List("", "", 1) checks access).
//
// Wire behaviour:
//  - Payload hashing: in-memory bodies (PutBytes, multipart completion, batch delete) carry their
//    SHA-256 in x-amz-content-sha256; streamed file bodies (PutFile, upload parts) are sent as
//    UNSIGNED-PAYLOAD so a video is read once, not twice (S3 accepts this; TLS protects https).
//  - PutFile above StoreOptions.multipart_threshold uses multipart upload (parts of
//    multipart_part_size, at least 5 MiB, at most 10,000 parts), aborted on failure.
//  - DeletePrefix lists and deletes in batches of 1000 (POST ?delete with Content-MD5), falling
//    back to one DELETE per key if the server does not implement batch delete.
//  - Retries: 5xx, 429, 400 RequestTimeout and connection errors, up to max_retries more times,
//    with exponential backoff (100 ms doubling, capped at 5 s) and jitter, honouring
//    Retry-After. Errors: 403 -> kPermissionDenied, 404 -> kNotFound, each with S3's Code and
//    Message (InvalidAccessKeyId, NoSuchBucket, NoSuchKey...); unreachable -> kUnavailable
//    "cannot reach <endpoint>: <reason>".
// Thread-safe: every call uses its own curl handle (from a small pool of idle ones).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "storage/object_store.h"

namespace hlsforge::storage {

struct PresignOptions {
  // Non-empty: signed too, so the uploader must send exactly this Content-Type.
  std::string content_type;
  // Signing time; default now (tests pin it).
  std::optional<std::chrono::system_clock::time_point> now;
};

class S3Store : public ObjectStore {
 public:
  static Result<std::unique_ptr<S3Store>> Open(const std::string& url,
                                               const StoreOptions& options = {});

  // A query-string-signed (presigned) URL for `method` ("GET", "PUT", "HEAD", "DELETE") on
  // `key`, valid for expires_s seconds (1..604800), payload UNSIGNED-PAYLOAD. No network I/O.
  virtual Result<std::string> Presign(const std::string& method, const std::string& key,
                                      int64_t expires_s, const PresignOptions& options = {}) = 0;
  Result<std::string> PresignPut(const std::string& key, int64_t expires_s,
                                 const PresignOptions& options = {}) {
    return Presign("PUT", key, expires_s, options);
  }
};

}  // namespace hlsforge::storage
