#include "pipeline/sysinfo.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace hlsforge::pipeline {

HostLoad LoadSampler::Sample() {
  HostLoad load;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  uint64_t v[10] = {0};
  stat >> cpu;
  for (auto& x : v) stat >> x;
  uint64_t idle = v[3] + v[4];
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) total += v[i];  // guest time is already counted in user
  if (prev_total_ != 0 && total > prev_total_) {
    double dt = static_cast<double>(total - prev_total_);
    double di = static_cast<double>(idle - prev_idle_);
    load.cpu_percent = 100.0 * (1.0 - di / dt);
    if (load.cpu_percent < 0) load.cpu_percent = 0;
  }
  prev_idle_ = idle;
  prev_total_ = total;

  std::ifstream mem("/proc/meminfo");
  std::string line;
  while (std::getline(mem, line)) {
    std::istringstream ss(line);
    std::string key;
    int64_t kb = 0;
    ss >> key >> kb;
    if (key == "MemTotal:") load.mem_total_bytes = kb * 1024;
    if (key == "MemAvailable:") load.mem_available_bytes = kb * 1024;
  }
  return load;
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace hlsforge::pipeline
