// What every pipeline component is given: the backends and the tunables.
// The backends are owned by the caller (app) and outlive every component.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "coord/coordinator.h"
#include "state/state_store.h"
#include "storage/object_store.h"

namespace hlsforge::pipeline {

struct Backends {
  storage::ObjectStore* upload = nullptr;
  storage::ObjectStore* hls = nullptr;
  state::StateStore* state = nullptr;
  coord::Coordinator* coord = nullptr;
};

// Wake-up channels on the coordinator.
inline constexpr char kJobsChannel[] = "jobs";        // a job became runnable or assigned
inline constexpr char kUploadsChannel[] = "uploads";  // an object was put into the upload bucket

struct PipelineConfig {
  // watcher
  std::chrono::milliseconds poll_interval{2000};
  // Polls an object's (size, ETag) must stay unchanged before it is taken (file buckets: the
  // ETag covers size and mtime; S3 objects are atomic, 0 is right there).
  int settle_polls = 1;
  // ...and, when settle_polls > 0, the object must be at least this old (mtime).
  std::chrono::milliseconds settle_age{1000};
  // What happens to published output when its source disappears from the upload bucket.
  bool delete_output_with_source = false;

  // scheduler
  std::chrono::milliseconds schedule_interval{1000};
  std::chrono::milliseconds worker_timeout{15000};  // no heartbeat for this long = lost

  // worker
  std::chrono::milliseconds heartbeat_interval{2000};
  std::chrono::milliseconds lease{30000};
  int capacity = 1;
  double max_cpu_percent = 95;
  int64_t min_free_mem_bytes = 256ll << 20;
  std::string scratch_dir = "/tmp/hlsforge-scratch";
  std::chrono::milliseconds retry_base{5000};  // backoff: base * 2^(attempt-1), capped at 10 min
  int catalog_rung_height = 720;
};

}  // namespace hlsforge::pipeline
