#include "coord/coordinator.h"

#include <algorithm>
#include <thread>

#include "common/log.h"
#include "coord/local_coordinator.h"
#include "coord/redis_coordinator.h"
#include "coord/wake_board.h"

namespace hlsforge::coord {

Result<std::unique_ptr<Coordinator>> OpenCoordinator(const std::string& url) {
  if (url == "local://") return std::unique_ptr<Coordinator>(std::make_unique<LocalCoordinator>());
  if (url.rfind("redis://", 0) == 0 || url.rfind("rediss://", 0) == 0) {
    ASSIGN_OR_RETURN(auto rc, RedisCoordinator::Open(url));
    return std::unique_ptr<Coordinator>(std::move(rc));
  }
  std::string shown = url;
  if (const size_t at = shown.rfind('@'); at != std::string::npos) shown = "***" + shown.substr(at);
  return InvalidArgument("unsupported coordinator URL '" + shown +
                         "' (expected local:// or redis://host:port[/db])");
}

Result<ScopedLock> ScopedLock::Acquire(Coordinator& c, const std::string& name,
                                       const std::string& owner, std::chrono::milliseconds ttl,
                                       std::chrono::milliseconds wait) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + ClampWait(wait);
  auto backoff = std::chrono::milliseconds(5);
  for (;;) {
    auto got = c.TryLock(name, owner, ttl);
    // A transient coordinator error is retried like a busy lock; anything else is final.
    if (!got.ok() && got.status().code() != Code::kUnavailable) return got.status();
    if (got.ok() && *got) return ScopedLock(&c, name, owner);
    const auto now = Clock::now();
    if (now >= deadline) {
      if (!got.ok()) return got.status().Annotate("lock '" + name + "'");
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      return DeadlineExceeded("lock '" + name + "' is held by another owner; gave up after " +
                              std::to_string(waited.count()) + " ms");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
  }
}

ScopedLock::~ScopedLock() {
  if (!c_) return;
  // If this fails the lock simply expires after its ttl.
  Status s = c_->Unlock(name_, owner_);
  if (!s.ok()) HF_LOG_WARN("coord: releasing lock '{}' failed: {}", name_, s.ToString());
}

}  // namespace hlsforge::coord
