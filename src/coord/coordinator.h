// Coordinator: fast, ephemeral coordination between processes, chosen by URL:
//   local://        in-process (embedded default)
//   redis://host:port[/db]
// The StateStore stays the source of truth: if the coordinator's data is lost (Redis flushed),
// nothing is lost or run twice, only a little slower. All methods are thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"

namespace hlsforge::coord {

class Coordinator {
 public:
  virtual ~Coordinator() = default;

  // Dedup fast path for (object name, ETag): true if newly marked, false if seen before.
  virtual Result<bool> MarkSeen(const std::string& name, const std::string& etag) = 0;

  // A named lock with an owner token and an expiry. True if acquired (or already held by owner,
  // in which case the expiry is extended).
  virtual Result<bool> TryLock(const std::string& name, const std::string& owner,
                               std::chrono::milliseconds ttl) = 0;
  // Releases only if held by owner.
  virtual Status Unlock(const std::string& name, const std::string& owner) = 0;

  // Ephemeral heartbeat copy (JSON) with a TTL, for fast dashboards.
  virtual Status PublishHeartbeat(const std::string& worker_id, const std::string& json,
                                  std::chrono::milliseconds ttl) = 0;

  // Live heartbeat copies published within their TTL: worker id -> JSON. (Additive; the
  // default returns an empty map so that test doubles need not implement it.)
  virtual Result<std::map<std::string, std::string>> Heartbeats() {
    return std::map<std::string, std::string>{};
  }

  // Wake-ups: Notify wakes every waiter on channel. Wait blocks up to timeout; true if woken.
  virtual Status Notify(const std::string& channel) = 0;
  virtual Result<bool> Wait(const std::string& channel, std::chrono::milliseconds timeout) = 0;

  virtual std::string Url() const = 0;
};

Result<std::unique_ptr<Coordinator>> OpenCoordinator(const std::string& url);

// Acquires `name` (retrying until `wait` passes) and releases it on destruction.
class ScopedLock {
 public:
  static Result<ScopedLock> Acquire(Coordinator& c, const std::string& name,
                                    const std::string& owner, std::chrono::milliseconds ttl,
                                    std::chrono::milliseconds wait);
  ScopedLock(ScopedLock&& o) noexcept : c_(o.c_), name_(std::move(o.name_)), owner_(std::move(o.owner_)) { o.c_ = nullptr; }
  ScopedLock(const ScopedLock&) = delete;
  ScopedLock& operator=(const ScopedLock&) = delete;
  ScopedLock& operator=(ScopedLock&&) = delete;
  ~ScopedLock();

 private:
  ScopedLock(Coordinator* c, std::string n, std::string o) : c_(c), name_(std::move(n)), owner_(std::move(o)) {}
  Coordinator* c_;
  std::string name_, owner_;
};

}  // namespace hlsforge::coord
