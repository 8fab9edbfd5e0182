// Host load as the scheduler sees it: CPU use and memory, read from /proc.
#pragma once

#include <cstdint>
#include <string>

namespace hlsforge::pipeline {

struct HostLoad {
  double cpu_percent = 0;  // whole host, 0..100, since the previous sample
  int64_t mem_total_bytes = 0;
  int64_t mem_available_bytes = 0;
};

// Samples /proc/stat and /proc/meminfo. Not thread-safe: one sampler per heartbeat thread.
class LoadSampler {
 public:
  HostLoad Sample();

 private:
  uint64_t prev_idle_ = 0, prev_total_ = 0;
};

std::string HostName();

}  // namespace hlsforge::pipeline
