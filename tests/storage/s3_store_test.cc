// s3:// specifics against the s3rver fixture: clear errors (unknown key, unreachable endpoint,
// missing bucket/key), retries, SigV4 proven on the wire by botocore (through sigv4_proxy.py),
// presigned PUT with curl, and a boto3 cross-check in both directions.
#include "storage/s3_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/subprocess.h"
#include "storage/sigv4.h"
#include "test_support.h"

namespace hlsforge::storage {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::S3Endpoint;
using testing::S3rverOptions;
using testing::SigV4Proxy;
using testing::UniqueTag;

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
    tag_ = "s3test-" + UniqueTag();
  }
  void TearDown() override {
    for (const char* bucket : {"hls", "upload"}) {
      auto s = OpenObjectStore(std::string("s3://") + bucket, S3rverOptions());
      if (s.ok()) {
        EXPECT_TRUE((*s)->DeletePrefix(tag_ + "/").ok());
      }
    }
  }
  std::unique_ptr<ObjectStore> Open(const std::string& url, const StoreOptions& o) {
    auto s = OpenObjectStore(url, o);
    EXPECT_TRUE(s.ok()) << url << ": " << s.status();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  fs::path WriteLocal(const std::string& name, const std::string& data) {
    fs::path p = tmp_->path() / name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  // boto3_client.py with s3rver's credentials; returns stdout or fails the test.
  std::string Boto3(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testing::Python(), testing::TestDir() + "/boto3_client.py",
                                     S3Endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    SubprocessOptions o;
    o.env = {{"AWS_ACCESS_KEY_ID", "S3RVER"}, {"AWS_SECRET_ACCESS_KEY", "S3RVER"}};
    o.timeout = std::chrono::seconds(120);
    auto r = RunSubprocess(argv, o);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    EXPECT_EQ(r->exit_code, 0) << r->err;
    return r->out;
  }

  std::unique_ptr<TempDir> tmp_;
  std::string tag_;
};

TEST_F(S3Test, UnknownAccessKeyIsPermissionDenied) {
  StoreOptions o = S3rverOptions();
  o.access_key_id = "NOSUCHKEY";
  o.secret_access_key = "whatever";
  auto store = Open("s3://hls", o);
  ASSERT_TRUE(store);
  auto list = store->List("", "", 1);
  EXPECT_EQ(list.status().code(), Code::kPermissionDenied) << list.status();
  EXPECT_THAT(list.status().message(), HasSubstr("InvalidAccessKeyId"));
  EXPECT_THAT(list.status().message(), HasSubstr("NOSUCHKEY"));
  Status put = store->PutBytes(tag_ + "/x.ts", "x");
  EXPECT_EQ(put.code(), Code::kPermissionDenied);
  // HEAD has no error body; the store asks again to be able to say why.
  auto head = store->Head(tag_ + "/x.ts");
  EXPECT_EQ(head.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(head.status().message(), HasSubstr("InvalidAccessKeyId"));
}

TEST_F(S3Test, UnreachableEndpointIsUnavailableWithTheReason) {
  StoreOptions o = S3rverOptions();
  o.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  o.max_retries = 2;
  auto store = Open("s3://hls", o);
  ASSERT_TRUE(store);
  auto start = std::chrono::steady_clock::now();
  auto list = store->List("", "", 1);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(list.status().code(), Code::kUnavailable) << list.status();
  EXPECT_THAT(list.status().message(),
              HasSubstr("cannot reach http://127.0.0.1:1: Connection refused"));
  EXPECT_THAT(list.status().message(), HasSubstr("after 3 attempts"));
  EXPECT_TRUE(list.status().retryable());
  // Backoff happened (2 sleeps of >= 50 + 100 ms) but stayed short.
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::seconds(10));
  fs::path dest = tmp_->path() / "never.mp4";
  EXPECT_EQ(store->GetToFile("k.mp4", dest).code(), Code::kUnavailable);
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_TRUE(fs::is_empty(tmp_->path()));
}

TEST_F(S3Test, MissingBucketAndKeyAreNamed) {
  auto nobucket = Open("s3://no-such-bucket-" + UniqueTag(), S3rverOptions());
  ASSERT_TRUE(nobucket);
  auto list = nobucket->List("", "", 1);
  EXPECT_EQ(list.status().code(), Code::kNotFound);
  EXPECT_THAT(list.status().message(), HasSubstr("NoSuchBucket"));
  EXPECT_THAT(nobucket->GetBytes("k").status().message(), HasSubstr("NoSuchBucket"));
  EXPECT_THAT(nobucket->Head("k").status().message(), HasSubstr("NoSuchBucket"));
  EXPECT_EQ(nobucket->PutBytes("k", "v").code(), Code::kNotFound);
  EXPECT_EQ(nobucket->Delete("k").code(), Code::kNotFound);  // a missing *bucket* is an error

  auto store = Open("s3://hls", S3rverOptions());
  ASSERT_TRUE(store);
  auto get = store->GetBytes(tag_ + "/missing.ts");
  EXPECT_EQ(get.status().code(), Code::kNotFound);
  EXPECT_THAT(get.status().message(), HasSubstr("NoSuchKey"));
  auto head = store->Head(tag_ + "/missing.ts");
  EXPECT_EQ(head.status().code(), Code::kNotFound);
  EXPECT_THAT(head.status().message(), HasSubstr("NoSuchKey"));
  EXPECT_TRUE(store->Delete(tag_ + "/missing.ts").ok());
}

TEST_F(S3Test, BadContinuationTokenIsAnError) {
  auto store = Open("s3://hls", S3rverOptions());
  ASSERT_TRUE(store);
  // AWS answers 400 InvalidArgument (-> kInvalidArgument); s3rver fails to decrypt it and
  // answers 500 (-> kUnavailable after retries). Either way: an error, never a silent restart.
  auto page = store->List("", "not-a-real-token", 10);
  EXPECT_FALSE(page.ok());
  EXPECT_THAT(page.status().message(), HasSubstr("LIST s3://hls/"));
}

class S3ProxyTest : public S3Test {
 protected:
  void StartProxy(const std::vector<std::string>& creds = {"S3RVER:S3RVER"}) {
    auto p = SigV4Proxy::Start(creds);
    ASSERT_TRUE(p.ok()) << p.status();
    proxy_ = std::move(p).value();
  }
  StoreOptions ViaProxy() {
    StoreOptions o = S3rverOptions();
    o.endpoint = proxy_->Endpoint();
    return o;
  }
  std::unique_ptr<SigV4Proxy> proxy_;
};

TEST_F(S3ProxyTest, RetriesTransientErrorsThenSucceeds) {
  StartProxy();
  StoreOptions o = ViaProxy();
  o.max_retries = 3;
  auto store = Open("s3://hls/" + tag_, o);
  ASSERT_TRUE(store);
  for (int status : {503, 500, 429}) {
    SCOPED_TRACE(status);
    ASSERT_TRUE(proxy_->Control("fail?status=" + std::to_string(status) + "&count=2").ok());
    int64_t before = proxy_->Stat("requests");
    std::string key = "retry-" + std::to_string(status) + ".ts";
    fs::path src = WriteLocal(key, std::string(100000, 'r'));
    ASSERT_TRUE(store->PutFile(key, src).ok());  // a streamed body, re-sent from the start
    EXPECT_EQ(proxy_->Stat("requests") - before, 3);
    EXPECT_EQ(store->GetBytes(key).value_or("?"), std::string(100000, 'r'));
  }
  // A ranged read resumes after a failure without repeating bytes.
  ASSERT_TRUE(proxy_->Control("fail?status=503&count=1").ok());
  std::string got;
  ASSERT_TRUE(store
                  ->ReadRange("retry-503.ts", 10, 20,
                              [&](const char* p, size_t n) {
                                got.append(p, n);
                                return true;
                              })
                  .ok());
  EXPECT_EQ(got, std::string(20, 'r'));
  EXPECT_EQ(proxy_->Stat("injected"), 7);
  EXPECT_EQ(proxy_->Stat("mismatches"), 0);
}

TEST_F(S3ProxyTest, GivesUpAfterMaxRetries) {
  StartProxy();
  StoreOptions o = ViaProxy();
  o.max_retries = 2;
  auto store = Open("s3://hls/" + tag_, o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(proxy_->Control("fail?status=503&count=100").ok());
  auto r = store->GetBytes("x.ts");
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("503 SlowDown"));
  EXPECT_THAT(r.status().message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(proxy_->Stat("requests"), 3);
  ASSERT_TRUE(proxy_->Control("fail?status=503&count=0").ok());
  // 4xx other than 429 is not retried.
  EXPECT_EQ(store->GetBytes("x.ts").status().code(), Code::kNotFound);
  EXPECT_EQ(proxy_->Stat("requests"), 4);
}

// SigV4 proven on the wire: every request hlsforge sends is re-signed by botocore from what
// arrived (method, raw path, raw query, headers, body) and must match exactly; the proxy
// answers 403 SignatureDoesNotMatch otherwise, so every call below would fail.
TEST_F(S3ProxyTest, EveryRequestMatchesBotocoreSignature) {
  const std::string token = "FwoGZXIvYXdzE+token/with=odd~chars";
  StartProxy({"S3RVER:S3RVER:" + token});
  StoreOptions o = ViaProxy();
  o.session_token = token;
  o.multipart_threshold = 5 << 20;
  o.multipart_part_size = 5 << 20;
  auto store = Open("s3://hls/" + tag_ + "/wire%20prefix+x", o);
  ASSERT_TRUE(store);
  const std::vector<std::string> keys = {
      "with space/a b.ts",  "unicode/vidéo-ключ-\xF0\x9F\x8E\xA5.m3u8",
      "plus/a+b.ts",        "equals/a=b&c=d.ts",
      "tilde/~user/x~y.ts", "percent/100%25.ts",
      "star/a*b(c)'d'!.ts", "query/what?x=1.ts",
  };
  for (const auto& k : keys) {
    ASSERT_TRUE(store->PutBytes(k, "data:" + k, {"", "no-cache"}).ok())
        << k << ": " << proxy_->LastMismatch();
  }
  for (const auto& k : keys) {
    EXPECT_EQ(store->GetBytes(k).value_or("?"), "data:" + k) << k;
    EXPECT_TRUE(store->Head(k).ok()) << k;
    std::string part;
    EXPECT_TRUE(store
                    ->ReadRange(k, 1, 3,
                                [&](const char* p, size_t n) {
                                  part.append(p, n);
                                  return true;
                                })
                    .ok());
    EXPECT_EQ(part, "ata");
  }
  // Paginated listing: continuation tokens and prefixes with special characters in the query.
  std::vector<std::string> listed;
  std::string tok;
  do {
    auto page = store->List("", tok, 3);
    ASSERT_TRUE(page.ok()) << page.status() << " " << proxy_->LastMismatch();
    for (auto& obj : page->objects) listed.push_back(obj.key);
    tok = page->next_token;
  } while (!tok.empty());
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listed, sorted);
  auto plus = store->List("plus/a+", "", 10);
  ASSERT_TRUE(plus.ok());
  ASSERT_EQ(plus->objects.size(), 1u);
  // Streamed single PUT (UNSIGNED-PAYLOAD) and a multipart upload (create, parts, complete).
  fs::path small = WriteLocal("small.ts", std::string(70000, 's'));
  ASSERT_TRUE(store->PutFile("file/small + file.ts", small).ok()) << proxy_->LastMismatch();
  std::string big(11 * 1024 * 1024 + 5, 'm');
  fs::path bigp = WriteLocal("big.mp4", big);
  ASSERT_TRUE(store->PutFile("file/big ü+.mp4", bigp).ok()) << proxy_->LastMismatch();
  EXPECT_EQ(store->Head("file/big ü+.mp4")->size, big.size());
  EXPECT_EQ(proxy_->Stat("parts"), 3);  // 11 MiB in 5 MiB parts
  // Deletes: single, then batch (POST ?delete with Content-MD5 and a hashed body).
  ASSERT_TRUE(store->Delete(keys[0]).ok());
  ASSERT_TRUE(store->DeletePrefix("file/").ok());
  ASSERT_TRUE(store->DeletePrefix("u").ok());
  EXPECT_EQ(store->List("", "", 100)->objects.size(), keys.size() - 2);

  EXPECT_EQ(proxy_->Stat("mismatches"), 0) << proxy_->LastMismatch();
  EXPECT_EQ(proxy_->Stat("verified"), proxy_->Stat("requests"));
  EXPECT_GT(proxy_->Stat("verified"), 40);
  EXPECT_GT(proxy_->Stat("unsigned_payload"), 0);  // streamed file bodies
  EXPECT_GT(proxy_->Stat("signed_payload"), 0);    // bytes bodies: botocore hashed them itself

  // Negative control: the same calls with a wrong secret are caught by the verifier.
  StoreOptions bad = o;
  bad.secret_access_key = "WRONG";
  auto wrong = Open("s3://hls/" + tag_, bad);
  ASSERT_TRUE(wrong);
  Status s = wrong->PutBytes("k.ts", "x");
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("SignatureDoesNotMatch"));
  EXPECT_EQ(proxy_->Stat("mismatches"), 1);
}

TEST_F(S3ProxyTest, PresignedPutWorksWithCurl) {
  StartProxy();
  auto s3 = S3Store::Open("s3://upload/" + tag_, ViaProxy());
  ASSERT_TRUE(s3.ok()) << s3.status();
  S3Store& store = **s3;
  fs::path src = WriteLocal("clip.mov", "presigned upload body");
  PresignOptions po;
  po.content_type = "video/quicktime";
  auto url = store.PresignPut("incoming/my clip+1.mov", 600, po);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_THAT(*url, HasSubstr("X-Amz-Signature="));
  EXPECT_THAT(*url, HasSubstr("X-Amz-SignedHeaders=content-type%3Bhost"));
  auto put = RunSubprocess({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                            src.string(), "-H", "Content-Type: video/quicktime", *url});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->out, "200") << proxy_->LastMismatch();
  EXPECT_EQ(proxy_->Stat("presigned"), 1);
  EXPECT_EQ(proxy_->Stat("mismatches"), 0) << proxy_->LastMismatch();
  EXPECT_EQ(store.GetBytes("incoming/my clip+1.mov").value_or("?"), "presigned upload body");
  EXPECT_EQ(store.Head("incoming/my clip+1.mov")->content_type, "video/quicktime");
  // A presigned URL is bound to its key: using it for another key fails verification.
  std::string other = *url;
  other.replace(other.find("my%20clip"), 9, "evil%20cl");
  auto evil = RunSubprocess({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                             src.string(), "-H", "Content-Type: video/quicktime", other});
  ASSERT_TRUE(evil.ok());
  EXPECT_EQ(evil->out, "403");
  EXPECT_EQ(proxy_->Stat("mismatches"), 1);
  // Straight to s3rver as well (it accepts V4 query auth by key id).
  auto direct = S3Store::Open("s3://upload/" + tag_, S3rverOptions());
  ASSERT_TRUE(direct.ok());
  auto durl = (*direct)->PresignPut("incoming/direct.mov", 60);
  ASSERT_TRUE(durl.ok());
  auto dput = RunSubprocess(
      {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-T", src.string(), *durl});
  ASSERT_TRUE(dput.ok());
  EXPECT_EQ(dput->out, "200");
  EXPECT_EQ((*direct)->GetBytes("incoming/direct.mov").value_or("?"), "presigned upload body");
}

// A third-party client (boto3) reads what hlsforge wrote and writes what hlsforge reads.
TEST_F(S3Test, Boto3CrossCheck) {
  auto hls = Open("s3://hls/" + tag_, S3rverOptions());
  auto upload = Open("s3://upload", S3rverOptions());
  ASSERT_TRUE(hls && upload);

  // boto3 writes -> hlsforge reads.
  std::string video(500000, '\0');
  for (size_t i = 0; i < video.size(); ++i) video[i] = static_cast<char>(i * 31 + 7);
  fs::path vp = WriteLocal("in.mov", video);
  const std::string up_key = tag_ + "/my upload é+1.mov";
  Boto3({"put", "upload", up_key, vp.string(), "video/quicktime"});
  auto head = upload->Head(up_key);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->size, video.size());
  EXPECT_EQ(head->content_type, "video/quicktime");
  auto page = upload->List(tag_ + "/", "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, up_key);
  EXPECT_EQ(page->objects[0].etag, head->etag);
  fs::path down = tmp_->path() / "down.mov";
  ASSERT_TRUE(upload->GetToFile(up_key, down).ok());
  EXPECT_EQ(ReadFile(down).value_or("?"), video);

  // hlsforge writes -> boto3 reads (bytes, streamed file, multipart), with types and caching.
  ASSERT_TRUE(hls->PutBytes("encode/v 1/master.m3u8", "#EXTM3U\n", {"", "no-cache"}).ok());
  fs::path seg = WriteLocal("0.ts", video);
  ASSERT_TRUE(hls->PutFile("encode/v 1/0/0.ts", seg, {"", "max-age=31536000, immutable"}).ok());
  StoreOptions mp = S3rverOptions();
  mp.multipart_threshold = 5 << 20;
  mp.multipart_part_size = 5 << 20;
  auto hls_mp = Open("s3://hls/" + tag_, mp);
  std::string big = std::string(6 << 20, 'b') + video;
  fs::path bigp = WriteLocal("big.mp4", big);
  ASSERT_TRUE(hls_mp->PutFile("encode/v 1/big.mp4", bigp).ok());

  auto get = [&](const std::string& key) {
    return nlohmann::json::parse(Boto3({"get", "hls", tag_ + "/" + key}), nullptr, false);
  };
  auto m = get("encode/v 1/master.m3u8");
  ASSERT_FALSE(m.is_discarded());
  EXPECT_EQ(m["sha256"], sigv4::Sha256Hex("#EXTM3U\n"));
  EXPECT_EQ(m["content_type"], "application/vnd.apple.mpegurl");
  EXPECT_EQ(m["cache_control"], "no-cache");
  auto s = get("encode/v 1/0/0.ts");
  ASSERT_FALSE(s.is_discarded());
  EXPECT_EQ(s["sha256"], sigv4::Sha256Hex(video));
  EXPECT_EQ(s["content_type"], "video/mp2t");
  EXPECT_EQ(s["cache_control"], "max-age=31536000, immutable");
  auto b = get("encode/v 1/big.mp4");
  ASSERT_FALSE(b.is_discarded());
  EXPECT_EQ(b["sha256"], sigv4::Sha256Hex(big));
  EXPECT_EQ(b["content_type"], "video/mp4");
  auto keys = nlohmann::json::parse(Boto3({"list", "hls", tag_ + "/"}), nullptr, false);
  ASSERT_FALSE(keys.is_discarded());
  EXPECT_EQ(keys, nlohmann::json::array({tag_ + "/encode/v 1/0/0.ts", tag_ + "/encode/v 1/big.mp4",
                                         tag_ + "/encode/v 1/master.m3u8"}));
}

TEST_F(S3Test, ManyObjectsPaginateLikeBoto3) {
  auto store = Open("s3://upload/" + tag_, S3rverOptions());
  ASSERT_TRUE(store);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = t; i < 250; i += 4) {
        EXPECT_TRUE(store->PutBytes("v/" + std::to_string(i) + " x+y.mov", "x").ok());
      }
    });
  }
  for (auto& t : ts) t.join();
  std::vector<std::string> ours;
  std::string tok;
  do {
    auto page = store->List("v/", tok, 100);
    ASSERT_TRUE(page.ok()) << page.status();
    for (auto& o : page->objects) ours.push_back(tag_ + "/" + o.key);
    tok = page->next_token;
  } while (!tok.empty());
  auto theirs = nlohmann::json::parse(Boto3({"list", "upload", tag_ + "/v/"}), nullptr, false);
  ASSERT_FALSE(theirs.is_discarded());
  EXPECT_EQ(ours.size(), 250u);
  EXPECT_EQ(nlohmann::json(ours), theirs);
}

}  // namespace
}  // namespace hlsforge::storage
