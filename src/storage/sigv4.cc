#include "storage/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace hlsforge::storage::sigv4 {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// SigV4 "Trimall": strip leading/trailing whitespace, collapse inner runs to one space.
// (botocore does the same with ' '.join(value.split()).)
std::string TrimAll(std::string_view v) {
  std::string out;
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string Scope(std::string_view amz_date, std::string_view region, std::string_view service) {
  std::string s(amz_date.substr(0, 8));
  s.append("/").append(region).append("/").append(service).append("/aws4_request");
  return s;
}

std::string SigningKey(std::string_view secret, std::string_view amz_date, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256(std::string("AWS4").append(secret), amz_date.substr(0, 8));
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

// Canonical headers block (each "name:value\n") and the signed-header list.
std::pair<std::string, std::string> CanonicalHeaders(const Params& headers) {
  std::vector<std::pair<std::string, std::string>> h;
  h.reserve(headers.size());
  for (const auto& [name, value] : headers) h.emplace_back(Lower(TrimAll(name)), TrimAll(value));
  std::stable_sort(h.begin(), h.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string block, names;
  for (size_t i = 0; i < h.size(); ++i) {
    if (i > 0 && h[i].first == h[i - 1].first) {
      // Repeated header: values joined with ',' on the existing line.
      block.pop_back();
      block.append(",").append(h[i].second).append("\n");
      continue;
    }
    block.append(h[i].first).append(":").append(h[i].second).append("\n");
    if (!names.empty()) names.push_back(';');
    names.append(h[i].first);
  }
  return {block, names};
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Md5(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string UriEncode(std::string_view raw, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size() * 3);
  for (unsigned char c : raw) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string CanonicalQuery(const Params& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature Sign(const Request& request, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date) {
  Signature s;
  auto [header_block, signed_headers] = CanonicalHeaders(request.headers);
  s.signed_headers = signed_headers;
  s.canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                        CanonicalQuery(request.query) + "\n" + header_block + "\n" +
                        signed_headers + "\n" + request.payload_hash;
  std::string scope = Scope(amz_date, region, service);
  s.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                     Sha256Hex(s.canonical_request);
  s.signature = HexEncode(HmacSha256(
      SigningKey(credentials.secret_access_key, amz_date, region, service), s.string_to_sign));
  // ", " between the parts, as botocore and the AWS CLI send it (AWS accepts both forms).
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                    ", SignedHeaders=" + signed_headers + ", Signature=" + s.signature;
  return s;
}

std::string PresignQuery(const Request& request, const Credentials& credentials,
                         std::string_view region, std::string_view service,
                         std::string_view amz_date, int64_t expires_s) {
  Request r = request;
  r.payload_hash = std::string(kUnsignedPayload);
  auto [block, signed_headers] = CanonicalHeaders(r.headers);
  (void)block;
  r.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  r.query.emplace_back("X-Amz-Credential",
                       credentials.access_key_id + "/" + Scope(amz_date, region, service));
  r.query.emplace_back("X-Amz-Date", std::string(amz_date));
  r.query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  r.query.emplace_back("X-Amz-SignedHeaders", signed_headers);
  if (!credentials.session_token.empty()) {
    r.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  Signature s = Sign(r, credentials, region, service, amz_date);
  return CanonicalQuery(r.query) + "&X-Amz-Signature=" + s.signature;
}

}  // namespace hlsforge::storage::sigv4
