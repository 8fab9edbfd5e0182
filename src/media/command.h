// Building the one ffmpeg command that encodes a whole ladder.
//
// Pure functions; thread-safe. The command decodes the source once, splits the picture in one
// filter graph, scales each branch to its rung's exact size (so sizes never depend on -s:N,
// which counts audio streams too), converts to 8-bit 4:2:0, and feeds one libx264 encoder and
// (when the source has audio) one AAC encoder per rung into the HLS muxer.
//
// Output paths in the command are RELATIVE ("%v/index.m3u8", "%v/%d.ts"): run it with the
// package folder as the working directory. That keeps a '%' in a user's folder name away from
// the HLS muxer's filename templates. The input path is absolute, so it can never be read as
// an option or as "proto:..." by ffmpeg.
#pragma once

#include <string>
#include <vector>

#include "media/ladder.h"
#include "media/probe.h"

namespace hlsforge::media {

struct CommandOptions {
  // Threads for the decoder and for each encoder (ffmpeg -threads); 0 = ffmpeg's automatic
  // choice (one per core).
  int threads = 0;
  // Overrides the ladder's x264 preset (tests only; "" = keep).
  std::string preset_override;
};

// The filter graph: "[0:V]fps=R,split=N[s0]..;[s0]scale=W:H:...,setsar=1,format=yuv420p[v0];..".
// With one rendition there is no split.
std::string BuildFilterGraph(const SourceInfo& src, const Ladder& ladder);

// Full argv (argv[0] = "ffmpeg").
std::vector<std::string> BuildEncodeCommand(const SourceInfo& src, const Ladder& ladder,
                                            const CommandOptions& options = {});

// 800000 → "800k", 1500 → "1500", 2500000 → "2500k".
std::string FormatBitrate(int64_t bits_per_second);

}  // namespace hlsforge::media
