// The production Encoder: media::EncodePackage (probe, plan the ladder, one ffmpeg run, measure,
// write the master) behind the pipeline's Encoder interface.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "pipeline/encoder.h"

namespace hlsforge::pipeline {

struct MediaEncoderOptions {
  std::string profile = "ladder";  // or "single"
  int threads = 0;                 // 0 = ffmpeg's choice
};

std::unique_ptr<Encoder> MakeMediaEncoder(const MediaEncoderOptions& options);

}  // namespace hlsforge::pipeline
