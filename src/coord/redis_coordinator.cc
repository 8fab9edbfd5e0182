#include "coord/redis_coordinator.h"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <charconv>
#include <random>

#include "common/log.h"
#include "coord/local_coordinator.h"

namespace hlsforge::coord {
namespace {

using std::chrono::milliseconds;

constexpr timeval kConnectTimeout{2, 0};
constexpr timeval kCommandTimeout{5, 0};
// Seen keys expire after 30 days: Redis stays bounded, and the StateStore still dedups forever.
constexpr int64_t kSeenTtlMs = 30ll * 24 * 3600 * 1000;
constexpr milliseconds kSubscribeGrace{1000};

// Returns the stored token, setting ours first if the key is new. Running it twice (a retry
// after a lost reply) returns our own token again, so "newly marked" survives the retry.
constexpr const char* kMarkSeenLua = R"lua(
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
)lua";

// Acquire, or extend when the caller already owns it; atomic check-and-set.
constexpr const char* kTryLockLua = R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua";

// Compare-and-delete: never release someone else's lock (ours may have expired meanwhile).
constexpr const char* kUnlockLua = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua";

constexpr const char* kNotifyLua = R"lua(
redis.call('INCR', KEYS[1])
return redis.call('PUBLISH', ARGV[1], '1')
)lua";

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

std::string Sha256Hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

std::string RandomToken() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  unsigned char b[16];
  for (int i = 0; i < 16; i += 8) {
    const uint64_t v = rng();
    for (int k = 0; k < 8; ++k) b[i + k] = static_cast<unsigned char>(v >> (8 * k));
  }
  return Hex(b, sizeof(b));
}

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

Status MapReplyError(const std::string& where, const std::string& err) {
  const std::string msg = "redis " + where + ": " + err;
  const auto starts = [&](const char* p) { return err.rfind(p, 0) == 0; };
  if (starts("NOAUTH") || starts("WRONGPASS") || starts("NOPERM")) return PermissionDenied(msg);
  if (starts("LOADING") || starts("BUSY") || starts("MASTERDOWN") || starts("TRYAGAIN") ||
      starts("READONLY") || starts("CLUSTERDOWN")) {
    return Unavailable(msg);
  }
  if (starts("OOM")) return ResourceExhausted(msg);
  return Internal(msg);
}

Result<std::string> PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int v = 0;
    if (i + 2 >= s.size() ||
        std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
      return InvalidArgument("bad percent escape in redis URL");
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

Result<int> ParseNumber(const std::string& s, int lo, int hi, const char* what,
                        const std::string& url) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) {
    return InvalidArgument(std::string("redis URL '") + url + "' has a bad " + what + " '" + s +
                           "'");
  }
  return v;
}

}  // namespace

Result<RedisEndpoint> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  // Quoted in messages without any password.
  std::string shown = url;
  if (const size_t at = shown.rfind('@'); at != std::string::npos && shown.find("://") < at) {
    shown = shown.substr(0, shown.find("://") + 3) + "***" + shown.substr(at);
  }
  if (url.rfind("rediss://", 0) == 0) {
    return InvalidArgument("redis over TLS (rediss://) is not supported: '" + shown + "'");
  }
  if (url.rfind(kScheme, 0) != 0) {
    return InvalidArgument("redis URL must look like redis://host:port[/db], got '" + shown + "'");
  }
  const std::string rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string::npos) {
    return InvalidArgument("redis URL '" + shown + "': query parameters are not supported");
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  RedisEndpoint ep;
  if (const size_t at = authority.rfind('@'); at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string::npos) {
      return InvalidArgument("redis URL '" + shown +
                             "': put the password after a colon (redis://:password@host)");
    }
    ASSIGN_OR_RETURN(ep.user, PercentDecode(userinfo.substr(0, colon)));
    ASSIGN_OR_RETURN(ep.password, PercentDecode(userinfo.substr(colon + 1)));
  }
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      return InvalidArgument("redis URL '" + shown + "' has an unclosed '['");
    }
    ep.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return InvalidArgument("redis URL '" + shown + "' has junk after ']'");
      port = after.substr(1);
      if (port.empty()) return InvalidArgument("redis URL '" + shown + "' has an empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    ep.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgument("redis URL '" + shown + "' has an empty port");
    }
  }
  if (ep.host.empty()) return InvalidArgument("redis URL '" + shown + "' has no host");
  for (unsigned char c : ep.host) {
    if (c <= ' ' || c == 0x7f || c == '/' || c == '@') {
      return InvalidArgument("redis URL '" + shown + "' has a bad host name");
    }
  }
  if (!port.empty()) {
    ASSIGN_OR_RETURN(ep.port, ParseNumber(port, 1, 65535, "port", shown));
  }
  if (!path.empty()) {
    ASSIGN_OR_RETURN(ep.db, ParseNumber(path, 0, 1 << 20, "database number", shown));
  }
  const std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  ep.display = "redis://" + host + ":" + std::to_string(ep.port) +
               (ep.db ? "/" + std::to_string(ep.db) : "");
  return ep;
}

struct RedisCoordinator::Conn {
  explicit Conn(redisContext* ctx) : c(ctx) {}
  ~Conn() { redisFree(c); }
  redisContext* c;
};

RedisCoordinator::RedisCoordinator(RedisEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

Result<std::unique_ptr<RedisCoordinator>> RedisCoordinator::Open(const std::string& url) {
  ASSIGN_OR_RETURN(RedisEndpoint ep, ParseRedisUrl(url));
  std::unique_ptr<RedisCoordinator> rc(new RedisCoordinator(std::move(ep)));
  ASSIGN_OR_RETURN(auto conn, rc->Connect(false));
  rc->Release(std::move(conn), false);
  // Subscribe now, so that the first Wait does not race the subscription.
  rc->EnsureSubscriber();
  {
    std::unique_lock<std::mutex> lock(rc->sub_mu_);
    rc->sub_cv_.wait_for(lock, kSubscribeGrace, [&] { return rc->subscribed_; });
  }
  return rc;
}

RedisCoordinator::~RedisCoordinator() {
  {
    std::lock_guard<std::mutex> lock(sub_mu_);
    stopping_ = true;
    // Unblocks the subscriber thread's read; it then sees stopping_ and exits.
    if (sub_fd_ >= 0) ::shutdown(sub_fd_, SHUT_RDWR);
  }
  sub_cv_.notify_all();
  board_.Shutdown();
  if (subscriber_.joinable()) subscriber_.join();
}

Result<std::unique_ptr<RedisCoordinator::Conn>> RedisCoordinator::Connect(bool subscriber) {
  redisContext* c =
      redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, kConnectTimeout);
  if (!c) return Unavailable("cannot reach " + endpoint_.display + ": out of memory");
  auto conn = std::make_unique<Conn>(c);
  if (c->err) return Unavailable("cannot reach " + endpoint_.display + ": " + c->errstr);
  redisEnableKeepAlive(c);
  // The subscriber blocks on reads for as long as no message comes: no read timeout there.
  if (!subscriber) redisSetTimeout(c, kCommandTimeout);
  const auto run = [&](const std::vector<std::string>& argv) -> Status {
    std::vector<const char*> p;
    std::vector<size_t> l;
    for (const auto& a : argv) {
      p.push_back(a.data());
      l.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(p.size()), p.data(), l.data()));
    if (!r) return Unavailable("cannot reach " + endpoint_.display + ": " + c->errstr);
    RedisReply reply = Convert(r);
    freeReplyObject(r);
    if (reply.type == RedisReply::Type::kError) {
      return MapReplyError(endpoint_.display, argv[0] + ": " + reply.str);
    }
    return Status::Ok();
  };
  if (!endpoint_.password.empty()) {
    Status s = endpoint_.user.empty() ? run({"AUTH", endpoint_.password})
                                      : run({"AUTH", endpoint_.user, endpoint_.password});
    if (!s.ok()) {
      return s.code() == Code::kUnavailable ? s : PermissionDenied(s.message());
    }
  }
  if (endpoint_.db != 0) RETURN_IF_ERROR(run({"SELECT", std::to_string(endpoint_.db)}));
  return conn;
}

Result<std::unique_ptr<RedisCoordinator::Conn>> RedisCoordinator::Acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return Connect(false);
}

void RedisCoordinator::Release(std::unique_ptr<Conn> c, bool broken) {
  std::vector<std::unique_ptr<Conn>> drop;
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (broken) {
    // A broken connection usually means a restarted server: the idle ones are dead too.
    drop = std::move(idle_);
    idle_.clear();
    return;  // `c` and `drop` close on the way out
  }
  constexpr size_t kMaxIdle = 8;
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
}

Result<RedisReply> RedisCoordinator::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return InvalidArgument("empty redis command");
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto conn, Acquire());
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(conn->c, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (!raw) {
      const std::string err = conn->c->errstr;
      Release(std::move(conn), true);
      // Every command we send is safe to repeat (see the header): retry once, fresh connection.
      if (attempt == 0) continue;
      return Unavailable("lost connection to " + endpoint_.display + ": " + err);
    }
    RedisReply reply = Convert(raw);
    freeReplyObject(raw);
    Release(std::move(conn), false);
    if (reply.type == RedisReply::Type::kError) {
      return MapReplyError(endpoint_.display, argv[0] + ": " + reply.str);
    }
    return reply;
  }
}

Result<bool> RedisCoordinator::MarkSeen(const std::string& name, const std::string& etag) {
  RETURN_IF_ERROR(CheckSeenArgs(name, etag));
  const std::string key =
      "hlsforge:seen:" + Sha256Hex(std::to_string(name.size()) + ":" + name + etag);
  const std::string token = RandomToken();
  ASSIGN_OR_RETURN(RedisReply r,
                   Command({"EVAL", kMarkSeenLua, "1", key, token, std::to_string(kSeenTtlMs)}));
  return r.type == RedisReply::Type::kString && r.str == token;
}

Result<bool> RedisCoordinator::TryLock(const std::string& name, const std::string& owner,
                                       std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckLockArgs(name, owner, ttl));
  ASSIGN_OR_RETURN(RedisReply r, Command({"EVAL", kTryLockLua, "1", "hlsforge:lock:" + name, owner,
                                          std::to_string(ttl.count())}));
  return r.type == RedisReply::Type::kInteger && r.integer == 1;
}

Status RedisCoordinator::Unlock(const std::string& name, const std::string& owner) {
  RETURN_IF_ERROR(CheckLockArgs(name, owner, milliseconds(1)));
  return Command({"EVAL", kUnlockLua, "1", "hlsforge:lock:" + name, owner}).status();
}

Status RedisCoordinator::PublishHeartbeat(const std::string& worker_id, const std::string& json,
                                          std::chrono::milliseconds ttl) {
  RETURN_IF_ERROR(CheckHeartbeatArgs(worker_id, ttl));
  return Command({"SET", "hlsforge:worker:" + worker_id, json, "PX", std::to_string(ttl.count())})
      .status();
}

Result<std::map<std::string, std::string>> RedisCoordinator::Heartbeats() {
  const std::string prefix = "hlsforge:worker:";
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    ASSIGN_OR_RETURN(RedisReply r,
                     Command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "500"}));
    if (r.type != RedisReply::Type::kArray || r.elements.size() != 2) {
      return Internal("redis " + endpoint_.display + ": unexpected SCAN reply");
    }
    cursor = r.elements[0].str;
    for (const auto& k : r.elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  std::map<std::string, std::string> out;
  constexpr size_t kBatch = 200;
  for (size_t i = 0; i < keys.size(); i += kBatch) {
    std::vector<std::string> argv = {"MGET"};
    for (size_t k = i; k < std::min(keys.size(), i + kBatch); ++k) argv.push_back(keys[k]);
    ASSIGN_OR_RETURN(RedisReply r, Command(argv));
    for (size_t k = 0; k < r.elements.size() && i + k < keys.size(); ++k) {
      // nil: expired between SCAN and MGET.
      if (r.elements[k].type == RedisReply::Type::kString) {
        out[keys[i + k].substr(prefix.size())] = r.elements[k].str;
      }
    }
  }
  return out;
}

Status RedisCoordinator::Notify(const std::string& channel) {
  RETURN_IF_ERROR(CheckChannel(channel));
  board_.Notify(channel);  // waiters in this process need not wait for the round trip
  const std::string chan = "hlsforge:notify:" + std::to_string(endpoint_.db) + ":" + channel;
  return Command({"EVAL", kNotifyLua, "1", "hlsforge:notify-count:" + channel, chan}).status();
}

Result<bool> RedisCoordinator::Wait(const std::string& channel, std::chrono::milliseconds timeout) {
  RETURN_IF_ERROR(CheckChannel(channel));
  const auto deadline = std::chrono::steady_clock::now() + ClampWait(timeout);
  EnsureSubscriber();
  {
    std::unique_lock<std::mutex> lock(sub_mu_);
    if (!sub_cv_.wait_until(lock, deadline, [&] { return subscribed_ || stopping_; })) {
      // Blocked for the whole timeout, as a wait should: callers may loop on errors.
      return Unavailable("redis " + endpoint_.display +
                         ": no wake-ups while disconnected: " + sub_error_);
    }
    if (stopping_) return false;
  }
  const auto left =
      std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return board_.Wait(channel, std::max(left, milliseconds(0)));
}

void RedisCoordinator::EnsureSubscriber() {
  std::lock_guard<std::mutex> lock(sub_mu_);
  if (subscriber_started_ || stopping_) return;
  subscriber_started_ = true;
  subscriber_ = std::thread([this] { SubscriberLoop(); });
}

void RedisCoordinator::SubscriberLoop() {
  const std::string prefix = "hlsforge:notify:" + std::to_string(endpoint_.db) + ":";
  const std::string pattern = prefix + "*";
  milliseconds backoff(100);
  bool ever_subscribed = false;
  bool reported_down = false;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(sub_mu_);
      if (stopping_) return;
    }
    std::string error;
    auto conn = Connect(true);
    if (conn.ok()) {
      redisContext* c = (*conn)->c;
      const char* argv[] = {"PSUBSCRIBE", pattern.c_str()};
      const size_t lens[] = {10, pattern.size()};
      auto* raw = static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens));
      const bool ok = raw && raw->type == REDIS_REPLY_ARRAY && raw->elements >= 1 &&
                      raw->element[0]->type == REDIS_REPLY_STRING &&
                      std::string(raw->element[0]->str, raw->element[0]->len) == "psubscribe";
      if (raw) freeReplyObject(raw);
      if (ok) {
        {
          std::lock_guard<std::mutex> lock(sub_mu_);
          if (stopping_) return;
          subscribed_ = true;
          sub_fd_ = c->fd;
          sub_error_.clear();
        }
        sub_cv_.notify_all();
        if (ever_subscribed) {
          HF_LOG_INFO("coord: wake-up subscription to {} restored", endpoint_.display);
          board_.NotifyAll();  // we may have missed notifications meanwhile
        }
        ever_subscribed = true;
        reported_down = false;
        backoff = milliseconds(100);
        for (;;) {
          void* m = nullptr;
          if (redisGetReply(c, &m) != REDIS_OK) break;
          auto* msg = static_cast<redisReply*>(m);
          // ["pmessage", pattern, channel, payload]
          if (msg && msg->type == REDIS_REPLY_ARRAY && msg->elements == 4 &&
              msg->element[2]->type == REDIS_REPLY_STRING) {
            std::string chan(msg->element[2]->str, msg->element[2]->len);
            if (chan.rfind(prefix, 0) == 0) board_.Notify(chan.substr(prefix.size()));
          }
          if (msg) freeReplyObject(msg);
        }
        error = c->errstr[0] ? c->errstr : "connection closed";
      } else {
        error = std::string("PSUBSCRIBE failed: ") + (c->errstr[0] ? c->errstr : "bad reply");
      }
      std::lock_guard<std::mutex> lock(sub_mu_);
      subscribed_ = false;
      sub_fd_ = -1;  // before the connection is freed, so the destructor never touches it
      sub_error_ = error;
      if (stopping_) return;
    } else {
      error = conn.status().message();
      std::lock_guard<std::mutex> lock(sub_mu_);
      sub_error_ = error;
    }
    if (!reported_down) {
      HF_LOG_WARN("coord: wake-up subscription to {} lost ({}); reconnecting", endpoint_.display,
                  error);
      reported_down = true;
    }
    std::unique_lock<std::mutex> lock(sub_mu_);
    if (sub_cv_.wait_for(lock, backoff, [&] { return stopping_; })) return;
    backoff = std::min(backoff * 2, milliseconds(2000));
  }
}

}  // namespace hlsforge::coord
