#include "pipeline/naming.h"

#include <gtest/gtest.h>

namespace hlsforge::pipeline {
namespace {

TEST(NamingTest, PlainNamesStayThemselves) {
  EXPECT_EQ(MakeSlug("28dbd38f-ddd9-46a0-a4b2-1f2014e7b3e4.mov").value(),
            "28dbd38f-ddd9-46a0-a4b2-1f2014e7b3e4.mov");
  EXPECT_EQ(MakeSlug("clip_1.mp4").value(), "clip_1.mp4");
}

TEST(NamingTest, HostileNamesBecomeOneSafeSegment) {
  for (std::string name : {"../../etc/passwd", "/abs/path.mp4", "a b c.mp4", "vidéo ünï.mov",
                           "..", ".", ".hidden.mp4", "dir/sub/x.mp4", "x\"y<z>.mp4", "%2e%2e/x"}) {
    auto s = MakeSlug(name);
    ASSERT_TRUE(s.ok()) << name;
    EXPECT_EQ(s->find('/'), std::string::npos) << name;
    EXPECT_NE(s->front(), '.') << name;
    EXPECT_EQ(s->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"),
              std::string::npos)
        << name << " -> " << *s;
    EXPECT_NE(*s, "..");
  }
}

TEST(NamingTest, DifferentNamesDifferentSlugs) {
  EXPECT_NE(MakeSlug("a b.mp4").value(), MakeSlug("a_b.mp4").value());
  EXPECT_NE(MakeSlug("a b.mp4").value(), MakeSlug("a  b.mp4").value());
  EXPECT_NE(MakeSlug("x/y.mp4").value(), MakeSlug("x y.mp4").value());
}

TEST(NamingTest, LongNamesAreCut) {
  std::string name(5000, 'a');
  auto s = MakeSlug(name + ".mp4");
  ASSERT_TRUE(s.ok());
  EXPECT_LE(s->size(), 200u);
  EXPECT_NE(MakeSlug(name + "b.mp4").value(), *s);
}

TEST(NamingTest, ControlCharactersRejected) {
  EXPECT_FALSE(MakeSlug("").ok());
  EXPECT_FALSE(MakeSlug(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(MakeSlug("a\nb.mp4").ok());
}

TEST(NamingTest, Candidates) {
  EXPECT_TRUE(IsCandidateObject("a.mp4"));
  EXPECT_TRUE(IsCandidateObject("dir/a.mov"));
  EXPECT_FALSE(IsCandidateObject("dir/"));
  EXPECT_FALSE(IsCandidateObject(".DS_Store"));
  EXPECT_FALSE(IsCandidateObject("a.mp4.part"));
  EXPECT_FALSE(IsCandidateObject("dir/.x.mp4"));
}

}  // namespace
}  // namespace hlsforge::pipeline
