#include "common/fs.h"

#include <gtest/gtest.h>

namespace hlsforge {
namespace {

TEST(FsTest, TempDirRemovedOnDestruction) {
  std::filesystem::path p;
  {
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    p = t->path();
    ASSERT_TRUE(WriteFileAtomic(p / "x", "hello").ok());
    EXPECT_EQ(ReadFile(p / "x").value(), "hello");
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(FsTest, WriteIntoMissingFolderFails) {
  EXPECT_FALSE(WriteFileAtomic("/nonexistent-hlsforge/x", "y").ok());
  EXPECT_EQ(ReadFile("/nonexistent-hlsforge/x").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace hlsforge
