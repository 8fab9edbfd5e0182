// Key rules, content types and the URL factory (including hostile URLs). Backend behaviour is
// covered by the conformance suite in tests/storage, run against every backend.
#include "storage/object_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fs.h"
#include "storage/internal.h"
#include "storage/s3_store.h"

namespace hlsforge::storage {
namespace {

using ::testing::HasSubstr;

TEST(ValidateKey, AcceptsOrdinaryKeys) {
  for (const std::string& k : std::vector<std::string>{
           "a", "video.mp4", "encode/vid/0/12.ts", "my video (1).mov", "a+b=c~d", "ключ/видео.mp4",
           "emoji-\xF0\x9F\x8E\xA5.mp4", "x.", "a..b", "a/b.c/d", std::string(255, 'x'),
           std::string(254, 'a') + "/" + std::string(255, 'b') + "/" + std::string(255, 'c') + "/" +
               std::string(255, 'd')}) {
    EXPECT_TRUE(ValidateKey(k).ok()) << k << ": " << ValidateKey(k);
  }
  EXPECT_EQ(std::string(254, 'a').size() + 3 * 256, 1022u);
}

TEST(ValidateKey, RejectsHostileKeys) {
  std::vector<std::string> bad = {
      "",
      "/abs",
      "/",
      "../x",
      "a/../../etc/passwd",
      "..",
      ".",
      "a/./b",
      "a/..",
      "a//b",
      "a/",
      ".hidden",
      "dir/.hf-tmp-123",
      "a\\b",
      "..\\x",
      std::string("a\0b", 3),
      "a\nb",
      "a\rb",
      "tab\there",
      "del\x7f",
      "bad-utf8-\xff",
      "overlong-\xC0\xAF",       // overlong '/'
      "surrogate-\xED\xA0\x80",  // U+D800
      "c1-control-\xC2\x85",     // U+0085 NEL
      "truncated-\xE2\x82",
      std::string(2000, 'k'),
      std::string(1025, 'k'),
      std::string(256, 's'),
      "ok/" + std::string(256, 's'),
  };
  for (const std::string& k : bad) {
    Status s = ValidateKey(k);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << "accepted: " << k.substr(0, 40);
  }
  // Messages never echo raw control bytes.
  EXPECT_THAT(ValidateKey("a\nb").message(), HasSubstr("\\x0a"));
}

TEST(ValidatePrefix, RulesForListing) {
  EXPECT_TRUE(internal::ValidatePrefix("", true).ok());
  EXPECT_FALSE(internal::ValidatePrefix("", false).ok());
  for (const char* ok : {"encode/", "encode/vid", "a", "a/b/"}) {
    EXPECT_TRUE(internal::ValidatePrefix(ok, false).ok()) << ok;
  }
  for (const char* bad : {"/", "/a", "../", "a//", "a/../", "..", "a/..", ".x/", "a\\"}) {
    EXPECT_FALSE(internal::ValidatePrefix(bad, true).ok()) << bad;
  }
}

TEST(GuessContentType, KnownExtensions) {
  EXPECT_EQ(GuessContentType("encode/master.m3u8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(GuessContentType("encode/v/0/12.ts"), "video/mp2t");
  EXPECT_EQ(GuessContentType("a/INDEX.M3U8"), "application/vnd.apple.mpegurl");
  EXPECT_EQ(GuessContentType("x.mp4"), "video/mp4");
  EXPECT_EQ(GuessContentType("x.m4s"), "video/iso.segment");
  EXPECT_EQ(GuessContentType("x.json"), "application/json");
  EXPECT_EQ(GuessContentType("x.mov"), "video/quicktime");
  EXPECT_EQ(GuessContentType("noext"), "application/octet-stream");
  EXPECT_EQ(GuessContentType("dir.ts/noext"), "application/octet-stream");
  EXPECT_EQ(GuessContentType("x."), "application/octet-stream");
  EXPECT_EQ(GuessContentType("x.weird"), "application/octet-stream");
}

TEST(OpenObjectStore, RejectsHostileAndMalformedUrls) {
  StoreOptions o;
  o.access_key_id = "AK";
  o.secret_access_key = "SK";
  std::vector<std::string> bad = {
      "",
      "ftp://x",
      "bucket",
      "://x",
      "file://",
      "file://relative/dir",
      "file://host/abs",
      "file:relative",
      "file:///tmp/../etc",
      "file:///tmp/./x",
      "file:///",
      "file:///tmp/x?y=1",
      "file:///tmp/x#frag",
      "file:///tmp/a%00b",
      "file:///tmp/a%zz",
      "file:///tmp/a%2",
      "file:///tmp/a b",
      std::string("file:///tmp/a\0b", 15),
      "file:///tmp/a\nb",
      "memory://",
      "memory://a/b",
      "memory://a b",
      "memory://../x",
      "s3://",
      "s3:///key",
      "s3://ab",     // bucket too short
      "s3://Upper",  // upper case
      "s3://under_score",
      "s3://-dash",
      "s3://a..b",
      "s3://" + std::string(64, 'b'),
      "s3://bucket/../x",
      "s3://bucket/a//b",
      "s3://bucket/.hidden",
      "s3://bucket/%2e%2e/x",
      "s3://bucket?unknown=1",
      "s3://bucket?access_key=AK&secret=SK",
      "s3://bucket?region=us-east-1&region=eu-west-1",
      "s3://bucket?region=US_EAST",
      "s3://bucket?path_style=maybe",
      "s3://bucket?endpoint=ftp://h",
      "s3://bucket?endpoint=http://",
      "s3://bucket?endpoint=http://h:99999",
      "s3://bucket?endpoint=http://h:0",
      "s3://bucket?endpoint=http://h:port",
      "s3://bucket?endpoint=http://user@h",
      "s3://bucket?endpoint=http://h/path",
      "s3://bucket?endpoint=http://h%0a",
      "s3://bucket?endpoint=127.0.0.1:4566",
      "s3://bucket#x",
      "s3://bucket/a b",
  };
  for (const std::string& url : bad) {
    auto r = OpenObjectStore(url, o);
    EXPECT_FALSE(r.ok()) << "opened: " << url;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << url << ": " << r.status();
    }
  }
}

TEST(OpenObjectStore, AcceptsGoodUrls) {
  StoreOptions o;
  o.access_key_id = "AK";
  o.secret_access_key = "SK";
  auto tmp = TempDir::Create();
  ASSERT_TRUE(tmp.ok());
  for (const std::string& url : std::vector<std::string>{
           std::string("s3://bucket"), std::string("s3://my.bucket-1/some/prefix/"),
           std::string("S3://bucket?endpoint=http://127.0.0.1:4566&region=eu-west-1&path_style=0"),
           std::string("s3://bucket?endpoint=http%3A%2F%2F127.0.0.1%3A4566"),
           std::string("s3://bucket?endpoint=https://[::1]:9000/"), std::string("memory://unit"),
           "file://" + (tmp->path() / "bucket").string(),
           "file://" + (tmp->path() / "with%20space").string()}) {
    auto r = OpenObjectStore(url, o);
    EXPECT_TRUE(r.ok()) << url << ": " << r.status();
  }
  EXPECT_TRUE(std::filesystem::is_directory(tmp->path() / "with space"));
  auto f = OpenObjectStore("file://" + (tmp->path() / "with%20space").string());
  ASSERT_TRUE(f.ok());
  EXPECT_THAT((*f)->Url(), HasSubstr("with%20space"));
}

TEST(OpenObjectStore, S3NeedsCredentials) {
  const char* saved_id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* saved_secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  std::string id = saved_id ? saved_id : "", secret = saved_secret ? saved_secret : "";
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  auto r = OpenObjectStore("s3://bucket");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("AWS_ACCESS_KEY_ID"));
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
  EXPECT_TRUE(OpenObjectStore("s3://bucket").ok());
  if (saved_id)
    setenv("AWS_ACCESS_KEY_ID", id.c_str(), 1);
  else
    unsetenv("AWS_ACCESS_KEY_ID");
  if (saved_secret)
    setenv("AWS_SECRET_ACCESS_KEY", secret.c_str(), 1);
  else
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST(OpenObjectStore, S3UrlKeepsNoSecrets) {
  StoreOptions o;
  o.access_key_id = "AKIDSECRETISH";
  o.secret_access_key = "SUPERSECRET";
  auto r = OpenObjectStore("s3://bucket/p?endpoint=http://127.0.0.1:4566", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Url(), "s3://bucket/p?endpoint=http://127.0.0.1:4566");
  EXPECT_THAT((*r)->Url(), ::testing::Not(HasSubstr("SUPERSECRET")));
}

TEST(OpenObjectStore, MemoryStoresAreSharedByName) {
  auto a = OpenObjectStore("memory://shared-by-name");
  auto b = OpenObjectStore("memory://shared-by-name");
  auto c = OpenObjectStore("memory://other-name");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE((*a)->PutBytes("k", "v").ok());
  EXPECT_EQ((*b)->GetBytes("k").value_or("?"), "v");
  EXPECT_EQ((*c)->GetBytes("k").status().code(), Code::kNotFound);
}

TEST(PercentDecode, RejectsBadEscapes) {
  EXPECT_EQ(internal::PercentDecode("a%20b").value_or("?"), "a b");
  EXPECT_FALSE(internal::PercentDecode("%").ok());
  EXPECT_FALSE(internal::PercentDecode("%2").ok());
  EXPECT_FALSE(internal::PercentDecode("%g0").ok());
  EXPECT_FALSE(internal::PercentDecode("%0a").ok());
  EXPECT_FALSE(internal::PercentDecode("%00").ok());
}

}  // namespace
}  // namespace hlsforge::storage
