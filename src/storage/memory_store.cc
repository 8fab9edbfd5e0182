// memory://name — an in-process bucket for tests, with S3's semantics (any key may coexist
// with keys below it, content type as put, ETag = MD5 of the content). Stores are shared by
// name within the process so that components opened separately by URL see the same objects.
#include <fstream>
#include <map>
#include <mutex>

#include "common/fs.h"
#include "storage/internal.h"
#include "storage/object_store.h"
#include "storage/sigv4.h"

namespace hlsforge::storage {
namespace {
namespace fs = std::filesystem;

struct Object {
  std::shared_ptr<const std::string> data;  // shared so readers can copy out without the lock
  std::string etag, content_type, cache_control;
  int64_t mtime_ms = 0;
};

struct Bucket {
  std::mutex mu;
  std::map<std::string, Object> objects;  // std::string compares bytes: S3's order
};

class MemoryStore final : public ObjectStore {
 public:
  MemoryStore(std::shared_ptr<Bucket> b, std::string url)
      : b_(std::move(b)), url_(std::move(url)) {}

  Result<ListPage> List(const std::string& prefix, const std::string& token,
                        int max_keys) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, true));
    if (max_keys < 1) return InvalidArgument("max_keys must be at least 1");
    ListPage page;
    std::lock_guard lock(b_->mu);
    auto it = token.empty() ? b_->objects.lower_bound(prefix) : b_->objects.upper_bound(token);
    if (!token.empty() && token < prefix) it = b_->objects.lower_bound(prefix);
    for (; it != b_->objects.end() && it->first.starts_with(prefix); ++it) {
      if (page.objects.size() == static_cast<size_t>(max_keys)) {
        page.next_token = page.objects.back().key;
        break;
      }
      page.objects.push_back(Info(it->first, it->second));
    }
    return page;
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard lock(b_->mu);
    auto it = b_->objects.find(key);
    if (it == b_->objects.end()) return NotFound("no object " + url_ + "/" + key);
    return Info(key, it->second);
  }

  Status GetToFile(const std::string& key, const fs::path& dest) override {
    ASSIGN_OR_RETURN(auto data, Get(key));
    std::error_code ec;
    if (dest.has_parent_path()) fs::create_directories(dest.parent_path(), ec);
    return WriteFileAtomic(dest, *data);
  }

  Result<std::string> GetBytes(const std::string& key, uint64_t max_bytes) override {
    ASSIGN_OR_RETURN(auto data, Get(key));
    if (data->size() > max_bytes) {
      return ResourceExhausted(url_ + "/" + key + " is " + std::to_string(data->size()) +
                               " bytes, more than the " + std::to_string(max_bytes) + " allowed");
    }
    return *data;
  }

  Status ReadRange(const std::string& key, uint64_t offset, uint64_t length,
                   const std::function<bool(const char*, size_t)>& sink) override {
    ASSIGN_OR_RETURN(auto data, Get(key));
    if (offset > data->size()) {
      return InvalidArgument("offset " + std::to_string(offset) + " is past the end of " + url_ +
                             "/" + key + " (" + std::to_string(data->size()) + " bytes)");
    }
    uint64_t end = length == 0 ? data->size() : std::min<uint64_t>(data->size(), offset + length);
    // Deliver in 1 MiB pieces like the other backends, so early stops behave the same.
    for (uint64_t pos = offset; pos < end;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(1 << 20, end - pos));
      if (!sink(data->data() + pos, n)) break;
      pos += n;
    }
    return Status::Ok();
  }

  Status PutFile(const std::string& key, const fs::path& src, const PutOptions& o) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::error_code ec;
    if (!fs::is_regular_file(src, ec)) {
      return NotFound("upload source " + src.string() + " is not a readable file");
    }
    ASSIGN_OR_RETURN(std::string data, ReadFile(src));
    return PutBytes(key, data, o);
  }

  Status PutBytes(const std::string& key, std::string_view data, const PutOptions& o) override {
    RETURN_IF_ERROR(ValidateKey(key));
    Object obj;
    obj.data = std::make_shared<const std::string>(data);
    obj.etag = sigv4::HexEncode(sigv4::Md5(data));
    obj.content_type = o.content_type.empty() ? GuessContentType(key) : o.content_type;
    obj.cache_control = o.cache_control;
    obj.mtime_ms = NowMs();
    std::lock_guard lock(b_->mu);
    b_->objects[key] = std::move(obj);
    return Status::Ok();
  }

  Status Delete(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard lock(b_->mu);
    b_->objects.erase(key);
    return Status::Ok();
  }

  Status DeletePrefix(const std::string& prefix) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, false));
    std::lock_guard lock(b_->mu);
    auto it = b_->objects.lower_bound(prefix);
    while (it != b_->objects.end() && it->first.starts_with(prefix)) it = b_->objects.erase(it);
    return Status::Ok();
  }

  std::string Url() const override { return url_; }

 private:
  static ObjectInfo Info(const std::string& key, const Object& o) {
    ObjectInfo info;
    info.key = key;
    info.etag = o.etag;
    info.size = o.data->size();
    info.mtime_ms = o.mtime_ms;
    info.content_type = o.content_type;
    return info;
  }

  Result<std::shared_ptr<const std::string>> Get(const std::string& key) {
    RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard lock(b_->mu);
    auto it = b_->objects.find(key);
    if (it == b_->objects.end()) return NotFound("no object " + url_ + "/" + key);
    return it->second.data;
  }

  std::shared_ptr<Bucket> b_;
  std::string url_;
};

}  // namespace

namespace internal {

std::unique_ptr<ObjectStore> OpenMemoryStore(const std::string& name, std::string url) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<Bucket>>* buckets =
      new std::map<std::string, std::shared_ptr<Bucket>>();  // never destroyed: no exit races
  std::shared_ptr<Bucket> b;
  {
    std::lock_guard lock(mu);
    auto& slot = (*buckets)[name];
    if (!slot) slot = std::make_shared<Bucket>();
    b = slot;
  }
  return std::make_unique<MemoryStore>(std::move(b), std::move(url));
}

}  // namespace internal
}  // namespace hlsforge::storage
