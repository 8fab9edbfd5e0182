// SigV4 against AWS's published S3 examples ("Examples: Signature Calculations in AWS
// Signature Version 4" for header auth, and the query-string/presigned GET example), all with
// access key AKIAIOSFODNN7EXAMPLE, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, us-east-1,
// 20130524T000000Z, host examplebucket.s3.amazonaws.com. The expected canonical-request hashes
// and signatures are the documented ones, not values produced by this code.
#include "storage/sigv4.h"

#include <gtest/gtest.h>

#include <chrono>

#include "storage/s3_store.h"

namespace hlsforge::storage::sigv4 {
namespace {

const Credentials kCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
constexpr char kDate[] = "20130524T000000Z";
constexpr char kHost[] = "examplebucket.s3.amazonaws.com";

std::string LastLine(const std::string& s) { return s.substr(s.rfind('\n') + 1); }

TEST(SigV4Vectors, GetObjectWithRange) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.payload_hash = std::string(kEmptySha256);
  r.headers = {{"Host", kHost},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", std::string(kEmptySha256)},
               {"x-amz-date", kDate}};
  Signature s = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Vectors, PutObjectWithEncodedKeyAndPayloadHash) {
  const std::string body = "Welcome to Amazon S3.";
  std::string hash = Sha256Hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r;
  r.method = "PUT";
  r.canonical_uri = "/" + UriEncode("test$file.text", true);
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  r.payload_hash = hash;
  r.headers = {{"Host", kHost},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", kDate},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", hash}};
  Signature s = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.signed_headers, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(LastLine(s.string_to_sign),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Vectors, GetBucketLifecycleValuelessParameter) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"lifecycle", ""}};
  r.payload_hash = std::string(kEmptySha256);
  r.headers = {
      {"host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", std::string(kEmptySha256)}};
  Signature s = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.canonical_request.substr(0, 17), "GET\n/\nlifecycle=\n");
  EXPECT_EQ(LastLine(s.string_to_sign),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Vectors, ListObjectsSortsQuery) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // unsorted on purpose
  r.payload_hash = std::string(kEmptySha256);
  r.headers = {
      {"host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", std::string(kEmptySha256)}};
  Signature s = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_NE(s.canonical_request.find("\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Vectors, PresignedGet) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/test.txt";
  r.headers = {{"host", kHost}};
  std::string q = PresignQuery(r, kCreds, "us-east-1", "s3", kDate, 86400);
  EXPECT_EQ(q,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
            "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
            "X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4Vectors, S3StorePresignMatchesPublishedUrl) {
  StoreOptions o;
  o.access_key_id = kCreds.access_key_id;
  o.secret_access_key = kCreds.secret_access_key;
  auto store =
      S3Store::Open("s3://examplebucket?endpoint=https://s3.amazonaws.com&path_style=0", o);
  ASSERT_TRUE(store.ok()) << store.status();
  PresignOptions po;
  po.now = std::chrono::system_clock::from_time_t(1369353600);  // 2013-05-24T00:00:00Z
  auto url = (*store)->Presign("GET", "test.txt", 86400, po);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(*url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
            "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
            "X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&"
            "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  EXPECT_FALSE((*store)->Presign("GET", "test.txt", 0, po).ok());
  EXPECT_FALSE((*store)->Presign("GET", "test.txt", 604801, po).ok());
  EXPECT_FALSE((*store)->Presign("POST", "test.txt", 60, po).ok());
  EXPECT_FALSE((*store)->Presign("GET", "../x", 60, po).ok());
}

TEST(SigV4, UriEncodeIsRfc3986AndSingle) {
  EXPECT_EQ(UriEncode("a b", true), "a%20b");
  EXPECT_EQ(UriEncode("a+b=c", true), "a%2Bb%3Dc");
  EXPECT_EQ(UriEncode("a~b_c-d.e", true), "a~b_c-d.e");
  EXPECT_EQ(UriEncode("dir/file", true), "dir/file");
  EXPECT_EQ(UriEncode("dir/file", false), "dir%2Ffile");
  EXPECT_EQ(UriEncode("100%", true), "100%25");  // a literal '%' is encoded, never passed on
  EXPECT_EQ(UriEncode("%20", true), "%2520");    // raw input: no double-decoding either
  EXPECT_EQ(UriEncode("vidéo", true), "vid%C3%A9o");
  EXPECT_EQ(UriEncode("!'()*", true), "%21%27%28%29%2A");
}

TEST(SigV4, CanonicalQueryEncodesAndSorts) {
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "x y"}, {"a", "+"}, {"c", ""}}),
            "a=%2B&a=x%20y&b=2&c=");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a/b"}, {"list-type", "2"}}), "list-type=2&prefix=a%2Fb");
  EXPECT_EQ(CanonicalQuery({}), "");
}

TEST(SigV4, HeaderValuesTrimmedAndDuplicatesJoined) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.payload_hash = "x";
  r.headers = {{"X-Amz-Meta-A", "  one   two  "}, {"host", "h"}, {"x-amz-meta-a", "three"}};
  Signature s = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:h\nx-amz-meta-a:one two,three\n\nhost;x-amz-meta-a\nx");
}

TEST(SigV4, SessionTokenChangesSignature) {
  Request r;
  r.method = "GET";
  r.canonical_uri = "/k";
  r.payload_hash = std::string(kEmptySha256);
  r.headers = {{"host", "h"}, {"x-amz-date", kDate}};
  Signature without = Sign(r, kCreds, "us-east-1", "s3", kDate);
  r.headers.emplace_back("x-amz-security-token", "TOKEN");
  Signature with = Sign(r, kCreds, "us-east-1", "s3", kDate);
  EXPECT_NE(without.signature, with.signature);
  EXPECT_EQ(with.signed_headers, "host;x-amz-date;x-amz-security-token");
}

TEST(SigV4, HelpersMatchKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Base64(Md5("")), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(Base64("ab"), "YWI=");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(AmzDate(std::chrono::system_clock::from_time_t(1369353600)), "20130524T000000Z");
}

}  // namespace
}  // namespace hlsforge::storage::sigv4
