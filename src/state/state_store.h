// StateStore: the durable source of truth for videos, jobs and workers, chosen by URL:
//   sqlite:///abs/path/hlsforge.db   (embedded default; "sqlite://:memory:" for tests)
//   postgresql://user:pass@host:port/db
// Every method is thread-safe, blocking, and atomic (one transaction). Times are Unix ms.
//
// Job life: queued -> assigned -> downloading -> encoding -> uploading -> ready
//           (or failed / cancelled at any point). A job being worked on holds a lease: a
//           deadline renewed by heartbeats and a fencing token that grows on every claim.
//           Every worker write carries its token; a stale token gets kAborted, so a worker
//           that lost its lease can change nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hlsforge::state {

enum class JobState { kQueued, kAssigned, kDownloading, kEncoding, kUploading, kReady, kFailed, kCancelled };

const char* JobStateName(JobState s);  // "queued", "assigned", ...
std::optional<JobState> ParseJobState(std::string_view s);
inline bool IsTerminal(JobState s) {
  return s == JobState::kReady || s == JobState::kFailed || s == JobState::kCancelled;
}
inline bool IsActive(JobState s) {
  return s == JobState::kDownloading || s == JobState::kEncoding || s == JobState::kUploading;
}

struct Video {
  int64_t id = 0;
  std::string name;  // object key in the upload bucket
  std::string slug;  // folder under encode/ in the HLS bucket (safe path segment)
  std::string etag;  // of the latest version seen
  int64_t size_bytes = 0;
  JobState state = JobState::kQueued;  // state of the latest job
  double progress = 0;                 // 0..100 of the latest job
  std::string error;                   // latest job's error, "" if none
  bool retryable = false;
  int64_t latest_job_id = 0;
  int64_t published_job_id = 0;  // job whose output is live in the HLS bucket (0 = none)
  std::string source_json;       // probe facts of the published (or latest probed) source
  std::string renditions_json;   // published ladder: JSON array
  std::string catalog_json;      // {"uri","bandwidth","codecs","resolution",...} for the catalog
  int64_t created_ms = 0, updated_ms = 0, ready_ms = 0;
  int64_t deleted_ms = 0;        // source object gone from the upload bucket (0 = present)
};

struct Job {
  int64_t id = 0;
  int64_t video_id = 0;
  std::string video_name;  // copied from the video: source object key
  std::string slug;
  std::string etag;  // the exact source version this job encodes
  int64_t size_bytes = 0;
  JobState state = JobState::kQueued;
  double progress = 0;
  int attempts = 0;  // claims so far
  int max_attempts = 3;
  std::string worker_id;  // assigned/claimed by ("" = none)
  int64_t lease_token = 0;
  int64_t lease_deadline_ms = 0;
  int64_t not_before_ms = 0;  // retry backoff: not claimable before this
  std::string error;
  bool retryable = false;
  bool cancel_requested = false;
  std::string timings_json;  // {"download_s":..,"encode_s":..,"upload_s":..}
  int64_t created_ms = 0, updated_ms = 0, started_ms = 0, finished_ms = 0;
};

struct WorkerInfo {
  std::string id;
  std::string host;
  double cpu_percent = 0;  // whole-host CPU use, 0..100
  int64_t mem_total_bytes = 0;
  int64_t mem_available_bytes = 0;
  int running_jobs = 0;
  int capacity = 1;               // max concurrent jobs
  double max_cpu_percent = 90;    // above this it gets no new work
  int64_t min_free_mem_bytes = 256ll << 20;  // below this it gets no new work
  std::string current_json;       // [{"job":..,"video":..,"progress":..}]
  int64_t started_ms = 0;
  int64_t last_heartbeat_ms = 0;
};

struct VideoQuery {
  std::optional<JobState> state;
  std::string name_contains;  // "" = any
  int limit = 50;
  int offset = 0;  // newest first (created_ms desc, id desc)
};

struct JobQuery {
  std::optional<JobState> state;
  int64_t video_id = 0;  // 0 = any
  int limit = 50;
  int offset = 0;  // newest first
};

// What a worker records when its output is live.
struct Published {
  std::string source_json;
  std::string renditions_json;
  std::string catalog_json;
  std::string timings_json;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Creates or upgrades the schema (versioned migrations, idempotent).
  virtual Status Migrate() = 0;

  // ---- watcher ----
  // Records an object version seen in the upload bucket. If (name, etag) was recorded before,
  // returns nullopt and changes nothing. Otherwise, atomically: creates the video (or, for a
  // known name, points it at the new version), cancels any unfinished job of an older version,
  // creates a queued job, and returns its id.
  // If another name already uses `slug`, the new video gets "<slug>-2" (before the extension),
  // "-3", ...: always use Job.slug / Video.slug, never recompute it (src/state/README.md).
  virtual Result<std::optional<int64_t>> RecordObject(const std::string& name,
                                                      const std::string& slug,
                                                      const std::string& etag,
                                                      int64_t size_bytes) = 0;
  // Marks videos whose source object disappeared (deleted_ms = now); returns how many changed.
  virtual Result<int> MarkSourceDeleted(const std::vector<std::string>& names) = 0;

  // ---- scheduler ----
  // Queued jobs whose not_before_ms <= now, oldest first.
  virtual Result<std::vector<Job>> RunnableJobs(int64_t now_ms, int limit) = 0;
  // queued -> assigned to worker_id. kFailedPrecondition if the job is no longer queued.
  virtual Status AssignJob(int64_t job_id, const std::string& worker_id) = 0;
  // Jobs whose lease expired, or assigned to a worker without heartbeat since
  // worker_dead_before_ms, go back to queued (or to failed if attempts are used up).
  // Returns how many changed.
  virtual Result<int> RequeueExpired(int64_t now_ms, int64_t worker_dead_before_ms) = 0;

  // ---- worker ----
  // Claims one job assigned to worker_id (or, if take_unassigned, any runnable queued job):
  // state -> downloading, attempts+1, lease_token+1, deadline = now + lease_ms.
  virtual Result<std::optional<Job>> ClaimJob(const std::string& worker_id, int64_t now_ms,
                                              int64_t lease_ms, bool take_unassigned) = 0;
  // Extends the lease. kAborted if the token is stale or the job was cancelled
  // (the job row then says why).
  virtual Status RenewLease(int64_t job_id, int64_t token, int64_t deadline_ms) = 0;
  // Records stage and progress (0..100). kAborted if the token is stale or cancel was requested.
  virtual Status UpdateProgress(int64_t job_id, int64_t token, JobState state,
                                double progress) = 0;
  // -> ready; the video now points at this job's output. kAborted if the token is stale.
  // Only the video's latest job moves published_job_id: an older version finishing late is
  // recorded ready but leaves the video alone (check GetVideo()->published_job_id == job id).
  virtual Status FinishJob(int64_t job_id, int64_t token, const Published& published) = 0;
  // -> failed with `error`; if retry_at_ms > 0 and attempts remain, -> queued with
  // not_before_ms = retry_at_ms instead. kAborted if the token is stale.
  virtual Status FailJob(int64_t job_id, int64_t token, const std::string& error, bool retryable,
                         int64_t retry_at_ms) = 0;
  // A worker shutting down hands its job back: -> queued at once, attempts unchanged.
  virtual Status ReleaseJob(int64_t job_id, int64_t token) = 0;

  // ---- operator actions ----
  // Queued/assigned -> cancelled at once; running -> cancel_requested (the worker stops).
  virtual Status CancelVideo(int64_t video_id) = 0;
  // Failed/cancelled -> a new queued job for the same version.
  virtual Result<int64_t> RetryVideo(int64_t video_id) = 0;
  virtual Status DeleteVideo(int64_t video_id) = 0;
  // Marks a job cancelled after its worker stopped (token-checked).
  virtual Status MarkCancelled(int64_t job_id, int64_t token) = 0;

  // ---- workers ----
  virtual Status Heartbeat(const WorkerInfo& w) = 0;  // upsert
  virtual Result<std::vector<WorkerInfo>> Workers() = 0;

  // ---- reads ----
  virtual Result<std::vector<Video>> ListVideos(const VideoQuery& q) = 0;
  virtual Result<int64_t> CountVideos(const VideoQuery& q) = 0;
  virtual Result<std::optional<Video>> GetVideo(int64_t id) = 0;
  virtual Result<std::optional<Video>> GetVideoBySlug(const std::string& slug) = 0;
  // The video of an upload-bucket object name (names are unique), or nullopt. Prefer this to
  // recomputing a slug from the name: the stored slug may carry a "-N" suffix.
  virtual Result<std::optional<Video>> GetVideoByName(const std::string& name) = 0;
  virtual Result<std::vector<Job>> ListJobs(const JobQuery& q) = 0;
  virtual Result<std::optional<Job>> GetJob(int64_t id) = 0;
  // Videos with published output, for the catalog, ordered by id.
  virtual Result<std::vector<Video>> PublishedVideos() = 0;
};

// Opens (and migrates) a store by URL.
Result<std::unique_ptr<StateStore>> OpenStateStore(const std::string& url);

}  // namespace hlsforge::state
