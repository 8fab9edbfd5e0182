#include "pipeline/scheduler.h"

#include <map>

#include "common/fs.h"
#include "common/log.h"

namespace hlsforge::pipeline {

double Headroom(const state::WorkerInfo& w, int assigned, int64_t now_ms, int64_t timeout_ms) {
  if (w.last_heartbeat_ms < now_ms - timeout_ms) return -1;
  if (w.running_jobs + assigned >= w.capacity) return -1;
  if (w.cpu_percent > w.max_cpu_percent) return -1;
  if (w.mem_available_bytes < w.min_free_mem_bytes) return -1;
  // Free CPU and free memory count equally; free slots break ties. A job assigned but not yet
  // started will soon use CPU, so each one takes a share of the free CPU away.
  double cpu_free = std::max(0.0, 100.0 - w.cpu_percent) / 100.0;
  double per_slot = 1.0 / std::max(1, w.capacity);
  cpu_free = std::max(0.0, cpu_free - per_slot * assigned);
  double mem_free = w.mem_total_bytes > 0
                        ? static_cast<double>(w.mem_available_bytes) / w.mem_total_bytes
                        : 0.0;
  double slots = static_cast<double>(w.capacity - w.running_jobs - assigned) / w.capacity;
  return cpu_free + mem_free + 0.01 * slots;
}

Scheduler::Scheduler(Backends b, const PipelineConfig& config, std::string owner)
    : b_(b), config_(config), owner_(std::move(owner)) {}

Scheduler::~Scheduler() { Stop(); }

Result<ScheduleStats> Scheduler::RunOnce() {
  ScheduleStats stats;
  ASSIGN_OR_RETURN(bool leader, b_.coord->TryLock("scheduler", owner_, config_.schedule_interval * 5));
  if (!leader) return stats;
  const int64_t now = NowMs();
  ASSIGN_OR_RETURN(stats.requeued,
                   b_.state->RequeueExpired(now, now - config_.worker_timeout.count()));
  if (stats.requeued > 0) HF_LOG_INFO("scheduler: {} jobs back in the queue", stats.requeued);

  ASSIGN_OR_RETURN(auto workers, b_.state->Workers());
  if (workers.empty()) return stats;
  // Jobs assigned but not yet claimed count against their worker.
  state::JobQuery q;
  q.state = state::JobState::kAssigned;
  q.limit = 10000;
  ASSIGN_OR_RETURN(auto assigned_jobs, b_.state->ListJobs(q));
  std::map<std::string, int> assigned;
  for (const auto& j : assigned_jobs) assigned[j.worker_id]++;

  ASSIGN_OR_RETURN(auto runnable, b_.state->RunnableJobs(now, 200));
  for (const auto& job : runnable) {
    const state::WorkerInfo* best = nullptr;
    double best_score = -1;
    for (const auto& w : workers) {
      double s = Headroom(w, assigned[w.id], now, config_.worker_timeout.count());
      if (s > best_score) {
        best_score = s;
        best = &w;
      }
    }
    if (best == nullptr || best_score < 0) {
      // Nobody can take more now. Say why now and then, so a queue that does not move is
      // explained in the log (busy host, full workers, none alive).
      const int64_t t = NowMs();
      if (t - last_idle_log_ms_ > 30000) {
        last_idle_log_ms_ = t;
        for (const auto& w : workers) {
          HF_LOG_INFO("scheduler: job={} waits; worker={} cpu={:.0f}% (max {:.0f}) mem_free={} MiB "
                      "(min {}) running={}+{} of {} heartbeat={} ms ago",
                      job.id, w.id, w.cpu_percent, w.max_cpu_percent,
                      w.mem_available_bytes >> 20, w.min_free_mem_bytes >> 20, w.running_jobs,
                      assigned[w.id], w.capacity, t - w.last_heartbeat_ms);
        }
      }
      break;
    }
    Status s = b_.state->AssignJob(job.id, best->id);
    if (s.code() == Code::kFailedPrecondition) continue;  // taken meanwhile
    RETURN_IF_ERROR(s);
    assigned[best->id]++;
    stats.assigned++;
    HF_LOG_INFO("video={} job={} worker={} assigned (headroom {:.2f})", job.slug, job.id, best->id,
                best_score);
  }
  if (stats.assigned > 0) (void)b_.coord->Notify(kJobsChannel);
  return stats;
}

void Scheduler::Start() {
  stop_ = false;
  thread_ = std::thread([this] {
    while (!stop_) {
      auto r = RunOnce();
      if (!r.ok()) HF_LOG_WARN("scheduler: {}", r.status().ToString());
      (void)b_.coord->Wait(kJobsChannel, config_.schedule_interval);
    }
    (void)b_.coord->Unlock("scheduler", owner_);
  });
}

void Scheduler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace hlsforge::pipeline
