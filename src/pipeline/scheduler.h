// Scheduler: hands queued jobs to the worker with the most headroom, and puts jobs of lost
// workers or expired leases back in the queue. Any number may run (serve, watcher processes);
// the coordinator lock "scheduler" lets one act at a time.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/services.h"

namespace hlsforge::pipeline {

// Headroom score of a worker able to take one more job, or a negative number if it must get
// nothing (lost, at capacity, above its CPU threshold, below its free-memory threshold).
double Headroom(const state::WorkerInfo& w, int assigned_not_started, int64_t now_ms,
                int64_t worker_timeout_ms);

struct ScheduleStats {
  int requeued = 0;
  int assigned = 0;
};

class Scheduler {
 public:
  Scheduler(Backends b, const PipelineConfig& config, std::string owner);
  ~Scheduler();

  Result<ScheduleStats> RunOnce();
  void Start();
  void Stop();

 private:
  Backends b_;
  PipelineConfig config_;
  std::string owner_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int64_t last_idle_log_ms_ = 0;
};

}  // namespace hlsforge::pipeline
