#include "coord/local_coordinator.h"

namespace hlsforge::coord {
namespace {

constexpr size_t kMaxKeyPart = 64 << 10;  // names, owners, channels: generous, but bounded

Status CheckPart(const char* what, const std::string& s) {
  if (s.empty()) return InvalidArgument(std::string(what) + " is empty");
  if (s.size() > kMaxKeyPart) {
    return InvalidArgument(std::string(what) + " is " + std::to_string(s.size()) +
                           " bytes; the limit is " + std::to_string(kMaxKeyPart));
  }
  return Status::Ok();
}

Status CheckTtl(std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return InvalidArgument("ttl must be > 0 ms");
  if (ttl > std::chrono::hours(24 * 365)) return InvalidArgument("ttl must be at most a year");
  return Status::Ok();
}

}  // namespace

Status CheckSeenArgs(const std::string& name, const std::string& etag) {
  RETURN_IF_ERROR(CheckPart("object name", name));
  return CheckPart("ETag", etag);
}

Status CheckLockArgs(const std::string& name, const std::string& owner,
                     std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckPart("lock name", name));
  RETURN_IF_ERROR(CheckPart("lock owner", owner));
  return CheckTtl(ttl);
}

Status CheckHeartbeatArgs(const std::string& worker_id, std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckPart("worker id", worker_id));
  return CheckTtl(ttl);
}

Status CheckChannel(const std::string& channel) { return CheckPart("channel", channel); }

Result<bool> LocalCoordinator::MarkSeen(const std::string& name, const std::string& etag) {
  RETURN_IF_ERROR(CheckSeenArgs(name, etag));
  // Length prefix: ("a:b", "c") and ("a", "b:c") must stay different keys.
  std::string key = std::to_string(name.size()) + ":" + name + etag;
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.insert(std::move(key)).second;
}

Result<bool> LocalCoordinator::TryLock(const std::string& name, const std::string& owner,
                                       std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckLockArgs(name, owner, ttl));
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = locks_.find(name);
  if (it != locks_.end() && it->second.owner != owner && it->second.expires > now) return false;
  locks_[name] = Held{owner, now + ttl};
  return true;
}

Status LocalCoordinator::Unlock(const std::string& name, const std::string& owner) {
  RETURN_IF_ERROR(CheckPart("lock name", name));
  RETURN_IF_ERROR(CheckPart("lock owner", owner));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = locks_.find(name);
  if (it != locks_.end() && it->second.owner == owner) locks_.erase(it);
  return Status::Ok();
}

Status LocalCoordinator::PublishHeartbeat(const std::string& worker_id, const std::string& json,
                                          std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckHeartbeatArgs(worker_id, ttl));
  std::lock_guard<std::mutex> lock(mu_);
  beats_[worker_id] = Beat{json, Clock::now() + ttl};
  return Status::Ok();
}

Result<std::map<std::string, std::string>> LocalCoordinator::Heartbeats() {
  const auto now = Clock::now();
  std::map<std::string, std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = beats_.begin(); it != beats_.end();) {
    if (it->second.expires <= now) {
      it = beats_.erase(it);
    } else {
      out.emplace(it->first, it->second.json);
      ++it;
    }
  }
  return out;
}

Status LocalCoordinator::Notify(const std::string& channel) {
  RETURN_IF_ERROR(CheckChannel(channel));
  board_.Notify(channel);
  return Status::Ok();
}

Result<bool> LocalCoordinator::Wait(const std::string& channel, std::chrono::milliseconds timeout) {
  RETURN_IF_ERROR(CheckChannel(channel));
  return board_.Wait(channel, timeout);
}

}  // namespace hlsforge::coord
