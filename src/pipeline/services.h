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
  // An object is taken once it looks complete, judged at the poll that first sees it:
  //  - settle_age: its mtime is at least this old (a folder bucket lists a file while `cp` still
  //    writes it; the writing keeps its mtime fresh). An old file is taken at first sight.
  //  - settle_recheck: it is unchanged (same ETag) this long after it was first seen (s3rver
  //    lists an object while its PUT still streams). 0 = no second look.
  // The watcher wakes when the earliest waiting object is due, not a whole interval later, so a
  // new object is queued within one poll interval plus at most the larger of the two.
  std::chrono::milliseconds settle_age{1000};
  std::chrono::milliseconds settle_recheck{0};
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
