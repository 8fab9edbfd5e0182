// file:///abs/dir — a folder as a bucket.
//
// Every access walks the key from an fd of the root, one segment at a time, with openat(...,
// O_NOFOLLOW | O_DIRECTORY): a symlink anywhere inside the bucket (planted by a user or a bug)
// is never followed, whatever it points at, and there is no window between "check the path"
// and "use the path" for a swapped-in symlink to exploit. ValidateKey already refuses "..",
// absolute keys and the like, so the walk is defence in depth, not the only guard.
//
// Writes go to ".hf-tmp-<random>" in the target folder, are fsynced and renamed over the key,
// so readers see the old or the new file, never half of one; List hides every dot-name, which
// covers those temp files (keys can never start a segment with '.').
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "common/log.h"
#include "storage/internal.h"
#include "storage/object_store.h"
#include "storage/sigv4.h"

namespace hlsforge::storage {
namespace {
namespace fs = std::filesystem;

constexpr size_t kBufferSize = 1 << 20;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::vector<std::string> SplitKey(std::string_view key) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) {
      parts.emplace_back(key.substr(start));
      return parts;
    }
    parts.emplace_back(key.substr(start, slash - start));
    start = slash + 1;
  }
}

std::string Errno(int e) { return std::strerror(e); }

Status WriteAll(int fd, const char* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      if (e == ENOSPC || e == EDQUOT) return ResourceExhausted("disk full writing " + what);
      return Internal("write " + what + ": " + Errno(e));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Copies all of `in` (from its current offset) to `out`: copy_file_range when the kernel can,
// a 1 MiB buffer otherwise (EXDEV on old kernels, EINVAL/ENOSYS on some file systems).
Status CopyFd(int in, int out, const std::string& what) {
  bool use_cfr = true;
  std::vector<char> buf;
  for (;;) {
    if (use_cfr) {
      ssize_t n = copy_file_range(in, nullptr, out, nullptr, kBufferSize, 0);
      if (n > 0) continue;
      if (n == 0) return Status::Ok();
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
          errno == EBADF) {
        use_cfr = false;
        continue;
      }
      if (errno == ENOSPC || errno == EDQUOT) return ResourceExhausted("disk full writing " + what);
      return Internal("copy " + what + ": " + Errno(errno));
    }
    if (buf.empty()) buf.resize(kBufferSize);
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal("read while copying " + what + ": " + Errno(errno));
    }
    if (n == 0) return Status::Ok();
    RETURN_IF_ERROR(WriteAll(out, buf.data(), static_cast<size_t>(n), what));
  }
}

std::string FileEtag(const struct stat& st) {
  // Cheap identity, no content read: any rewrite goes through rename (new inode) and
  // changes mtime; size catches the rest.
  std::string id = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino) + ":" +
                   std::to_string(st.st_dev);
  return sigv4::HexEncode(sigv4::Sha256(id)).substr(0, 32);
}

ObjectInfo InfoFromStat(const std::string& key, const struct stat& st) {
  ObjectInfo info;
  info.key = key;
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  info.etag = FileEtag(st);
  info.content_type = GuessContentType(key);
  return info;
}

// inotify on the bucket folder and every non-hidden sub-folder, for WatchChanges. One thread
// poll()s the inotify fd and a pipe the destructor writes to. An event only wakes the caller;
// what it names is not trusted (List answers that), so a lost or odd event costs latency, never
// a file. Symlinked folders are not watched, as the store never follows them.
class InotifyWatch final : public ChangeWatch {
 public:
  static std::unique_ptr<ChangeWatch> Start(const fs::path& root, std::function<void()> on_change) {
    std::unique_ptr<InotifyWatch> w(new InotifyWatch(root, std::move(on_change)));
    if (!w->Init()) return nullptr;
    return w;
  }

  ~InotifyWatch() override {
    if (!thread_.joinable()) return;
    char c = 1;
    // The pipe is empty (only this writes it) and O_NONBLOCK, so this cannot block or fail.
    if (write(stop_w_.get(), &c, 1) < 0) HF_LOG_WARN("file store: cannot stop change watch: {}", Errno(errno));
    thread_.join();
  }

 private:
  // IN_CLOSE_WRITE / IN_MOVED_TO: a file is complete (cp closed it, or a temp was renamed in).
  static constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                    IN_DELETE | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
  static constexpr int kMaxDepth = 64;
  static constexpr int kCoalesceMs = 50;

  InotifyWatch(fs::path root, std::function<void()> cb) : root_(std::move(root)), cb_(std::move(cb)) {}

  bool Init() {
    fd_ = UniqueFd(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    int p[2];
    if (!fd_.valid() || pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
      HF_LOG_WARN("file store: no change notifications for {} ({}); polling only", root_.string(), Errno(errno));
      return false;
    }
    stop_r_ = UniqueFd(p[0]);
    stop_w_ = UniqueFd(p[1]);
    if (!AddTree(root_, 0)) return false;
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  // Watches `dir` and its non-hidden, non-symlink sub-folders. False if `dir` itself failed.
  bool AddTree(const fs::path& dir, int depth) {
    int wd = inotify_add_watch(fd_.get(), dir.c_str(), kMask);
    if (wd < 0) {
      if (!warned_) {  // ENOSPC: fs.inotify.max_user_watches; the poll still finds everything
        HF_LOG_WARN("file store: cannot watch {} ({}); that part is found by polling only",
                    dir.string(), Errno(errno));
        warned_ = true;
      }
      return false;
    }
    dirs_[wd] = dir;
    if (depth >= kMaxDepth) return true;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      std::error_code sec;
      if (it->symlink_status(sec).type() == fs::file_type::directory) AddTree(it->path(), depth + 1);
    }
    return true;
  }

  void Run() {
    alignas(inotify_event) char buf[64 * 1024];
    for (;;) {
      pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_r_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        HF_LOG_WARN("file store: change watch stopped: {}", Errno(errno));
        return;
      }
      if (fds[1].revents) return;
      bool changed = false;
      for (;;) {
        ssize_t len = read(fd_.get(), buf, sizeof buf);
        if (len <= 0) break;  // EAGAIN: drained
        for (char* p = buf; p < buf + len;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          if (ev->mask & IN_Q_OVERFLOW) {  // events were dropped: something changed
            changed = true;
            continue;
          }
          if (ev->mask & IN_IGNORED) {  // the folder went away
            dirs_.erase(ev->wd);
            continue;
          }
          const std::string name = ev->len ? std::string(ev->name) : std::string();
          // Hidden and temp names (".x.part", the store's own ".hf-tmp-"): their rename into
          // place arrives as IN_MOVED_TO of the real name.
          if (!name.empty() && name[0] == '.') continue;
          if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
            auto d = dirs_.find(ev->wd);
            if (d != dirs_.end()) AddTree(d->second / name, 0);
            changed = true;  // it may hold files already (mv of a filled folder, mkdir -p && cp)
            continue;
          }
          if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) changed = true;
        }
      }
      if (!changed) continue;
      cb_();
      // Coalesce bursts (cp -r of many files): at most one call per kCoalesceMs, the events
      // queue in the kernel meanwhile.
      pollfd stop{stop_r_.get(), POLLIN, 0};
      if (poll(&stop, 1, kCoalesceMs) > 0) return;
    }
  }

  const fs::path root_;
  const std::function<void()> cb_;
  UniqueFd fd_, stop_r_, stop_w_;
  std::map<int, fs::path> dirs_;  // watch descriptor -> folder; only the thread (or Init) uses it
  bool warned_ = false;
  std::thread thread_;
};

class FileStore final : public ObjectStore {
 public:
  FileStore(fs::path root, std::string url) : root_(std::move(root)), url_(std::move(url)) {}

  Result<ListPage> List(const std::string& prefix, const std::string& token,
                        int max_keys) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, /*allow_empty=*/true));
    if (max_keys < 1) return InvalidArgument("max_keys must be at least 1");
    ASSIGN_OR_RETURN(UniqueFd root, OpenRoot());
    Walker w{prefix, token, static_cast<size_t>(max_keys), {}, false};
    RETURN_IF_ERROR(w.Walk(root.get(), ""));
    ListPage page;
    page.objects = std::move(w.out);
    if (w.more && !page.objects.empty()) page.next_token = page.objects.back().key;
    return page;
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(key));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Internal("stat " + Describe(key) + ": " + Errno(errno));
    return InfoFromStat(key, st);
  }

  Status GetToFile(const std::string& key, const fs::path& dest) override {
    RETURN_IF_ERROR(ValidateKey(key));
    // Open the source first: a missing key must not leave anything at dest.
    ASSIGN_OR_RETURN(UniqueFd src, OpenForRead(key));
    fs::path dir = dest.parent_path().empty() ? fs::path(".") : dest.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::path tmp = dir / (".hf-get-" + internal::RandomHex());
    UniqueFd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) {
      return PermissionDenied("cannot create " + tmp.string() + ": " + Errno(errno));
    }
    Status s = CopyFd(src.get(), out.get(), dest.string());
    out.Reset();
    if (s.ok() && rename(tmp.c_str(), dest.c_str()) != 0) {
      s = Internal("rename to " + dest.string() + ": " + Errno(errno));
    }
    if (!s.ok()) unlink(tmp.c_str());
    return s;
  }

  Result<std::string> GetBytes(const std::string& key, uint64_t max_bytes) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(key));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Internal("stat " + Describe(key) + ": " + Errno(errno));
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
      return ResourceExhausted(Describe(key) + " is " + std::to_string(st.st_size) +
                               " bytes, more than the " + std::to_string(max_bytes) + " allowed");
    }
    std::string data;
    std::vector<char> buf(64 * 1024);
    for (;;) {
      ssize_t n = read(fd.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Internal("read " + Describe(key) + ": " + Errno(errno));
      }
      if (n == 0) break;
      data.append(buf.data(), static_cast<size_t>(n));
      if (data.size() > max_bytes) {  // grew while we read it
        return ResourceExhausted(Describe(key) + " is more than " + std::to_string(max_bytes) +
                                 " bytes");
      }
    }
    return data;
  }

  Status ReadRange(const std::string& key, uint64_t offset, uint64_t length,
                   const std::function<bool(const char*, size_t)>& sink) override {
    RETURN_IF_ERROR(ValidateKey(key));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(key));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Internal("stat " + Describe(key) + ": " + Errno(errno));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size) {
      return InvalidArgument("offset " + std::to_string(offset) + " is past the end of " +
                             Describe(key) + " (" + std::to_string(size) + " bytes)");
    }
    uint64_t end = length == 0 ? size : std::min(size, offset + length);
    std::vector<char> buf(std::min<uint64_t>(kBufferSize, std::max<uint64_t>(end - offset, 1)));
    uint64_t pos = offset;
    while (pos < end) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - pos));
      ssize_t n = pread(fd.get(), buf.data(), want, static_cast<off_t>(pos));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Internal("read " + Describe(key) + ": " + Errno(errno));
      }
      if (n == 0) break;  // truncated under us: deliver what exists
      pos += static_cast<uint64_t>(n);
      if (!sink(buf.data(), static_cast<size_t>(n))) break;
    }
    return Status::Ok();
  }

  Status PutFile(const std::string& key, const fs::path& src, const PutOptions&) override {
    RETURN_IF_ERROR(ValidateKey(key));
    UniqueFd in(open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.valid()) {
      int e = errno;
      if (e == ENOENT) return NotFound("upload source " + src.string() + " does not exist");
      return PermissionDenied("cannot read " + src.string() + ": " + Errno(e));
    }
    struct stat st;
    if (fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return InvalidArgument("upload source " + src.string() + " is not a regular file");
    }
    return WriteAtomic(key, [&](int out) {
      if (lseek(in.get(), 0, SEEK_SET) < 0) return Internal("seek " + src.string());
      return CopyFd(in.get(), out, Describe(key));
    });
  }

  Status PutBytes(const std::string& key, std::string_view data, const PutOptions&) override {
    RETURN_IF_ERROR(ValidateKey(key));
    return WriteAtomic(
        key, [&](int out) { return WriteAll(out, data.data(), data.size(), Describe(key)); });
  }

  Status Delete(const std::string& key) override {
    RETURN_IF_ERROR(ValidateKey(key));
    std::vector<std::string> parts = SplitKey(key);
    ASSIGN_OR_RETURN(UniqueFd root, OpenRoot());
    // chain[i] is the folder holding parts[i].
    std::vector<UniqueFd> chain;
    chain.push_back(std::move(root));
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      int fd = openat(chain.back().get(), parts[i].c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();  // nothing to delete
        if (errno == ELOOP) return SymlinkRefused(key);
        return Internal("open folder of " + Describe(key) + ": " + Errno(errno));
      }
      chain.emplace_back(fd);
    }
    if (unlinkat(chain.back().get(), parts.back().c_str(), 0) != 0) {
      int e = errno;
      if (e == ENOENT || e == EISDIR) return Status::Ok();  // missing (a folder is not a key)
      if (e == EACCES || e == EPERM)
        return PermissionDenied("delete " + Describe(key) + ": " + Errno(e));
      return Internal("delete " + Describe(key) + ": " + Errno(e));
    }
    // Remove folders the delete left empty, up to (not including) the root; the first
    // non-empty one (ENOTEMPTY) stops it. A writer racing into a folder retries its walk.
    for (size_t i = parts.size() - 1; i >= 1; --i) {
      if (unlinkat(chain[i - 1].get(), parts[i - 1].c_str(), AT_REMOVEDIR) != 0) break;
    }
    return Status::Ok();
  }

  Status DeletePrefix(const std::string& prefix) override {
    RETURN_IF_ERROR(internal::ValidatePrefix(prefix, /*allow_empty=*/false));
    std::string token;
    for (;;) {
      ASSIGN_OR_RETURN(ListPage page, List(prefix, token, 1000));
      for (const ObjectInfo& o : page.objects) RETURN_IF_ERROR(Delete(o.key));
      if (page.next_token.empty()) return Status::Ok();
      token = page.next_token;
    }
  }

  std::string Url() const override { return url_; }
  bool ObjectsAreLocalFiles() const override { return true; }
  std::unique_ptr<ChangeWatch> WatchChanges(std::function<void()> on_change) override {
    return InotifyWatch::Start(root_, std::move(on_change));
  }

 private:
  // Collects keys in lexicographic (byte) order. A folder "d" sorts as "d/", which is exactly
  // where all its keys sort among its siblings, so a depth-first walk in that order yields
  // keys in global order; folders wholly before the token or outside the prefix are skipped.
  struct Walker {
    std::string_view prefix, token;
    size_t max;
    std::vector<ObjectInfo> out;
    bool more;

    Status Walk(int dirfd, const std::string& dir_key) {
      int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
      if (dup_fd < 0) return Internal("dup: " + Errno(errno));
      DIR* d = fdopendir(dup_fd);
      if (d == nullptr) {
        close(dup_fd);
        return Internal("opendir: " + Errno(errno));
      }
      struct Entry {
        std::string name, sort_key;
        bool dir;
      };
      std::vector<Entry> entries;
      while (struct dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.empty() || name[0] == '.') continue;  // ".", "..", temp files, hidden files
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
          struct stat st;
          if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
          type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type != DT_DIR && type != DT_REG) continue;  // symlinks, fifos, sockets: never keys
        if (!internal::ValidateSegment(name, "name").ok()) continue;
        bool is_dir = type == DT_DIR;
        entries.push_back({name, is_dir ? name + "/" : name, is_dir});
      }
      closedir(d);
      std::sort(entries.begin(), entries.end(),
                [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
      for (const Entry& e : entries) {
        std::string full = dir_key + e.sort_key;
        if (e.dir) {
          bool in_prefix = full.starts_with(prefix) || prefix.starts_with(full);
          if (!in_prefix) continue;
          if (!token.empty() && full < token && !token.starts_with(full)) continue;
          int sub = openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0) continue;  // removed or replaced meanwhile
          UniqueFd subfd(sub);
          RETURN_IF_ERROR(Walk(subfd.get(), full));
          if (more) return Status::Ok();
          continue;
        }
        if (!full.starts_with(prefix)) continue;
        if (!token.empty() && full <= token) continue;
        if (!ValidateKey(full).ok()) continue;  // e.g. longer than 1024 bytes in total
        struct stat st;
        if (fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
          continue;
        }
        if (out.size() == max) {
          more = true;
          return Status::Ok();
        }
        out.push_back(InfoFromStat(full, st));
      }
      return Status::Ok();
    }
  };

  std::string Describe(const std::string& key) const { return url_ + "/" + key; }

  Status SymlinkRefused(const std::string& key) const {
    return PermissionDenied(Describe(key) + " crosses a symbolic link inside the bucket; " +
                            "refusing to follow it");
  }

  Result<UniqueFd> OpenRoot() const {
    int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == ENOENT) return NotFound("bucket folder " + root_.string() + " does not exist");
      return PermissionDenied("cannot open bucket folder " + root_.string() + ": " + Errno(e));
    }
    return UniqueFd(fd);
  }

  // Opens the folder that holds the key's last segment; `create` makes missing folders.
  Result<UniqueFd> OpenParent(const std::string& key, const std::vector<std::string>& parts,
                              bool create) const {
    ASSIGN_OR_RETURN(UniqueFd cur, OpenRoot());
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (create && mkdirat(cur.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT) return ResourceExhausted("disk full creating folders");
        if (e == ENOTDIR) break;  // reported by the openat below
        return PermissionDenied("cannot create folder for " + Describe(key) + ": " + Errno(e));
      }
      int fd = openat(cur.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        int e = errno;
        if (e == ELOOP) return SymlinkRefused(key);
        if (e == ENOTDIR) {
          // Either a symlink (O_NOFOLLOW|O_DIRECTORY on a link gives ENOTDIR on some kernels)
          // or a file where a folder is needed.
          struct stat st;
          if (fstatat(cur.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              S_ISLNK(st.st_mode)) {
            return SymlinkRefused(key);
          }
          if (create) {
            return FailedPrecondition("cannot store " + Describe(key) + ": '" + parts[i] +
                                      "' is an object, not a folder (the file backend cannot " +
                                      "hold both \"a\" and \"a/b\")");
          }
          return NotFound("no object " + Describe(key));
        }
        if (e == ENOENT) return NotFound("no object " + Describe(key));
        return PermissionDenied("cannot open folder of " + Describe(key) + ": " + Errno(e));
      }
      cur = UniqueFd(fd);
    }
    return cur;
  }

  Result<UniqueFd> OpenForRead(const std::string& key) const {
    std::vector<std::string> parts = SplitKey(key);
    ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(key, parts, false));
    // O_NONBLOCK: a FIFO planted in the bucket must not hang the reader; no effect on files.
    int fd =
        openat(parent.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == ELOOP) return SymlinkRefused(key);
      if (e == ENOENT || e == ENOTDIR) return NotFound("no object " + Describe(key));
      return PermissionDenied("cannot open " + Describe(key) + ": " + Errno(e));
    }
    UniqueFd f(fd);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return NotFound("no object " + Describe(key));
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return f;
  }

  Status WriteAtomic(const std::string& key, const std::function<Status(int)>& fill) {
    std::vector<std::string> parts = SplitKey(key);
    // A concurrent Delete may remove an empty folder between our mkdirat and openat; the
    // walk is simply retried then.
    for (int attempt = 0;; ++attempt) {
      auto parent = OpenParent(key, parts, true);
      if (!parent.ok()) {
        if (parent.status().code() == Code::kNotFound && attempt < 3) continue;
        return parent.status();
      }
      int dirfd = parent->get();
      std::string tmp = ".hf-tmp-" + internal::RandomHex();
      UniqueFd out(
          openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!out.valid()) {
        int e = errno;
        if (e == ENOENT && attempt < 3) continue;
        if (e == ENOSPC || e == EDQUOT)
          return ResourceExhausted("disk full writing " + Describe(key));
        return PermissionDenied("cannot write in the folder of " + Describe(key) + ": " + Errno(e));
      }
      Status s = fill(out.get());
      if (s.ok() && fsync(out.get()) != 0)
        s = Internal("fsync " + Describe(key) + ": " + Errno(errno));
      out.Reset();
      if (s.ok() && renameat(dirfd, tmp.c_str(), dirfd, parts.back().c_str()) != 0) {
        int e = errno;
        if (e == EISDIR || e == ENOTEMPTY || e == EEXIST) {
          s = FailedPrecondition("cannot store " + Describe(key) +
                                 ": a folder of that name exists (keys below it)");
        } else {
          s = Internal("rename into " + Describe(key) + ": " + Errno(e));
        }
      }
      if (!s.ok()) {
        unlinkat(dirfd, tmp.c_str(), 0);
        return s;
      }
      fsync(dirfd);  // make the rename itself durable
      return Status::Ok();
    }
  }

  fs::path root_;
  std::string url_;
};

}  // namespace

namespace internal {

Result<std::unique_ptr<ObjectStore>> OpenFileStore(const fs::path& root, std::string url) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    return PermissionDenied("cannot create bucket folder " + root.string() + ": " + ec.message());
  }
  // The root itself is configuration, so symlinks in it are resolved once here.
  fs::path canon = fs::canonical(root, ec);
  if (ec) return PermissionDenied("cannot resolve " + root.string() + ": " + ec.message());
  if (!fs::is_directory(canon, ec)) {
    return InvalidArgument("bucket folder " + root.string() + " is not a folder");
  }
  (void)url;  // reported in its normalised form instead
  return std::unique_ptr<ObjectStore>(
      std::make_unique<FileStore>(canon, "file://" + sigv4::UriEncode(canon.string(), true)));
}

}  // namespace internal
}  // namespace hlsforge::storage
