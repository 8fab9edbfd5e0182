// Internal to src/coord: the Coordinator behind "redis://[[user]:password@]host[:port][/db]"
// (hiredis 0.14, blocking API).
//
// Keys (all under "hlsforge:", binary-safe, see README.md):
//   hlsforge:seen:<sha256>         MarkSeen; sha256 of "<len(name)>:<name><etag>"; 30-day TTL
//   hlsforge:lock:<name>           TryLock/Unlock; value = owner, PX = ttl
//   hlsforge:worker:<id>           PublishHeartbeat; value = JSON, PX = ttl
//   hlsforge:notify-count:<chan>   Notify counter (observability)
// Pub/sub channel hlsforge:notify:<chan> carries wake-ups.
//
// Commands go through a small pool of connections (one per concurrent caller, reused). Every
// command is written so that running it twice has the same effect as once (check-and-set in
// Lua, per-call tokens), so a command whose connection broke is retried once on a fresh
// connection; if that fails too the caller gets kUnavailable naming the server.
//
// Wait uses one dedicated subscriber connection per instance (PSUBSCRIBE hlsforge:notify:*) and a
// background thread that turns messages into in-process wake-ups; waiters block on a condition
// variable, not on Redis. The thread reconnects with backoff, and after a reconnect wakes every
// waiter once (notifications may have been missed while it was away).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "coord/coordinator.h"
#include "coord/wake_board.h"

struct redisContext;

namespace hlsforge::coord {

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;
  std::string password;
  std::string display;  // redis://host:port[/db], never with the password
};

// Parses redis://[[user]:password@]host[:port][/db]; kInvalidArgument with the reason otherwise.
Result<RedisEndpoint> ParseRedisUrl(const std::string& url);

// A parsed reply, so that no hiredis memory outlives the call.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;
  std::vector<RedisReply> elements;
};

class RedisCoordinator : public Coordinator {
 public:
  // Connects once (kUnavailable "cannot reach redis://...: <reason>" if it cannot).
  static Result<std::unique_ptr<RedisCoordinator>> Open(const std::string& url);
  ~RedisCoordinator() override;

  Result<bool> MarkSeen(const std::string& name, const std::string& etag) override;
  Result<bool> TryLock(const std::string& name, const std::string& owner,
                       std::chrono::milliseconds ttl) override;
  Status Unlock(const std::string& name, const std::string& owner) override;
  Status PublishHeartbeat(const std::string& worker_id, const std::string& json,
                          std::chrono::milliseconds ttl) override;
  Result<std::map<std::string, std::string>> Heartbeats() override;
  Status Notify(const std::string& channel) override;
  Result<bool> Wait(const std::string& channel, std::chrono::milliseconds timeout) override;
  std::string Url() const override { return endpoint_.display; }

  // Runs one command (argv, binary-safe) with the retry policy above. For tests and tools.
  Result<RedisReply> Command(const std::vector<std::string>& argv);

 private:
  struct Conn;
  explicit RedisCoordinator(RedisEndpoint endpoint);
  Result<std::unique_ptr<Conn>> Connect(bool subscriber);
  Result<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> c, bool broken);
  void EnsureSubscriber();
  void SubscriberLoop();

  const RedisEndpoint endpoint_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Conn>> idle_;  // guarded by pool_mu_

  WakeBoard board_;
  std::mutex sub_mu_;
  std::condition_variable sub_cv_;
  std::thread subscriber_;           // started by the first Wait
  bool subscriber_started_ = false;  // guarded by sub_mu_
  bool subscribed_ = false;          // guarded by sub_mu_
  bool stopping_ = false;            // guarded by sub_mu_
  int sub_fd_ = -1;                  // guarded by sub_mu_: socket to shut down on stop
  std::string sub_error_;            // guarded by sub_mu_: why it is not subscribed
};

}  // namespace hlsforge::coord
