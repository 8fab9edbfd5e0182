// AWS Signature Version 4 for S3 (header and query-string/presigned forms), with the small
// crypto and encoding helpers it needs (OpenSSL). Pure functions: thread-safe, no I/O.
//
// S3 flavour: the canonical URI is the path as sent on the wire, encoded once (RFC 3986
// unreserved characters kept, '/' kept), never normalised; the canonical query is every
// parameter name and value encoded with '/' encoded too, sorted by name then value.
// Proven against AWS's published S3 examples (sigv4_test.cc) and re-signed by botocore on the
// wire (tests/storage).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hlsforge::storage::sigv4 {

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" = none
};

using Params = std::vector<std::pair<std::string, std::string>>;

std::string HexEncode(std::string_view bytes);
std::string Sha256(std::string_view data);  // raw 32 bytes
std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Md5(std::string_view data);                               // raw 16 bytes
std::string Base64(std::string_view bytes);

// RFC 3986 percent-encoding of every byte except A-Z a-z 0-9 - . _ ~ (and '/' if keep_slash),
// upper-case hex. Never double-encodes: the input is the raw (decoded) string.
std::string UriEncode(std::string_view raw, bool keep_slash);

// "name=value&..." from decoded pairs: both encoded, sorted by encoded name, then value.
// The same string is what the client sends, so what is signed is what is sent.
std::string CanonicalQuery(const Params& query);

// "20130524T000000Z" (UTC).
std::string AmzDate(std::chrono::system_clock::time_point t);

struct Request {
  std::string method;         // "GET"
  std::string canonical_uri;  // encoded path as sent, e.g. "/bucket/a%20b.txt"
  Params query;               // decoded
  Params headers;             // every header to sign, including host; any case
  std::string payload_hash;   // hex SHA-256 of the body, or kUnsignedPayload
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;range;x-amz-content-sha256;x-amz-date"
  std::string signature;       // hex
  std::string authorization;  // "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
};

// Header values are trimmed and inner runs of whitespace collapsed; duplicate names joined
// with ','. The caller must already have put x-amz-date (= amz_date), x-amz-content-sha256
// and, with a session token, x-amz-security-token into request.headers.
Signature Sign(const Request& request, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date);

// Query-string signing (presigned URL) with UNSIGNED-PAYLOAD and only the headers given in
// request.headers (normally just host). Adds X-Amz-Algorithm, -Credential, -Date, -Expires,
// -SignedHeaders (and -Security-Token) to request.query's parameters; returns the full
// encoded query string ending with "&X-Amz-Signature=<hex>".
std::string PresignQuery(const Request& request, const Credentials& credentials,
                         std::string_view region, std::string_view service,
                         std::string_view amz_date, int64_t expires_s);

}  // namespace hlsforge::storage::sigv4
