// Status and Result<T>: how every fallible call in hlsforge reports errors.
// Modelled on shaka-packager's Status: a short code enum plus a human message,
// propagated with RETURN_IF_ERROR / ASSIGN_OR_RETURN, never bool + a log line.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <variant>

namespace hlsforge {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed (bad flag, bad name, bad JSON)
  kBadInput,            // the media itself is unusable (not a video, corrupt): never retried
  kNotFound,            // object, row or file does not exist
  kAlreadyExists,       // unique thing exists already
  kPermissionDenied,    // auth failed, unwritable folder, S3 403
  kFailedPrecondition,  // state does not allow the operation (e.g. cancel a ready video)
  kAborted,             // lost a race: lease gone, fencing token stale; do not publish
  kUnavailable,         // transient: network, 5xx, server restarting; worth retrying
  kDeadlineExceeded,    // a time limit passed
  kCancelled,           // stopped on request (Ctrl-C, cancel, shutdown)
  kResourceExhausted,   // too large, disk full, quota
  kInternal,            // a bug or an unexpected failure
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Whether trying the same thing again later may succeed.
  bool retryable() const {
    return code_ == Code::kUnavailable || code_ == Code::kDeadlineExceeded ||
           code_ == Code::kInternal || code_ == Code::kResourceExhausted;
  }
  // "NOT_FOUND: no such object" (or "OK").
  std::string ToString() const;
  // Adds context in front of the message: "download: " + message.
  Status Annotate(const std::string& context) const;

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status BadInput(std::string m) { return {Code::kBadInput, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status Aborted(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(implicit)
    if (std::get<Status>(v_).ok()) v_ = Status(Code::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value, so `for (auto& x : F().value())` does not dangle.
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T value_or(T other) const { return ok() ? value() : std::move(other); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hlsforge

#define HF_CONCAT_INNER(a, b) a##b
#define HF_CONCAT(a, b) HF_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::hlsforge::Status hf_status_ = (expr);          \
    if (!hf_status_.ok()) return hf_status_;         \
  } while (0)

#define HF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  HF_ASSIGN_OR_RETURN_IMPL(HF_CONCAT(hf_result_, __LINE__), lhs, expr)
