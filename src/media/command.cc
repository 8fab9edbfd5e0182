#include "media/command.h"

#include <cstdio>

namespace hlsforge::media {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::string FormatBitrate(int64_t bps) {
  if (bps >= 1000 && bps % 1000 == 0) return std::to_string(bps / 1000) + "k";
  return std::to_string(bps);
}

std::string BuildFilterGraph(const SourceInfo& src, const Ladder& ladder) {
  const size_t n = ladder.renditions.size();
  // The fps filter makes the output constant-rate: it duplicates/drops frames of a VFR source
  // onto the planned grid, applies the 60 fps cap, and is a no-op for a CFR source at the same
  // rate. It runs once, before the split. ffmpeg has already rotated the picture upright
  // (autorotate), so the sizes below are in display orientation.
  std::string g = "[0:" + std::to_string(src.video_index) + "]";
  // Interlaced sources (broadcast, DV, old camcorders): scaling fields as frames would comb.
  // bwdif (one frame per frame, only frames flagged interlaced) runs once, before the split.
  if (src.interlaced) g += "bwdif=mode=send_frame:parity=auto:deint=interlaced,";
  g += "fps=" + ladder.frame_rate.ToString();
  auto branch = [](const Rendition& r) {
    // setsar=1: square pixels, since the sizes already include the source's aspect.
    // format=yuv420p: 8-bit 4:2:0 H.264 (High profile) whatever the source (10-bit, 4:2:2 ProRes).
    return "scale=" + std::to_string(r.width) + ":" + std::to_string(r.height) +
           ":flags=bicubic,setsar=1,format=yuv420p";
  };
  if (n == 1) {
    return g + "," + branch(ladder.renditions[0]) + "[v0]";
  }
  g += ",split=" + std::to_string(n);
  for (size_t i = 0; i < n; ++i) g += "[s" + std::to_string(i) + "]";
  for (size_t i = 0; i < n; ++i) {
    g += ";[s" + std::to_string(i) + "]" + branch(ladder.renditions[i]) + "[v" + std::to_string(i) +
         "]";
  }
  return g;
}

std::vector<std::string> BuildEncodeCommand(const SourceInfo& src, const Ladder& ladder,
                                            const CommandOptions& options) {
  const size_t n = ladder.renditions.size();
  std::vector<std::string> a = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                                "-y",     "-nostats", "-progress",    "pipe:1"};
  // Input: local file protocol only, real containers only, and the demuxer that probing found,
  // so a disguised playlist can never be opened as one (see probe.h).
  a.insert(a.end(), {"-protocol_whitelist", "file", "-format_whitelist", kAllowedDemuxers, "-f",
                     src.demuxer});
  if (options.threads > 0) a.insert(a.end(), {"-threads", std::to_string(options.threads)});
  a.insert(a.end(), {"-i", src.path});

  a.insert(a.end(), {"-filter_complex", BuildFilterGraph(src, ladder)});
  for (size_t i = 0; i < n; ++i) {
    a.insert(a.end(), {"-map", "[v" + std::to_string(i) + "]"});
    if (ladder.audio) a.insert(a.end(), {"-map", "0:" + std::to_string(src.audio_index)});
  }
  a.insert(a.end(), {"-map_metadata", "-1", "-map_chapters", "-1"});

  // Video: libx264, sizes from the filter graph (no -s), rates per video stream (:v:i counts
  // only video streams, unlike the mission command's -s:N).
  const std::string preset =
      options.preset_override.empty() ? ladder.x264_preset : options.preset_override;
  a.insert(a.end(),
           {"-c:v", ladder.video_codec, "-preset", preset, "-profile:v", ladder.x264_profile});
  if (ladder.crf > 0) {
    a.insert(a.end(), {"-crf", std::to_string(ladder.crf)});
  }
  for (size_t i = 0; i < n; ++i) {
    const Rendition& r = ladder.renditions[i];
    const std::string s = std::to_string(i);
    if (ladder.crf <= 0) {
      a.insert(a.end(), {"-b:v:" + s, FormatBitrate(r.video_bitrate), "-maxrate:v:" + s,
                         FormatBitrate(r.maxrate), "-bufsize:v:" + s, FormatBitrate(r.bufsize)});
    }
  }
  // Keyframes: exactly every segment_seconds (forced, as IDR), never at scene cuts, closed GOPs,
  // so every segment of every rung starts with an IDR at the same instant and rungs align.
  const std::string gop = std::to_string(ladder.gop);
  a.insert(
      a.end(),
      {"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-flags", "+cgop", "-force_key_frames",
       "expr:gte(t,n_forced*" + Num(ladder.segment_seconds) + ")", "-forced-idr", "1"});

  if (ladder.audio) {
    // One AAC-LC encode per rung (a variant carries its own audio, as the mission's
    // var_stream_map pairs them), stereo downmix of any layout, 48 kHz.
    a.insert(a.end(), {"-c:a", "aac"});
    for (size_t i = 0; i < n; ++i) {
      a.insert(a.end(),
               {"-b:a:" + std::to_string(i), FormatBitrate(ladder.renditions[i].audio_bitrate)});
    }
    a.insert(a.end(), {"-ac", std::to_string(ladder.audio_channels), "-ar",
                       std::to_string(ladder.audio_sample_rate)});
  } else {
    a.push_back("-an");
  }
  a.insert(a.end(), {"-sn", "-dn"});
  if (options.threads > 0) a.insert(a.end(), {"-threads", std::to_string(options.threads)});
  // Many encoders behind one demuxer: let the muxer queue more before it gives up.
  a.insert(a.end(), {"-max_muxing_queue_size", "4096"});

  std::string var_map;
  for (size_t i = 0; i < n; ++i) {
    if (!var_map.empty()) var_map += ' ';
    var_map += "v:" + std::to_string(i);
    if (ladder.audio) var_map += ",a:" + std::to_string(i);
  }
  // HLS: no master (hlsforge writes it from measurements), one folder per rung.
  a.insert(a.end(), {"-f", "hls", "-hls_time", Num(ladder.segment_seconds), "-hls_playlist_type",
                     "vod", "-hls_list_size", "0", "-hls_flags", "independent_segments",
                     "-hls_segment_type", "mpegts", "-start_number", "0", "-hls_segment_filename",
                     "%v/%d.ts", "-var_stream_map", var_map, "%v/index.m3u8"});
  return a;
}

}  // namespace hlsforge::media
