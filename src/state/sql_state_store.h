// Internal to src/state: the StateStore, written once over SqlDb (SQLite or PostgreSQL).
// See state_store.h for the contract and src/state/README.md for the decisions (slug conflicts,
// superseded versions, deletes).
#pragma once

#include <memory>

#include "state/sql_db.h"
#include "state/state_store.h"

namespace hlsforge::state {

// Limits on identifiers, the same for both databases (a PostgreSQL btree entry must stay below
// ~2.7 kB, and S3 keys are at most 1024 bytes).
inline constexpr size_t kMaxNameBytes = 1024;
inline constexpr size_t kMaxSlugBytes = 1024;
inline constexpr size_t kMaxEtagBytes = 256;
inline constexpr size_t kMaxWorkerIdBytes = 256;
inline constexpr size_t kMaxErrorBytes = 16 << 10;
inline constexpr size_t kMaxJsonBytes = 8 << 20;
inline constexpr int kMaxListLimit = 10000;
inline constexpr int kDefaultMaxAttempts = 3;

class SqlStateStore : public StateStore {
 public:
  explicit SqlStateStore(std::unique_ptr<SqlDb> db) : db_(std::move(db)) {}

  Status Migrate() override;
  Result<std::optional<int64_t>> RecordObject(const std::string& name, const std::string& slug,
                                              const std::string& etag, int64_t size_bytes) override;
  Result<int> MarkSourceDeleted(const std::vector<std::string>& names) override;
  Result<std::vector<Job>> RunnableJobs(int64_t now_ms, int limit) override;
  Status AssignJob(int64_t job_id, const std::string& worker_id) override;
  Result<int> RequeueExpired(int64_t now_ms, int64_t worker_dead_before_ms) override;
  Result<std::optional<Job>> ClaimJob(const std::string& worker_id, int64_t now_ms,
                                      int64_t lease_ms, bool take_unassigned) override;
  Status RenewLease(int64_t job_id, int64_t token, int64_t deadline_ms) override;
  Status UpdateProgress(int64_t job_id, int64_t token, JobState state, double progress) override;
  Status FinishJob(int64_t job_id, int64_t token, const Published& published) override;
  Status FailJob(int64_t job_id, int64_t token, const std::string& error, bool retryable,
                 int64_t retry_at_ms) override;
  Status ReleaseJob(int64_t job_id, int64_t token) override;
  Status CancelVideo(int64_t video_id) override;
  Result<int64_t> RetryVideo(int64_t video_id) override;
  Status DeleteVideo(int64_t video_id) override;
  Status MarkCancelled(int64_t job_id, int64_t token) override;
  Status Heartbeat(const WorkerInfo& w) override;
  Result<std::vector<WorkerInfo>> Workers() override;
  Result<std::vector<Video>> ListVideos(const VideoQuery& q) override;
  Result<int64_t> CountVideos(const VideoQuery& q) override;
  Result<std::optional<Video>> GetVideo(int64_t id) override;
  Result<std::optional<Video>> GetVideoBySlug(const std::string& slug) override;
  Result<std::optional<Video>> GetVideoByName(const std::string& name) override;
  Result<std::vector<Job>> ListJobs(const JobQuery& q) override;
  Result<std::optional<Job>> GetJob(int64_t id) override;
  Result<std::vector<Video>> PublishedVideos() override;

  // The schema version the database is at (0 = empty). For `hlsforge migrate` and tests.
  Result<int> SchemaVersion();
  SqlDb& db() { return *db_; }

 private:
  Result<std::optional<int64_t>> RecordObjectOnce(const std::string& name, const std::string& slug,
                                                  const std::string& etag, int64_t size_bytes);
  std::unique_ptr<SqlDb> db_;
};

}  // namespace hlsforge::state
