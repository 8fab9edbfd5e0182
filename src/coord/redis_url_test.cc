// Redis URLs and unreachable servers: no server needed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "coord/coordinator.h"
#include "coord/redis_coordinator.h"

namespace hlsforge::coord {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedisUrlTest, Parses) {
  auto a = ParseRedisUrl("redis://127.0.0.1:6390");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6390);
  EXPECT_EQ(a->db, 0);
  EXPECT_EQ(a->display, "redis://127.0.0.1:6390");

  auto b = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 6379);

  auto c = ParseRedisUrl("redis://:p%40ss%3Aw@h:1/2");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->password, "p@ss:w");
  EXPECT_EQ(c->user, "");
  EXPECT_EQ(c->db, 2);
  EXPECT_EQ(c->display, "redis://h:1/2");

  auto d = ParseRedisUrl("redis://app:pw@[::1]:7000/3");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->user, "app");
  EXPECT_EQ(d->password, "pw");
  EXPECT_EQ(d->port, 7000);
  EXPECT_EQ(d->display, "redis://[::1]:7000/3");

  auto e = ParseRedisUrl("redis://h:1/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->db, 0);
}

TEST(RedisUrlTest, RejectsHostileUrls) {
  const std::vector<std::string> bad = {
      "",
      "redis://",
      "redis://:6379",
      "redis://h:notaport",
      "redis://h:0",
      "redis://h:99999",
      "redis://h:-1",
      "redis://h:",
      "redis://h:1/abc",
      "redis://h:1/-1",
      "redis://h:1/99999999999",
      "http://h:1",
      "rediss://h:1",
      "redis://h:1?password=x",
      "redis://h:1#frag",
      "redis://[::1",
      "redis://[::1]x",
      "redis://secretpw@h:1",
      "redis://h o:1",
      "redis://h\n:1",
      "redis://:bad%zzescape@h:1",
      std::string("redis://h\0x:1", 13),
  };
  for (const auto& url : bad) {
    auto r = ParseRedisUrl(url);
    EXPECT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << url << ": " << r.status();
    EXPECT_THAT(r.status().message(), Not(HasSubstr("secretpw")));
    auto c = OpenCoordinator(url);
    EXPECT_FALSE(c.ok()) << url;
    EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << url;
  }
}

TEST(RedisUrlTest, UnreachableServerIsUnavailableWithReason) {
  auto c = OpenCoordinator("redis://127.0.0.1:1");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kUnavailable);
  EXPECT_EQ(c.status().message(), "cannot reach redis://127.0.0.1:1: Connection refused");

  auto pw = OpenCoordinator("redis://:hunter2@127.0.0.1:1/4");
  ASSERT_FALSE(pw.ok());
  EXPECT_EQ(pw.status().code(), Code::kUnavailable);
  EXPECT_THAT(pw.status().message(), HasSubstr("redis://127.0.0.1:1/4"));
  EXPECT_THAT(pw.status().message(), Not(HasSubstr("hunter2")));

  auto dns = OpenCoordinator("redis://nohost.invalid:1");
  ASSERT_FALSE(dns.ok());
  EXPECT_EQ(dns.status().code(), Code::kUnavailable);
  EXPECT_THAT(dns.status().message(), HasSubstr("cannot reach redis://nohost.invalid:1"));
}

}  // namespace
}  // namespace hlsforge::coord
