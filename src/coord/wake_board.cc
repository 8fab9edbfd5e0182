#include "coord/wake_board.h"

#include <algorithm>

namespace hlsforge::coord {

std::chrono::milliseconds ClampWait(std::chrono::milliseconds timeout) {
  return std::clamp(timeout, std::chrono::milliseconds(0), WakeBoard::kMaxWait);
}

void WakeBoard::Notify(const std::string& channel) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_[channel];
  }
  // One condition variable for all channels: waiters re-check their own channel. Channels and
  // waiters are few (a handful of threads), so the spurious checks cost nothing.
  cv_.notify_all();
}

void WakeBoard::NotifyAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++all_generation_;
  }
  cv_.notify_all();
}

bool WakeBoard::Wait(const std::string& channel, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) return false;
  const uint64_t mine = generation_[channel];
  const uint64_t all = all_generation_;
  return cv_.wait_for(lock, ClampWait(timeout), [&] {
    return shutdown_ || generation_[channel] != mine || all_generation_ != all;
  }) && !shutdown_;
}

void WakeBoard::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

}  // namespace hlsforge::coord
