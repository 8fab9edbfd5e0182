// Internal to src/coord: the in-process Coordinator behind "local://". Everything lives in
// maps guarded by one mutex; lock expiry uses the steady clock. Each instance is its own world:
// share one instance between the threads of a process (hlsforge serve does).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

#include "coord/coordinator.h"
#include "coord/wake_board.h"

namespace hlsforge::coord {

class LocalCoordinator : public Coordinator {
 public:
  using Clock = std::chrono::steady_clock;

  Result<bool> MarkSeen(const std::string& name, const std::string& etag) override;
  Result<bool> TryLock(const std::string& name, const std::string& owner,
                       std::chrono::milliseconds ttl) override;
  Status Unlock(const std::string& name, const std::string& owner) override;
  Status PublishHeartbeat(const std::string& worker_id, const std::string& json,
                          std::chrono::milliseconds ttl) override;
  Result<std::map<std::string, std::string>> Heartbeats() override;
  Status Notify(const std::string& channel) override;
  Result<bool> Wait(const std::string& channel, std::chrono::milliseconds timeout) override;
  std::string Url() const override { return "local://"; }

 private:
  struct Held {
    std::string owner;
    Clock::time_point expires;
  };
  struct Beat {
    std::string json;
    Clock::time_point expires;
  };
  std::mutex mu_;
  std::unordered_set<std::string> seen_;  // guarded by mu_
  std::map<std::string, Held> locks_;     // guarded by mu_
  std::map<std::string, Beat> beats_;     // guarded by mu_
  WakeBoard board_;
};

// Argument checks shared by both coordinators, so that they accept exactly the same inputs.
Status CheckSeenArgs(const std::string& name, const std::string& etag);
Status CheckLockArgs(const std::string& name, const std::string& owner,
                     std::chrono::milliseconds ttl);
Status CheckHeartbeatArgs(const std::string& worker_id, std::chrono::milliseconds ttl);
Status CheckChannel(const std::string& channel);

}  // namespace hlsforge::coord
