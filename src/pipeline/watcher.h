// Watcher: polls the upload bucket and records every new (name, ETag) as a queued job.
// The state store decides what is new (durable across restarts); an in-process set of recorded
// (name, ETag) pairs saves a state-store round trip per known object on later polls. The
// coordinator's seen-keys (Redis in the stack) are written after the state store decided, as the
// mission's dedup keys; they are never trusted on their own, so a flushed Redis loses nothing.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "pipeline/services.h"

namespace hlsforge::pipeline {

struct PollStats {
  int listed = 0;   // objects listed
  int queued = 0;   // new jobs created
  int waiting = 0;  // objects not yet stable
  int skipped = 0;  // known or not candidates
  int rejected = 0; // names that cannot be used
  int64_t next_due_ms = 0;  // when the earliest waiting object may be taken (0: none waiting)
};

class Watcher {
 public:
  Watcher(Backends b, const PipelineConfig& config);
  ~Watcher();

  // One poll of the whole bucket (all pages). Thread-compatible: one caller at a time.
  Result<PollStats> PollOnce();

  // Runs PollOnce every poll_interval (or when woken on kUploadsChannel) on a thread. Where the
  // upload bucket notifies changes (a folder: inotify), a completed file wakes it too, so a new
  // file is queued as soon as it has settled rather than up to an interval later.
  void Start();
  void Stop();

 private:
  Backends b_;
  PipelineConfig config_;
  struct Pending {
    std::string etag;
    int64_t first_seen_ms = 0;  // when this ETag was first listed
  };
  std::map<std::string, Pending> pending_;  // objects seen but not yet settled
  std::set<std::string> known_;                                  // "name\0etag" recorded
  std::set<std::string> present_;                                // names seen in the last poll
  bool first_poll_ = true;
  std::atomic<bool> stop_{false};
  std::unique_ptr<storage::ChangeWatch> change_watch_;  // null: the bucket cannot notify
  std::thread thread_;
};

}  // namespace hlsforge::pipeline
