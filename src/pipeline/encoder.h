// The encoder as the pipeline sees it: one call turns a local source file into a finished
// HLS package in a local folder. The production implementation wraps media::EncodePackage
// (media_encoder.cc); unit tests use fakes.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace hlsforge::pipeline {

struct RenditionFacts {
  int index = 0;        // folder number, 0 = lowest
  std::string label;    // "720p"
  int width = 0, height = 0;
  int64_t bandwidth = 0, average_bandwidth = 0;
  std::string codecs;
  double frame_rate = 0;
  int segments = 0;
  int64_t bytes = 0;
  double duration = 0;
};

struct EncodeOutput {
  nlohmann::json source;  // probe facts
  std::vector<RenditionFacts> renditions;  // sorted by index
};

struct EncodeRequest {
  std::filesystem::path input;
  std::filesystem::path outdir;  // must not exist; on success holds master.m3u8, <i>/...
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(double percent, double speed)> on_progress;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Blocking. kBadInput for unusable media (not retried), kCancelled when *cancel was raised.
  virtual Result<EncodeOutput> Encode(const EncodeRequest& request) = 0;
};

nlohmann::json ToJson(const RenditionFacts& r);

}  // namespace hlsforge::pipeline
