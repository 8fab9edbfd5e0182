// file:// specifics the conformance suite cannot express: symlinks planted inside the bucket,
// temp and hidden files, FIFOs, folder/object clashes, where files land on disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "common/fs.h"
#include "storage/object_store.h"

namespace hlsforge::storage {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_ = std::make_unique<TempDir>(std::move(t).value());
    root_ = tmp_->path() / "bucket";
    outside_ = tmp_->path() / "outside";
    fs::create_directories(outside_);
    WriteText(outside_ / "secret.txt", "TOP SECRET");
    auto s = OpenObjectStore("file://" + root_.string());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(s).value();
  }
  static void WriteText(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  static std::string ReadText(const fs::path& p) { return ReadFile(p).value_or("<missing>"); }
  std::vector<std::string> Keys(const std::string& prefix = "") {
    std::vector<std::string> keys;
    std::string token;
    do {
      auto page = store_->List(prefix, token, 1000);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (auto& o : page->objects) keys.push_back(o.key);
      token = page->next_token;
    } while (!token.empty());
    return keys;
  }

  std::unique_ptr<TempDir> tmp_;
  fs::path root_, outside_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(FileStoreTest, KeysMapUnderTheRoot) {
  ASSERT_TRUE(store_->PutBytes("encode/v1/0/1.ts", "seg").ok());
  EXPECT_EQ(ReadText(root_ / "encode/v1/0/1.ts"), "seg");
  ASSERT_TRUE(store_->Delete("encode/v1/0/1.ts").ok());
  // Folders emptied by the delete are gone, the root stays.
  EXPECT_FALSE(fs::exists(root_ / "encode"));
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(FileStoreTest, SymlinkedFolderInsideBucketIsNeverFollowed) {
  fs::create_symlink(outside_, root_ / "escape");
  EXPECT_EQ(store_->GetBytes("escape/secret.txt").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(store_->Head("escape/secret.txt").status().code(), Code::kPermissionDenied);
  Status put = store_->PutBytes("escape/planted.txt", "x");
  EXPECT_EQ(put.code(), Code::kPermissionDenied) << put;
  EXPECT_FALSE(fs::exists(outside_ / "planted.txt"));
  EXPECT_TRUE(store_->Delete("escape/secret.txt").ok() ||
              store_->Delete("escape/secret.txt").code() == Code::kPermissionDenied);
  EXPECT_EQ(ReadText(outside_ / "secret.txt"), "TOP SECRET");
  EXPECT_TRUE(store_->DeletePrefix("escape/").ok());
  EXPECT_EQ(ReadText(outside_ / "secret.txt"), "TOP SECRET");
  EXPECT_THAT(Keys(), ::testing::IsEmpty());  // symlinks are not listed either
  auto tmp_dest = tmp_->path() / "dl.txt";
  EXPECT_FALSE(store_->GetToFile("escape/secret.txt", tmp_dest).ok());
  EXPECT_FALSE(fs::exists(tmp_dest));
}

TEST_F(FileStoreTest, SymlinkedObjectIsNeverFollowed) {
  fs::create_symlink(outside_ / "secret.txt", root_ / "link.txt");
  EXPECT_EQ(store_->GetBytes("link.txt").status().code(), Code::kPermissionDenied);
  std::string got;
  Status rr = store_->ReadRange("link.txt", 0, 0, [&](const char* p, size_t n) {
    got.append(p, n);
    return true;
  });
  EXPECT_FALSE(rr.ok());
  EXPECT_EQ(got, "");
  EXPECT_THAT(Keys(), ::testing::IsEmpty());
  // Overwriting the key replaces the link itself, never writes through it.
  ASSERT_TRUE(store_->PutBytes("link.txt", "mine").ok());
  EXPECT_EQ(ReadText(outside_ / "secret.txt"), "TOP SECRET");
  EXPECT_FALSE(fs::is_symlink(root_ / "link.txt"));
  EXPECT_EQ(store_->GetBytes("link.txt").value_or("?"), "mine");
  // Deleting a link removes the link only.
  fs::remove(root_ / "link.txt");
  fs::create_symlink(outside_ / "secret.txt", root_ / "link.txt");
  ASSERT_TRUE(store_->Delete("link.txt").ok());
  EXPECT_EQ(ReadText(outside_ / "secret.txt"), "TOP SECRET");
}

TEST_F(FileStoreTest, HostileKeysWriteNothingAnywhere) {
  fs::create_directories(root_ / "a");
  for (const std::string& k :
       std::vector<std::string>{"../x", "/abs", "a/../../etc/passwd", "a/../../outside/secret.txt",
                                std::string("nul\0byte", 8), std::string(2000, 'k'), "..\\x"}) {
    EXPECT_EQ(store_->PutBytes(k, "evil").code(), Code::kInvalidArgument) << k.substr(0, 30);
    EXPECT_EQ(store_->GetBytes(k).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(store_->Delete(k).code(), Code::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(tmp_->path() / "x"));
  EXPECT_EQ(ReadText(outside_ / "secret.txt"), "TOP SECRET");
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(tmp_->path()); it != fs::end(it); ++it) ++n;
  EXPECT_EQ(n, 4u);  // bucket, bucket/a, outside, outside/secret.txt
}

TEST_F(FileStoreTest, TempAndHiddenFilesAreNotListed) {
  ASSERT_TRUE(store_->PutBytes("dir/real.ts", "r").ok());
  WriteText(root_ / "dir" / ".hf-tmp-0123456789abcdef", "half-written");
  WriteText(root_ / ".DS_Store", "junk");
  fs::create_directories(root_ / ".git");
  WriteText(root_ / ".git" / "config", "junk");
  mkfifo((root_ / "dir" / "fifo").c_str(), 0644);
  EXPECT_THAT(Keys(), ::testing::ElementsAre("dir/real.ts"));
  // A FIFO is not an object and must not block a reader.
  EXPECT_EQ(store_->GetBytes("dir/fifo").status().code(), Code::kNotFound);
}

TEST_F(FileStoreTest, ObjectAndFolderOfTheSameNameClash) {
  ASSERT_TRUE(store_->PutBytes("a", "file").ok());
  Status s = store_->PutBytes("a/b", "below");
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("is an object"));
  ASSERT_TRUE(store_->PutBytes("d/e", "x").ok());
  EXPECT_EQ(store_->PutBytes("d", "x").code(), Code::kFailedPrecondition);
  EXPECT_EQ(store_->Head("d").status().code(), Code::kNotFound);  // a folder is not an object
  EXPECT_TRUE(store_->Delete("d").ok());
  EXPECT_EQ(store_->GetBytes("d/e").value_or("?"), "x");
}

TEST_F(FileStoreTest, EtagChangesOnRewriteAndFailedPutLeavesNoTemp) {
  ASSERT_TRUE(store_->PutBytes("k.json", "{}").ok());
  auto h1 = store_->Head("k.json");
  ASSERT_TRUE(store_->PutBytes("k.json", "{}").ok());  // same bytes, new file
  auto h2 = store_->Head("k.json");
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_NE(h1->etag, h2->etag);
  EXPECT_EQ(h1->etag.size(), 32u);
  EXPECT_EQ(store_->PutFile("k2", tmp_->path() / "does-not-exist").code(), Code::kNotFound);
  EXPECT_EQ(store_->PutFile("k2", tmp_->path()).code(), Code::kInvalidArgument);  // a folder
  for (auto& e : fs::recursive_directory_iterator(root_)) {
    EXPECT_EQ(e.path().filename().string().find(".hf-tmp-"), std::string::npos) << e.path();
  }
}

TEST_F(FileStoreTest, RemovedBucketFolderIsAClearError) {
  fs::remove_all(root_);
  auto page = store_->List("", "", 10);
  EXPECT_EQ(page.status().code(), Code::kNotFound);
  EXPECT_THAT(page.status().message(), HasSubstr("does not exist"));
  EXPECT_EQ(store_->PutBytes("x", "y").code(), Code::kNotFound);
  // Bucket root replaced by a file: not a folder.
  WriteText(root_, "not a folder");
  EXPECT_FALSE(store_->PutBytes("x", "y").ok());
  EXPECT_FALSE(OpenObjectStore("file://" + root_.string()).ok());
}

// WatchChanges: a completed write anywhere in the bucket (also in a folder made after the watch
// started) wakes the caller; hidden and temp files alone do not; after the watch is destroyed,
// nothing calls back.
class ChangeCounter {
 public:
  std::function<void()> Callback() {
    return [this] { n_++; };
  }
  int count() const { return n_; }
  // True once the count has grown past `before` within `seconds`.
  bool GrowsPast(int before, double seconds) const {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (n_ > before) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return n_ > before;
  }

 private:
  std::atomic<int> n_{0};
};

TEST_F(FileStoreTest, WatchChangesWakesOnCompletedFilesAnywhereInTheBucket) {
  ChangeCounter c;
  auto watch = store_->WatchChanges(c.Callback());
  ASSERT_NE(watch, nullptr);
  // A user's plain write (cp): one wake-up when the file is closed.
  int before = c.count();
  WriteText(root_ / "clip.mp4", "data");
  EXPECT_TRUE(c.GrowsPast(before, 5));
  // The store's own put (temp file + rename).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  before = c.count();
  ASSERT_TRUE(store_->PutBytes("put.mp4", "x").ok());
  EXPECT_TRUE(c.GrowsPast(before, 5));
  // A folder made after the watch started, and a file written into it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  fs::create_directories(root_ / "new" / "deeper");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the watch adds the folders
  before = c.count();
  WriteText(root_ / "new" / "deeper" / "late.mov", "data");
  EXPECT_TRUE(c.GrowsPast(before, 5));
  // Removal.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  before = c.count();
  fs::remove(root_ / "clip.mp4");
  EXPECT_TRUE(c.GrowsPast(before, 5));
  // A hidden file (an upload in progress, ".x.part") is no news.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  before = c.count();
  WriteText(root_ / ".upload.part", "partial");
  EXPECT_FALSE(c.GrowsPast(before, 0.5));
  // Destroyed: no more calls.
  watch.reset();
  before = c.count();
  WriteText(root_ / "after.mp4", "data");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(c.count(), before);
}

TEST_F(FileStoreTest, WatchChangesNeverFollowsASymlinkedFolder) {
  fs::create_directory_symlink(outside_, root_ / "link");
  ChangeCounter c;
  auto watch = store_->WatchChanges(c.Callback());
  ASSERT_NE(watch, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int before = c.count();
  WriteText(outside_ / "elsewhere.mp4", "data");  // outside the bucket, reached only via the link
  EXPECT_FALSE(c.GrowsPast(before, 0.5));
}

TEST(ObjectStoreWatch, MemoryStoreHasNoNotifications) {
  auto s = OpenObjectStore("memory://watch-test");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->WatchChanges([] {}), nullptr);
}

}  // namespace
}  // namespace hlsforge::storage
