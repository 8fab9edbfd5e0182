// Reading the start of an MPEG-TS segment ourselves, to answer "does it start with an IDR?".
//
// Why not ffprobe: the packet key flag (-show_packets flags=K) and the decoder's key_frame /
// pict_type (-show_frames) are both set for an x264 open-GOP I-frame that carries a recovery
// point SEI, which is NOT an IDR: a player joining there shows garbage (leading B-frames point
// into the previous segment) and, with x264 in a TS, may not even get SPS/PPS. The NAL unit type
// of the first coded slice is the ground truth: 5 (H.264 IDR) or 19/20 (HEVC IDR_W_RADL /
// IDR_N_LP). So we parse PAT -> PMT -> the first video PES (the first access unit) and list its
// NAL units. Only the first bytes of the file are needed (the caller passes e.g. 1 MiB).
//
// Pure functions, thread-safe, bounded by the input size; malformed input never crashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hlsforge::hls {

enum class VideoCodec { kNone, kH264, kHevc, kOther };

struct TsVideoStart {
  VideoCodec codec = VideoCodec::kNone;  // from the PMT stream_type of the first video stream
  int pid = -1;
  bool video_packet_found = false;  // a TS packet of that PID is in the data
  // The first TS packet of the video PID starts a PES (payload_unit_start_indicator): the
  // segment does not begin in the middle of a frame.
  bool starts_at_pes = false;
  // NAL unit types of the first access unit up to and including its first coded slice.
  std::vector<int> nal_types;
  int first_slice_nal_type = -1;  // -1 = no coded slice found
  // From the H.264 SPS in the first access unit, if any (the bytes of avc1.PPCCLL).
  bool has_sps = false;
  int profile_idc = 0, constraint_flags = 0, level_idc = 0;
  // The parameter set NAL units (H.264 SPS/PPS, HEVC VPS/SPS/PPS) of the first access unit,
  // byte for byte: segments with equal parameter sets have the same size, profile and level.
  std::string parameter_sets;

  // A decoder can start here: first access unit at a PES start, first slice is an IDR, and
  // (H.264) the parameter sets come with it.
  bool StartsWithIdr() const;
  // Why StartsWithIdr() is false, in words ("" when it is true).
  std::string Explain() const;
};

// `data` is the beginning of a TS file (188-byte packets). Never fails: what could not be
// found is left at its default.
TsVideoStart ScanTsVideoStart(std::string_view data);

}  // namespace hlsforge::hls
