#include "state/sql_state_store.h"

#include <cmath>

#include "common/fs.h"
#include "state/migrations.h"
#include "state/sql_text.h"

namespace hlsforge::state {
namespace {

using TxKind = SqlDb::TxKind;
using Params = std::vector<SqlValue>;

// Any constant: the advisory lock that serializes migrations of concurrent processes.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7243567180453)";

constexpr const char* kVideoCols =
    "id, name, slug, etag, size_bytes, state, progress, error, retryable, latest_job_id, "
    "published_job_id, source_json, renditions_json, catalog_json, created_ms, updated_ms, "
    "ready_ms, deleted_ms";
constexpr const char* kJobCols =
    "id, video_id, video_name, slug, etag, size_bytes, state, progress, attempts, max_attempts, "
    "worker_id, lease_token, lease_deadline_ms, not_before_ms, error, retryable, "
    "cancel_requested, timings_json, created_ms, updated_ms, started_ms, finished_ms";
constexpr const char* kWorkerCols =
    "id, host, cpu_percent, mem_total_bytes, mem_available_bytes, running_jobs, capacity, "
    "max_cpu_percent, min_free_mem_bytes, current_json, started_ms, last_heartbeat_ms";
constexpr const char* kActive = "('downloading', 'encoding', 'uploading')";

JobState StateOf(const std::string& s) { return ParseJobState(s).value_or(JobState::kFailed); }
SqlValue Name(JobState s) { return std::string(JobStateName(s)); }

Video ReadVideo(const SqlRow& r) {
  Video v;
  v.id = r.Int(0);
  v.name = r.Str(1);
  v.slug = r.Str(2);
  v.etag = r.Str(3);
  v.size_bytes = r.Int(4);
  v.state = StateOf(r.Str(5));
  v.progress = r.Double(6);
  v.error = r.Str(7);
  v.retryable = r.Bool(8);
  v.latest_job_id = r.Int(9);
  v.published_job_id = r.Int(10);
  v.source_json = r.Str(11);
  v.renditions_json = r.Str(12);
  v.catalog_json = r.Str(13);
  v.created_ms = r.Int(14);
  v.updated_ms = r.Int(15);
  v.ready_ms = r.Int(16);
  v.deleted_ms = r.Int(17);
  return v;
}

Job ReadJob(const SqlRow& r) {
  Job j;
  j.id = r.Int(0);
  j.video_id = r.Int(1);
  j.video_name = r.Str(2);
  j.slug = r.Str(3);
  j.etag = r.Str(4);
  j.size_bytes = r.Int(5);
  j.state = StateOf(r.Str(6));
  j.progress = r.Double(7);
  j.attempts = static_cast<int>(r.Int(8));
  j.max_attempts = static_cast<int>(r.Int(9));
  j.worker_id = r.Str(10);
  j.lease_token = r.Int(11);
  j.lease_deadline_ms = r.Int(12);
  j.not_before_ms = r.Int(13);
  j.error = r.Str(14);
  j.retryable = r.Bool(15);
  j.cancel_requested = r.Bool(16);
  j.timings_json = r.Str(17);
  j.created_ms = r.Int(18);
  j.updated_ms = r.Int(19);
  j.started_ms = r.Int(20);
  j.finished_ms = r.Int(21);
  return j;
}

WorkerInfo ReadWorker(const SqlRow& r) {
  WorkerInfo w;
  w.id = r.Str(0);
  w.host = r.Str(1);
  w.cpu_percent = r.Double(2);
  w.mem_total_bytes = r.Int(3);
  w.mem_available_bytes = r.Int(4);
  w.running_jobs = static_cast<int>(r.Int(5));
  w.capacity = static_cast<int>(r.Int(6));
  w.max_cpu_percent = r.Double(7);
  w.min_free_mem_bytes = r.Int(8);
  w.current_json = r.Str(9);
  w.started_ms = r.Int(10);
  w.last_heartbeat_ms = r.Int(11);
  return w;
}

Status CheckSlug(const std::string& slug) {
  RETURN_IF_ERROR(CheckIdentifier("slug", slug, kMaxSlugBytes));
  // The slug is a folder name under encode/: it must not be able to leave that folder.
  if (slug.find_first_of("/\\") != std::string::npos || slug == "." || slug == "..") {
    return InvalidArgument("slug '" + slug + "' is not a safe path segment");
  }
  return Status::Ok();
}

Result<std::string> CleanJson(const char* what, const std::string& s) {
  if (s.size() > kMaxJsonBytes) {
    return ResourceExhausted(std::string(what) + " is " + std::to_string(s.size()) +
                             " bytes; the limit is " + std::to_string(kMaxJsonBytes));
  }
  return SanitizeText(s, kMaxJsonBytes);
}

double CleanNumber(double d) { return std::isfinite(d) ? d : 0; }

// "name.mp4" -> "name-2.mp4"; "name" -> "name-2". The suffix goes before the extension so the
// folder still reads like the file it came from.
std::string SuffixSlug(const std::string& slug, int n) {
  const std::string suffix = "-" + std::to_string(n);
  const size_t dot = slug.rfind('.');
  if (dot == std::string::npos || dot == 0) return slug + suffix;
  return slug.substr(0, dot) + suffix + slug.substr(dot);
}

// Copies the job's state, progress and error to its video, if the job is the video's latest
// (an older version's job never changes what the video shows). Same transaction as the job.
Status SyncVideo(SqlTx& tx, int64_t job_id, int64_t now) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   tx.Query("SELECT video_id, state, progress, error, retryable FROM jobs "
                            "WHERE id = ?",
                            {job_id}));
  if (rows.empty()) return Status::Ok();
  const SqlRow& j = rows[0];
  ASSIGN_OR_RETURN(int64_t n,
                   tx.Exec("UPDATE videos SET state = ?, progress = ?, error = ?, "
                           "retryable = ?, updated_ms = ? "
                           "WHERE id = ? AND latest_job_id = ?",
                           {j.Str(1), j.Double(2), j.Str(3), j.Int(4), now, j.Int(0), job_id}));
  (void)n;
  return Status::Ok();
}

// A token-checked write matched no row: say why, as kAborted (the worker must stop).
Status ExplainAborted(SqlTx& tx, int64_t job_id, int64_t token) {
  ASSIGN_OR_RETURN(SqlRows rows, tx.Query("SELECT state, lease_token, cancel_requested, worker_id "
                                          "FROM jobs WHERE id = ?",
                                          {job_id}));
  const std::string job = "job " + std::to_string(job_id);
  if (rows.empty()) return Aborted(job + " no longer exists (its video was deleted)");
  const SqlRow& r = rows[0];
  if (r.Int(1) != token) {
    return Aborted(job + ": lease token " + std::to_string(token) + " is stale (current " +
                   std::to_string(r.Int(1)) + ", worker '" + r.Str(3) + "')");
  }
  const JobState st = StateOf(r.Str(0));
  if (!IsActive(st)) return Aborted(job + " is " + JobStateName(st) + ", no longer running");
  if (r.Bool(2)) return Aborted(job + ": cancel requested");
  return Aborted(job + ": lease lost");
}

Result<int64_t> InsertJob(SqlTx& tx, int64_t video_id, const std::string& name,
                          const std::string& slug, const std::string& etag, int64_t size,
                          int64_t now) {
  ASSIGN_OR_RETURN(SqlRows rows,
                   tx.Query("INSERT INTO jobs (video_id, video_name, slug, etag, size_bytes, "
                            "state, max_attempts, created_ms, updated_ms) "
                            "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING id",
                            {video_id, name, slug, etag, size,
                             static_cast<int64_t>(kDefaultMaxAttempts), now, now}));
  if (rows.empty()) return Internal("INSERT INTO jobs returned no id");
  return rows[0].Int(0);
}

std::string WhereVideos(const VideoQuery& q, Params* params) {
  std::string where = " WHERE 1 = 1";
  if (q.state) {
    where += " AND state = ?";
    params->emplace_back(std::in_place_type<std::string>, JobStateName(*q.state));
  }
  if (!q.name_contains.empty()) {
    // Case-insensitive for ASCII in both databases; % and _ in the needle match themselves.
    where += " AND LOWER(name) LIKE ? ESCAPE '\\'";
    params->emplace_back(std::in_place_type<std::string>, ContainsPattern(q.name_contains));
  }
  return where;
}

Status CheckQuery(int limit, int offset, const std::string& name_contains) {
  if (limit < 0) return InvalidArgument("limit must be >= 0, got " + std::to_string(limit));
  if (offset < 0) return InvalidArgument("offset must be >= 0, got " + std::to_string(offset));
  if (name_contains.size() > kMaxNameBytes || name_contains.find('\0') != std::string::npos ||
      !IsValidUtf8(name_contains)) {
    return InvalidArgument("name filter must be valid UTF-8 text of at most " +
                           std::to_string(kMaxNameBytes) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// schema

Status SqlStateStore::Migrate() {
  const auto& migrations = Migrations(db_->dialect());
  const int known = migrations.back().version;
  for (const Migration& m : migrations) {
    Status s = db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
      // Two processes starting at once: the second waits here, then sees the work done.
      if (db_->dialect() == Dialect::kPostgres) {
        RETURN_IF_ERROR(tx.Query(kMigrationLock, {}).status());
      }
      RETURN_IF_ERROR(tx.ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"));
      ASSIGN_OR_RETURN(SqlRows rows,
                       tx.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}));
      const int64_t current = rows.empty() ? 0 : rows[0].Int(0);
      if (current > known) {
        return FailedPrecondition("database schema version " + std::to_string(current) +
                                  " is newer than this hlsforge understands (" +
                                  std::to_string(known) + "); upgrade hlsforge");
      }
      ASSIGN_OR_RETURN(SqlRows done, tx.Query("SELECT 1 FROM schema_migrations WHERE version = ?",
                                              {static_cast<int64_t>(m.version)}));
      if (!done.empty()) return Status::Ok();
      RETURN_IF_ERROR(tx.ExecScript(m.sql));
      return tx
          .Exec("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                {static_cast<int64_t>(m.version), m.name, NowMs()})
          .status();
    });
    RETURN_IF_ERROR(s.Annotate("migration " + std::to_string(m.version) + " (" + m.name + ") on " +
                               db_->Describe()));
  }
  return Status::Ok();
}

Result<int> SqlStateStore::SchemaVersion() {
  int version = 0;
  const bool pg = db_->dialect() == Dialect::kPostgres;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    version = 0;
    ASSIGN_OR_RETURN(SqlRows exists,
                     tx.Query(pg ? "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL"
                                 : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                   "name = 'schema_migrations'",
                              {}));
    if (exists.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(SqlRows rows,
                     tx.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {}));
    version = rows.empty() ? 0 : static_cast<int>(rows[0].Int(0));
    return Status::Ok();
  }));
  return version;
}

// ---------------------------------------------------------------------------------------------
// watcher

Result<std::optional<int64_t>> SqlStateStore::RecordObject(const std::string& name,
                                                           const std::string& slug,
                                                           const std::string& etag,
                                                           int64_t size_bytes) {
  RETURN_IF_ERROR(CheckIdentifier("object name", name, kMaxNameBytes));
  RETURN_IF_ERROR(CheckIdentifier("ETag", etag, kMaxEtagBytes));
  RETURN_IF_ERROR(CheckSlug(slug));
  if (size_bytes < 0) return InvalidArgument("size must be >= 0");
  // Under PostgreSQL two processes may insert the same new name or slug at once; the loser gets
  // a unique violation (kAlreadyExists) and, on a fresh attempt, sees the winner's row.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto r = RecordObjectOnce(name, slug, etag, size_bytes);
    if (r.ok() || r.status().code() != Code::kAlreadyExists) return r;
    last = r.status();
  }
  return last;
}

Result<std::optional<int64_t>> SqlStateStore::RecordObjectOnce(const std::string& name,
                                                               const std::string& slug,
                                                               const std::string& etag,
                                                               int64_t size_bytes) {
  std::optional<int64_t> job_id;
  const Dialect d = db_->dialect();
  Status s = db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    job_id.reset();
    const int64_t now = NowMs();
    // The durable dedup: (name, etag) is recorded once, ever (deleting the video keeps it).
    ASSIGN_OR_RETURN(int64_t fresh, tx.Exec("INSERT INTO seen_objects (name, etag, first_seen_ms) "
                                            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                            {name, etag, now}));
    if (fresh == 0) return Status::Ok();

    ASSIGN_OR_RETURN(
        SqlRows found,
        tx.Query(std::string("SELECT id, slug FROM videos WHERE name = ?") + ForUpdate(d), {name}));
    if (!found.empty()) {
      // A new version of a known video: stop older unfinished jobs (queued/assigned ones at
      // once; running ones are asked to stop), then queue the new version. The published output
      // stays live until the new job finishes.
      const int64_t video_id = found[0].Int(0);
      const std::string video_slug = found[0].Str(1);
      ASSIGN_OR_RETURN(int64_t n1,
                       tx.Exec("UPDATE jobs SET state = 'cancelled', worker_id = '', "
                               "lease_deadline_ms = 0, error = 'superseded by a newer version', "
                               "finished_ms = ?, updated_ms = ? "
                               "WHERE video_id = ? AND state IN ('queued', 'assigned')",
                               {now, now, video_id}));
      ASSIGN_OR_RETURN(int64_t n2, tx.Exec(std::string("UPDATE jobs SET cancel_requested = 1, "
                                                       "error = 'superseded by a newer version', "
                                                       "updated_ms = ? WHERE video_id = ? AND "
                                                       "state IN ") +
                                               kActive,
                                           {now, video_id}));
      (void)n1;
      (void)n2;
      ASSIGN_OR_RETURN(int64_t id,
                       InsertJob(tx, video_id, name, video_slug, etag, size_bytes, now));
      RETURN_IF_ERROR(tx.Exec("UPDATE videos SET etag = ?, size_bytes = ?, state = 'queued', "
                              "progress = 0, error = '', retryable = 0, latest_job_id = ?, "
                              "deleted_ms = 0, updated_ms = ? WHERE id = ?",
                              {etag, size_bytes, id, now, video_id})
                          .status());
      job_id = id;
      return Status::Ok();
    }

    // A new video. Two names can map to the same slug ("a b.mp4", "a_b.mp4"): the later one
    // gets "a_b-2.mp4" (see src/state/README.md). Job.slug / Video.slug is the folder to use.
    std::string chosen;
    for (int n = 1; n <= 1000 && chosen.empty(); ++n) {
      const std::string candidate = n == 1 ? slug : SuffixSlug(slug, n);
      ASSIGN_OR_RETURN(SqlRows taken, tx.Query("SELECT 1 FROM videos WHERE slug = ?", {candidate}));
      if (taken.empty()) chosen = candidate;
    }
    if (chosen.empty()) {
      return Status(Code::kAlreadyExists,
                    "slug '" + slug + "' and its 1000 suffixed forms are all taken");
    }
    ASSIGN_OR_RETURN(SqlRows inserted,
                     tx.Query("INSERT INTO videos (name, slug, etag, size_bytes, state, "
                              "created_ms, updated_ms) VALUES (?, ?, ?, ?, 'queued', ?, ?) "
                              "RETURNING id",
                              {name, chosen, etag, size_bytes, now, now}));
    if (inserted.empty()) return Internal("INSERT INTO videos returned no id");
    const int64_t video_id = inserted[0].Int(0);
    ASSIGN_OR_RETURN(int64_t id, InsertJob(tx, video_id, name, chosen, etag, size_bytes, now));
    RETURN_IF_ERROR(
        tx.Exec("UPDATE videos SET latest_job_id = ? WHERE id = ?", {id, video_id}).status());
    job_id = id;
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  return job_id;
}

Result<int> SqlStateStore::MarkSourceDeleted(const std::vector<std::string>& names) {
  int changed = 0;
  RETURN_IF_ERROR(db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    changed = 0;
    const int64_t now = NowMs();
    constexpr size_t kChunk = 500;  // well below both databases' parameter limits
    for (size_t i = 0; i < names.size(); i += kChunk) {
      Params params = {now, now};
      std::string in;
      for (size_t k = i; k < std::min(names.size(), i + kChunk); ++k) {
        if (names[k].find('\0') != std::string::npos || !IsValidUtf8(names[k])) continue;
        in += in.empty() ? "?" : ", ?";
        params.push_back(names[k]);
      }
      if (in.empty()) continue;
      ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE videos SET deleted_ms = ?, updated_ms = ? "
                                          "WHERE deleted_ms = 0 AND name IN (" +
                                              in + ")",
                                          params));
      changed += static_cast<int>(n);
    }
    return Status::Ok();
  }));
  return changed;
}

// ---------------------------------------------------------------------------------------------
// scheduler

Result<std::vector<Job>> SqlStateStore::RunnableJobs(int64_t now_ms, int limit) {
  std::vector<Job> jobs;
  if (limit <= 0) return jobs;
  limit = std::min(limit, kMaxListLimit);
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    jobs.clear();
    ASSIGN_OR_RETURN(SqlRows rows,
                     tx.Query(std::string("SELECT ") + kJobCols +
                                  " FROM jobs WHERE state = 'queued' AND not_before_ms <= ? "
                                  "ORDER BY created_ms, id LIMIT ?",
                              {now_ms, static_cast<int64_t>(limit)}));
    for (const auto& r : rows) jobs.push_back(ReadJob(r));
    return Status::Ok();
  }));
  return jobs;
}

Status SqlStateStore::AssignJob(int64_t job_id, const std::string& worker_id) {
  RETURN_IF_ERROR(CheckIdentifier("worker id", worker_id, kMaxWorkerIdBytes));
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE jobs SET state = 'assigned', worker_id = ?, "
                                        "updated_ms = ? WHERE id = ? AND state = 'queued'",
                                        {worker_id, now, job_id}));
    if (n == 0) {
      ASSIGN_OR_RETURN(SqlRows rows, tx.Query("SELECT state FROM jobs WHERE id = ?", {job_id}));
      if (rows.empty()) return NotFound("job " + std::to_string(job_id) + " does not exist");
      return FailedPrecondition("job " + std::to_string(job_id) + " is " + rows[0].Str(0) +
                                ", not queued");
    }
    return SyncVideo(tx, job_id, now);
  });
}

Result<int> SqlStateStore::RequeueExpired(int64_t now_ms, int64_t worker_dead_before_ms) {
  int changed = 0;
  const Dialect d = db_->dialect();
  RETURN_IF_ERROR(db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    changed = 0;
    const int64_t now = NowMs();
    // 1. Running jobs whose worker stopped renewing the lease.
    ASSIGN_OR_RETURN(SqlRows expired,
                     tx.Query(std::string("SELECT id, attempts, max_attempts, cancel_requested, "
                                          "lease_expiries, worker_id, error FROM jobs "
                                          "WHERE state IN ") +
                                  kActive + " AND lease_deadline_ms < ?" + ForUpdateSkipLocked(d),
                              {now_ms}));
    for (const SqlRow& r : expired) {
      const int64_t id = r.Int(0);
      const int64_t expiries = r.Int(4) + 1;
      const std::string worker = r.Str(5);
      std::string state;
      std::string error;
      int64_t finished = 0;
      if (r.Bool(3)) {
        // It was asked to stop anyway: the dead worker's job simply ends cancelled.
        state = "cancelled";
        error = r.Str(6).empty() ? "cancelled on request" : r.Str(6);
        finished = now;
      } else if (r.Int(1) >= r.Int(2)) {
        state = "failed";
        error = "lease expired " + std::to_string(expiries) + " times (last worker '" + worker +
                "'); no attempts left";
        finished = now;
      } else {
        state = "queued";
        error = "lease expired (worker '" + worker + "' stopped renewing it); queued again";
      }
      ASSIGN_OR_RETURN(int64_t n,
                       tx.Exec(std::string("UPDATE jobs SET state = ?, worker_id = '', "
                                           "lease_deadline_ms = 0, lease_expiries = ?, "
                                           "progress = 0, error = ?, retryable = ?, "
                                           "finished_ms = ?, updated_ms = ? "
                                           "WHERE id = ? AND lease_deadline_ms < ? AND state IN ") +
                                   kActive,
                               {state, expiries, error, static_cast<int64_t>(state != "cancelled"),
                                finished, now, id, now_ms}));
      if (n == 0) continue;
      RETURN_IF_ERROR(SyncVideo(tx, id, now));
      ++changed;
    }
    // 2. Jobs assigned to a worker that stopped sending heartbeats (or never sent one).
    ASSIGN_OR_RETURN(SqlRows orphans,
                     tx.Query(std::string("SELECT id FROM jobs WHERE state = 'assigned' AND "
                                          "worker_id NOT IN (SELECT id FROM workers WHERE "
                                          "last_heartbeat_ms >= ?)") +
                                  ForUpdateSkipLocked(d),
                              {worker_dead_before_ms}));
    for (const SqlRow& r : orphans) {
      const int64_t id = r.Int(0);
      ASSIGN_OR_RETURN(int64_t n, tx.Exec("UPDATE jobs SET state = 'queued', worker_id = '', "
                                          "updated_ms = ? WHERE id = ? AND state = 'assigned'",
                                          {now, id}));
      if (n == 0) continue;
      RETURN_IF_ERROR(SyncVideo(tx, id, now));
      ++changed;
    }
    return Status::Ok();
  }));
  return changed;
}

// ---------------------------------------------------------------------------------------------
// worker

Result<std::optional<Job>> SqlStateStore::ClaimJob(const std::string& worker_id, int64_t now_ms,
                                                   int64_t lease_ms, bool take_unassigned) {
  RETURN_IF_ERROR(CheckIdentifier("worker id", worker_id, kMaxWorkerIdBytes));
  if (lease_ms <= 0) return InvalidArgument("lease must be > 0 ms");
  std::optional<Job> claimed;
  const Dialect d = db_->dialect();
  RETURN_IF_ERROR(db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    claimed.reset();
    // SKIP LOCKED: concurrent claimers each lock a different row instead of queueing behind
    // one; under SQLite the whole transaction is exclusive anyway.
    ASSIGN_OR_RETURN(SqlRows rows,
                     tx.Query(std::string("SELECT id, state FROM jobs WHERE state = 'assigned' "
                                          "AND worker_id = ? ORDER BY id LIMIT 1") +
                                  ForUpdateSkipLocked(d),
                              {worker_id}));
    if (rows.empty() && take_unassigned) {
      ASSIGN_OR_RETURN(rows, tx.Query(std::string("SELECT id, state FROM jobs WHERE state = "
                                                  "'queued' AND not_before_ms <= ? "
                                                  "ORDER BY created_ms, id LIMIT 1") +
                                          ForUpdateSkipLocked(d),
                                      {now_ms}));
    }
    if (rows.empty()) return Status::Ok();
    const int64_t id = rows[0].Int(0);
    const std::string from = rows[0].Str(1);
    ASSIGN_OR_RETURN(int64_t n,
                     tx.Exec("UPDATE jobs SET state = 'downloading', worker_id = ?, "
                             "attempts = attempts + 1, lease_token = lease_token + 1, "
                             "lease_deadline_ms = ?, progress = 0, cancel_requested = 0, "
                             "started_ms = ?, finished_ms = 0, updated_ms = ? "
                             "WHERE id = ? AND state = ?",
                             {worker_id, now_ms + lease_ms, now_ms, NowMs(), id, from}));
    if (n != 1) return Status::Ok();  // cannot happen with the row lock; claim nothing
    RETURN_IF_ERROR(SyncVideo(tx, id, NowMs()));
    ASSIGN_OR_RETURN(SqlRows job,
                     tx.Query(std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?", {id}));
    if (!job.empty()) claimed = ReadJob(job[0]);
    return Status::Ok();
  }));
  return claimed;
}

Status SqlStateStore::RenewLease(int64_t job_id, int64_t token, int64_t deadline_ms) {
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t n,
                     tx.Exec(std::string("UPDATE jobs SET lease_deadline_ms = ?, updated_ms = ? "
                                         "WHERE id = ? AND lease_token = ? AND "
                                         "cancel_requested = 0 AND state IN ") +
                                 kActive,
                             {deadline_ms, NowMs(), job_id, token}));
    if (n == 0) return ExplainAborted(tx, job_id, token);
    return Status::Ok();
  });
}

Status SqlStateStore::UpdateProgress(int64_t job_id, int64_t token, JobState state,
                                     double progress) {
  if (!IsActive(state)) {
    return InvalidArgument(std::string("progress state must be downloading, encoding or "
                                       "uploading, not ") +
                           JobStateName(state));
  }
  if (std::isnan(progress)) return InvalidArgument("progress is NaN");
  progress = std::clamp(progress, 0.0, 100.0);
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(int64_t n, tx.Exec(std::string("UPDATE jobs SET state = ?, progress = ?, "
                                                    "updated_ms = ? WHERE id = ? AND "
                                                    "lease_token = ? AND cancel_requested = 0 "
                                                    "AND state IN ") +
                                            kActive,
                                        {Name(state), progress, now, job_id, token}));
    if (n == 0) return ExplainAborted(tx, job_id, token);
    return SyncVideo(tx, job_id, now);
  });
}

Status SqlStateStore::FinishJob(int64_t job_id, int64_t token, const Published& published) {
  ASSIGN_OR_RETURN(std::string source, CleanJson("source_json", published.source_json));
  ASSIGN_OR_RETURN(std::string renditions, CleanJson("renditions_json", published.renditions_json));
  ASSIGN_OR_RETURN(std::string catalog, CleanJson("catalog_json", published.catalog_json));
  ASSIGN_OR_RETURN(std::string timings, CleanJson("timings_json", published.timings_json));
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    // A late cancel request does not stop a finished job: the output is complete and safe.
    ASSIGN_OR_RETURN(int64_t n, tx.Exec(std::string("UPDATE jobs SET state = 'ready', "
                                                    "progress = 100, error = '', retryable = 0, "
                                                    "cancel_requested = 0, lease_deadline_ms = 0, "
                                                    "timings_json = ?, finished_ms = ?, "
                                                    "updated_ms = ? WHERE id = ? AND "
                                                    "lease_token = ? AND state IN ") +
                                            kActive,
                                        {timings, now, now, job_id, token}));
    if (n == 0) return ExplainAborted(tx, job_id, token);
    // Only the video's latest job may move what is published: an older version finishing late
    // (after a newer one was recorded) is recorded as ready but changes nothing on the video.
    ASSIGN_OR_RETURN(SqlRows vid, tx.Query("SELECT video_id FROM jobs WHERE id = ?", {job_id}));
    if (vid.empty()) return Internal("job " + std::to_string(job_id) + " vanished");
    return tx
        .Exec(
            "UPDATE videos SET state = 'ready', progress = 100, error = '', retryable = 0, "
            "published_job_id = ?, source_json = ?, renditions_json = ?, catalog_json = ?, "
            "ready_ms = ?, updated_ms = ? WHERE id = ? AND latest_job_id = ?",
            {job_id, source, renditions, catalog, now, now, vid[0].Int(0), job_id})
        .status();
  });
}

Status SqlStateStore::FailJob(int64_t job_id, int64_t token, const std::string& error,
                              bool retryable, int64_t retry_at_ms) {
  const std::string reason = SanitizeText(error, kMaxErrorBytes);
  const Dialect d = db_->dialect();
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(SqlRows rows,
                     tx.Query(std::string("SELECT attempts, max_attempts, cancel_requested FROM "
                                          "jobs WHERE id = ? AND lease_token = ? AND state IN ") +
                                  kActive + ForUpdate(d),
                              {job_id, token}));
    if (rows.empty()) return ExplainAborted(tx, job_id, token);
    const bool cancel = rows[0].Bool(2);
    const bool again = !cancel && retry_at_ms > 0 && rows[0].Int(0) < rows[0].Int(1);
    if (again) {
      RETURN_IF_ERROR(tx.Exec("UPDATE jobs SET state = 'queued', worker_id = '', "
                              "lease_deadline_ms = 0, not_before_ms = ?, progress = 0, "
                              "error = ?, retryable = ?, updated_ms = ? WHERE id = ?",
                              {retry_at_ms, reason, static_cast<int64_t>(retryable), now, job_id})
                          .status());
    } else {
      // A job that was asked to stop ends cancelled even if it failed on the way out.
      RETURN_IF_ERROR(tx.Exec("UPDATE jobs SET state = ?, lease_deadline_ms = 0, error = ?, "
                              "retryable = ?, finished_ms = ?, updated_ms = ? WHERE id = ?",
                              {std::string(cancel ? "cancelled" : "failed"), reason,
                               static_cast<int64_t>(retryable), now, now, job_id})
                          .status());
    }
    return SyncVideo(tx, job_id, now);
  });
}

Status SqlStateStore::ReleaseJob(int64_t job_id, int64_t token) {
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    // A job that was asked to stop is not queued again: it ends cancelled.
    ASSIGN_OR_RETURN(int64_t n,
                     tx.Exec(std::string("UPDATE jobs SET "
                                         "state = CASE WHEN cancel_requested = 1 THEN 'cancelled' "
                                         "ELSE 'queued' END, "
                                         "finished_ms = CASE WHEN cancel_requested = 1 THEN "
                                         "CAST(? AS BIGINT) ELSE 0 END, "
                                         "worker_id = '', lease_deadline_ms = 0, not_before_ms = "
                                         "0, progress = 0, updated_ms = ? "
                                         "WHERE id = ? AND lease_token = ? AND state IN ") +
                                 kActive,
                             {now, now, job_id, token}));
    if (n == 0) return ExplainAborted(tx, job_id, token);
    return SyncVideo(tx, job_id, now);
  });
}

Status SqlStateStore::MarkCancelled(int64_t job_id, int64_t token) {
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(int64_t n,
                     tx.Exec(std::string("UPDATE jobs SET state = 'cancelled', "
                                         "lease_deadline_ms = 0, finished_ms = ?, updated_ms = ?, "
                                         "error = CASE WHEN error = '' THEN 'cancelled on request' "
                                         "ELSE error END "
                                         "WHERE id = ? AND lease_token = ? AND state IN ") +
                                 kActive,
                             {now, now, job_id, token}));
    if (n == 0) return ExplainAborted(tx, job_id, token);
    return SyncVideo(tx, job_id, now);
  });
}

// ---------------------------------------------------------------------------------------------
// operator actions

Status SqlStateStore::CancelVideo(int64_t video_id) {
  const Dialect d = db_->dialect();
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(
        SqlRows v,
        tx.Query(std::string("SELECT latest_job_id, state FROM videos WHERE id = ?") + ForUpdate(d),
                 {video_id}));
    if (v.empty()) return NotFound("video " + std::to_string(video_id) + " does not exist");
    ASSIGN_OR_RETURN(int64_t now_cancelled,
                     tx.Exec("UPDATE jobs SET state = 'cancelled', worker_id = '', "
                             "lease_deadline_ms = 0, error = 'cancelled by operator', "
                             "finished_ms = ?, updated_ms = ? "
                             "WHERE video_id = ? AND state IN ('queued', 'assigned')",
                             {now, now, video_id}));
    ASSIGN_OR_RETURN(int64_t requested,
                     tx.Exec(std::string("UPDATE jobs SET cancel_requested = 1, updated_ms = ? "
                                         "WHERE video_id = ? AND state IN ") +
                                 kActive,
                             {now, video_id}));
    if (now_cancelled + requested == 0) {
      return FailedPrecondition("video " + std::to_string(video_id) +
                                " has nothing to cancel: it is " + v[0].Str(1));
    }
    return SyncVideo(tx, v[0].Int(0), now);
  });
}

Result<int64_t> SqlStateStore::RetryVideo(int64_t video_id) {
  int64_t job_id = 0;
  const Dialect d = db_->dialect();
  RETURN_IF_ERROR(db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    job_id = 0;
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(SqlRows v, tx.Query(std::string("SELECT name, slug, etag, size_bytes, state, "
                                                     "deleted_ms FROM videos WHERE id = ?") +
                                             ForUpdate(d),
                                         {video_id}));
    const std::string what = "video " + std::to_string(video_id);
    if (v.empty()) return NotFound(what + " does not exist");
    const JobState st = StateOf(v[0].Str(4));
    if (st != JobState::kFailed && st != JobState::kCancelled) {
      return FailedPrecondition(what + " is " + JobStateName(st) +
                                "; only failed or cancelled videos can be retried");
    }
    if (v[0].Int(5) != 0) {
      return FailedPrecondition(what + ": its source object is gone from the upload bucket");
    }
    ASSIGN_OR_RETURN(SqlRows busy,
                     tx.Query(std::string("SELECT id FROM jobs WHERE video_id = ? AND state IN "
                                          "('queued', 'assigned', 'downloading', 'encoding', "
                                          "'uploading')"),
                              {video_id}));
    if (!busy.empty()) {
      return FailedPrecondition(what + " still has unfinished job " +
                                std::to_string(busy[0].Int(0)));
    }
    ASSIGN_OR_RETURN(
        job_id, InsertJob(tx, video_id, v[0].Str(0), v[0].Str(1), v[0].Str(2), v[0].Int(3), now));
    return tx
        .Exec(
            "UPDATE videos SET latest_job_id = ?, state = 'queued', progress = 0, error = '', "
            "retryable = 0, updated_ms = ? WHERE id = ?",
            {job_id, now, video_id})
        .status();
  }));
  return job_id;
}

Status SqlStateStore::DeleteVideo(int64_t video_id) {
  // The row and its jobs go (a worker still on one gets kAborted at its next write); the
  // (name, etag) stays in seen_objects so the watcher does not import the same object again.
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t n, tx.Exec("DELETE FROM videos WHERE id = ?", {video_id}));
    if (n == 0) return NotFound("video " + std::to_string(video_id) + " does not exist");
    return Status::Ok();
  });
}

// ---------------------------------------------------------------------------------------------
// workers

Status SqlStateStore::Heartbeat(const WorkerInfo& w) {
  RETURN_IF_ERROR(CheckIdentifier("worker id", w.id, kMaxWorkerIdBytes));
  ASSIGN_OR_RETURN(std::string current, CleanJson("current_json", w.current_json));
  const std::string host = SanitizeText(w.host, kMaxWorkerIdBytes);
  return db_->Transact(TxKind::kWrite, [&](SqlTx& tx) -> Status {
    return tx
        .Exec(std::string("INSERT INTO workers (") + kWorkerCols +
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                  "host = excluded.host, cpu_percent = excluded.cpu_percent, "
                  "mem_total_bytes = excluded.mem_total_bytes, "
                  "mem_available_bytes = excluded.mem_available_bytes, "
                  "running_jobs = excluded.running_jobs, capacity = excluded.capacity, "
                  "max_cpu_percent = excluded.max_cpu_percent, "
                  "min_free_mem_bytes = excluded.min_free_mem_bytes, "
                  "current_json = excluded.current_json, started_ms = excluded.started_ms, "
                  "last_heartbeat_ms = excluded.last_heartbeat_ms",
              {w.id, host, CleanNumber(w.cpu_percent), w.mem_total_bytes, w.mem_available_bytes,
               static_cast<int64_t>(w.running_jobs), static_cast<int64_t>(w.capacity),
               CleanNumber(w.max_cpu_percent), w.min_free_mem_bytes, current, w.started_ms,
               w.last_heartbeat_ms})
        .status();
  });
}

Result<std::vector<WorkerInfo>> SqlStateStore::Workers() {
  std::vector<WorkerInfo> out;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(
        SqlRows rows,
        tx.Query(std::string("SELECT ") + kWorkerCols + " FROM workers ORDER BY id", {}));
    for (const auto& r : rows) out.push_back(ReadWorker(r));
    return Status::Ok();
  }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// reads

Result<std::vector<Video>> SqlStateStore::ListVideos(const VideoQuery& q) {
  RETURN_IF_ERROR(CheckQuery(q.limit, q.offset, q.name_contains));
  std::vector<Video> out;
  if (q.limit == 0) return out;
  Params params;
  std::string sql = std::string("SELECT ") + kVideoCols + " FROM videos" + WhereVideos(q, &params) +
                    " ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?";
  params.push_back(static_cast<int64_t>(std::min(q.limit, kMaxListLimit)));
  params.push_back(static_cast<int64_t>(q.offset));
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(SqlRows rows, tx.Query(sql, params));
    for (const auto& r : rows) out.push_back(ReadVideo(r));
    return Status::Ok();
  }));
  return out;
}

Result<int64_t> SqlStateStore::CountVideos(const VideoQuery& q) {
  RETURN_IF_ERROR(CheckQuery(0, 0, q.name_contains));
  Params params;
  const std::string sql = "SELECT COUNT(*) FROM videos" + WhereVideos(q, &params);
  int64_t count = 0;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    ASSIGN_OR_RETURN(SqlRows rows, tx.Query(sql, params));
    count = rows.empty() ? 0 : rows[0].Int(0);
    return Status::Ok();
  }));
  return count;
}

Result<std::optional<Video>> SqlStateStore::GetVideo(int64_t id) {
  std::optional<Video> out;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.reset();
    ASSIGN_OR_RETURN(
        SqlRows rows,
        tx.Query(std::string("SELECT ") + kVideoCols + " FROM videos WHERE id = ?", {id}));
    if (!rows.empty()) out = ReadVideo(rows[0]);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<Video>> SqlStateStore::GetVideoBySlug(const std::string& slug) {
  std::optional<Video> out;
  if (slug.empty() || slug.size() > kMaxSlugBytes + 16 || slug.find('\0') != std::string::npos ||
      !IsValidUtf8(slug)) {
    return out;  // such a slug is never stored
  }
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.reset();
    ASSIGN_OR_RETURN(
        SqlRows rows,
        tx.Query(std::string("SELECT ") + kVideoCols + " FROM videos WHERE slug = ?", {slug}));
    if (!rows.empty()) out = ReadVideo(rows[0]);
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<Video>> SqlStateStore::GetVideoByName(const std::string& name) {
  std::optional<Video> out;
  if (!CheckIdentifier("object name", name, kMaxNameBytes).ok()) return out;  // never stored
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.reset();
    ASSIGN_OR_RETURN(
        SqlRows rows,
        tx.Query(std::string("SELECT ") + kVideoCols + " FROM videos WHERE name = ?", {name}));
    if (!rows.empty()) out = ReadVideo(rows[0]);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Job>> SqlStateStore::ListJobs(const JobQuery& q) {
  RETURN_IF_ERROR(CheckQuery(q.limit, q.offset, ""));
  std::vector<Job> out;
  if (q.limit == 0) return out;
  Params params;
  std::string sql = std::string("SELECT ") + kJobCols + " FROM jobs WHERE 1 = 1";
  if (q.state) {
    sql += " AND state = ?";
    params.push_back(Name(*q.state));
  }
  if (q.video_id != 0) {
    sql += " AND video_id = ?";
    params.push_back(q.video_id);
  }
  sql += " ORDER BY created_ms DESC, id DESC LIMIT ? OFFSET ?";
  params.push_back(static_cast<int64_t>(std::min(q.limit, kMaxListLimit)));
  params.push_back(static_cast<int64_t>(q.offset));
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(SqlRows rows, tx.Query(sql, params));
    for (const auto& r : rows) out.push_back(ReadJob(r));
    return Status::Ok();
  }));
  return out;
}

Result<std::optional<Job>> SqlStateStore::GetJob(int64_t id) {
  std::optional<Job> out;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.reset();
    ASSIGN_OR_RETURN(SqlRows rows,
                     tx.Query(std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?", {id}));
    if (!rows.empty()) out = ReadJob(rows[0]);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<Video>> SqlStateStore::PublishedVideos() {
  std::vector<Video> out;
  RETURN_IF_ERROR(db_->Transact(TxKind::kRead, [&](SqlTx& tx) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(SqlRows rows, tx.Query(std::string("SELECT ") + kVideoCols +
                                                " FROM videos WHERE published_job_id <> 0 "
                                                "ORDER BY id",
                                            {}));
    for (const auto& r : rows) out.push_back(ReadVideo(r));
    return Status::Ok();
  }));
  return out;
}

}  // namespace hlsforge::state
