// Internal to src/coord: in-process wake-ups by channel name, shared by the local coordinator
// (Notify calls it directly) and the Redis one (its subscriber thread calls it when a message
// arrives). A Wait is woken only by a Notify that happens after it started: like a condition
// variable, not a semaphore, so a caller polls its real source of work after every wake-up or
// timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>

namespace hlsforge::coord {

class WakeBoard {
 public:
  void Notify(const std::string& channel);
  // Wakes every waiter on every channel (e.g. after missing messages while disconnected).
  void NotifyAll();
  // True if woken, false on timeout or Shutdown(). Thread-safe, blocking.
  bool Wait(const std::string& channel, std::chrono::milliseconds timeout);
  // Releases all waiters now and makes later waits return false at once.
  void Shutdown();

  // Longest single wait: a bigger timeout would overflow the clock arithmetic.
  static constexpr std::chrono::milliseconds kMaxWait = std::chrono::hours(24);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, uint64_t> generation_;  // guarded by mu_
  uint64_t all_generation_ = 0;                           // guarded by mu_
  bool shutdown_ = false;                                 // guarded by mu_
};

// Clamps a caller's timeout into [0, WakeBoard::kMaxWait].
std::chrono::milliseconds ClampWait(std::chrono::milliseconds timeout);

}  // namespace hlsforge::coord
