// Worker: claims jobs assigned to it, and for each one downloads the source to scratch,
// encodes it, publishes the package and records every step, holding a lease the whole time.
// Reports its load in a heartbeat so the scheduler can pick it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/encoder.h"
#include "pipeline/services.h"
#include "pipeline/sysinfo.h"

namespace hlsforge::pipeline {

struct WorkerOptions {
  std::string id;                // stable id, e.g. "host/w1"; must be unique among live workers
  bool take_unassigned = false;  // claim queued jobs directly (no scheduler needed)
};

class Worker {
 public:
  // `encoder` and the backends must outlive the worker.
  Worker(Backends b, const PipelineConfig& config, WorkerOptions options, Encoder* encoder);
  ~Worker();

  const std::string& id() const { return options_.id; }

  // Starts the heartbeat and `capacity` job slots. Jobs this worker id still held from an
  // earlier life of the process (killed) are handed back to the queue first.
  void Start();
  // Stops taking work. Running jobs are cancelled and handed back to the queue (their encode
  // starts again elsewhere); blocks until every slot has stopped.
  void Stop();

  // Runs one claimed job to its end (ready, failed, retry, cancelled or lease lost). Public for
  // tests; Start() calls it from the slots.
  void RunJob(const state::Job& job);

  // Claims and runs at most one job; false when there was nothing to do. For tests.
  bool RunOneJob();

  void SendHeartbeat();

 private:
  struct Running {
    state::Job job;
    std::atomic<bool> cancel{false};
    std::atomic<double> progress{0};
  };

  Status DoJob(Running& run, const std::filesystem::path& scratch);
  void Slot();

  Backends b_;
  PipelineConfig config_;
  WorkerOptions options_;
  Encoder* encoder_;
  LoadSampler sampler_;
  std::mutex mu_;
  std::map<int64_t, Running*> running_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  int64_t started_ms_ = 0;
};

}  // namespace hlsforge::pipeline
