#include "hls/ts_scan.h"

#include <algorithm>

namespace hlsforge::hls {
namespace {

constexpr size_t kTsPacket = 188;
constexpr uint8_t kSync = 0x47;

uint8_t U8(std::string_view d, size_t i) { return static_cast<uint8_t>(d[i]); }

// The first offset at which three consecutive packets start with the sync byte (or one, for
// files shorter than that): tolerates a little leading junk without guessing wildly.
size_t FindSync(std::string_view d) {
  for (size_t off = 0; off < kTsPacket && off < d.size(); ++off) {
    bool ok = true;
    for (size_t k = 0; k < 3 && off + k * kTsPacket < d.size(); ++k) {
      ok &= U8(d, off + k * kTsPacket) == kSync;
    }
    if (ok && U8(d, off) == kSync) return off;
  }
  return std::string_view::npos;
}

struct TsPacket {
  int pid = -1;
  bool pusi = false;
  std::string_view payload;
};

bool ParsePacket(std::string_view p, TsPacket& out) {
  if (p.size() < kTsPacket || U8(p, 0) != kSync) return false;
  out.pid = ((U8(p, 1) & 0x1F) << 8) | U8(p, 2);
  out.pusi = (U8(p, 1) & 0x40) != 0;
  int afc = (U8(p, 3) >> 4) & 0x3;
  size_t start = 4;
  if (afc == 2 || afc == 0) {
    out.payload = {};
    return true;
  }
  if (afc == 3) start = 5 + U8(p, 4);
  if (start > kTsPacket) return false;
  out.payload = p.substr(start, kTsPacket - start);
  return true;
}

// A PSI section that starts in this packet (pointer_field skipped); empty if malformed.
std::string_view Section(const TsPacket& pkt) {
  if (!pkt.pusi || pkt.payload.empty()) return {};
  size_t ptr = U8(pkt.payload, 0);
  if (1 + ptr + 3 > pkt.payload.size()) return {};
  std::string_view s = pkt.payload.substr(1 + ptr);
  size_t len = ((U8(s, 1) & 0x0F) << 8) | U8(s, 2);
  return s.substr(0, std::min(s.size(), 3 + len));
}

bool IsVcl(VideoCodec c, int t) {
  return c == VideoCodec::kH264 ? (t >= 1 && t <= 5) : (t >= 0 && t <= 31);
}

void ScanNals(std::string_view es, VideoCodec codec, TsVideoStart& r) {
  size_t i = 0;
  while (true) {
    // Find the next 00 00 01 start code.
    size_t sc = std::string_view::npos;
    for (size_t k = i; k + 3 <= es.size(); ++k) {
      if (es[k] == 0 && es[k + 1] == 0 && es[k + 2] == 1) {
        sc = k;
        break;
      }
    }
    if (sc == std::string_view::npos || sc + 3 >= es.size()) return;
    size_t h = sc + 3;
    int type = codec == VideoCodec::kH264 ? (U8(es, h) & 0x1F) : ((U8(es, h) >> 1) & 0x3F);
    r.nal_types.push_back(type);
    if (codec == VideoCodec::kH264 && type == 7 && h + 3 < es.size() && !r.has_sps) {
      r.has_sps = true;
      r.profile_idc = U8(es, h + 1);
      r.constraint_flags = U8(es, h + 2);
      r.level_idc = U8(es, h + 3);
    }
    if (IsVcl(codec, type)) {
      r.first_slice_nal_type = type;
      return;
    }
    bool param_set =
        codec == VideoCodec::kH264 ? (type == 7 || type == 8) : (type >= 32 && type <= 34);
    if (param_set) {
      size_t end = es.find(std::string_view("\0\0\1", 3), h);
      if (end == std::string_view::npos) end = es.size();
      std::string_view nal = es.substr(h, std::min<size_t>(end - h, 4096));
      while (!nal.empty() && nal.back() == 0) nal.remove_suffix(1);  // zero_byte of the next
      r.parameter_sets.append(nal);
      r.parameter_sets += '|';
    }
    if (r.nal_types.size() > 1000) return;  // not a sane access unit
    i = h;
  }
}

}  // namespace

bool TsVideoStart::StartsWithIdr() const {
  if (!starts_at_pes) return false;
  if (codec == VideoCodec::kH264) {
    bool sps = std::find(nal_types.begin(), nal_types.end(), 7) != nal_types.end();
    bool pps = std::find(nal_types.begin(), nal_types.end(), 8) != nal_types.end();
    return first_slice_nal_type == 5 && sps && pps;
  }
  if (codec == VideoCodec::kHevc) return first_slice_nal_type == 19 || first_slice_nal_type == 20;
  return false;
}

std::string TsVideoStart::Explain() const {
  if (StartsWithIdr()) return "";
  switch (codec) {
    case VideoCodec::kNone:
      return "no video stream found in the PMT";
    case VideoCodec::kOther:
      return "video stream is neither H.264 nor HEVC (cannot check for IDR)";
    default:
      break;
  }
  if (!video_packet_found) return "no video packet found";
  if (!starts_at_pes) return "first video packet continues a frame from elsewhere";
  if (first_slice_nal_type < 0) return "no coded slice in the first access unit";
  std::string s = "first coded slice has NAL type " + std::to_string(first_slice_nal_type);
  if (codec == VideoCodec::kH264) {
    if (first_slice_nal_type != 5) return s + " (not IDR 5)";
    return s + " but no SPS/PPS before it";
  }
  return s + " (not IDR 19/20)";
}

TsVideoStart ScanTsVideoStart(std::string_view d) {
  TsVideoStart r;
  size_t off = FindSync(d);
  if (off == std::string_view::npos) return r;
  int pmt_pid = -1;
  std::string es;  // elementary stream bytes of the first PES of the video PID
  for (; off + kTsPacket <= d.size(); off += kTsPacket) {
    TsPacket pkt;
    if (!ParsePacket(d.substr(off, kTsPacket), pkt)) continue;  // lost sync: skip packet
    if (pkt.pid == 0 && pmt_pid < 0) {
      std::string_view s = Section(pkt);
      if (s.size() < 12 || U8(s, 0) != 0x00) continue;
      for (size_t k = 8; k + 4 <= s.size() - 4; k += 4) {
        int program = (U8(s, k) << 8) | U8(s, k + 1);
        if (program != 0) {
          pmt_pid = ((U8(s, k + 2) & 0x1F) << 8) | U8(s, k + 3);
          break;
        }
      }
    } else if (pkt.pid == pmt_pid && r.pid < 0) {
      std::string_view s = Section(pkt);
      if (s.size() < 16 || U8(s, 0) != 0x02) continue;
      size_t info_len = ((U8(s, 10) & 0x0F) << 8) | U8(s, 11);
      size_t end = s.size() - 4;  // CRC
      for (size_t k = 12 + info_len; k + 5 <= end;) {
        int type = U8(s, k);
        int pid = ((U8(s, k + 1) & 0x1F) << 8) | U8(s, k + 2);
        size_t es_len = ((U8(s, k + 3) & 0x0F) << 8) | U8(s, k + 4);
        VideoCodec c = type == 0x1B   ? VideoCodec::kH264
                       : type == 0x24 ? VideoCodec::kHevc
                       : (type == 0x01 || type == 0x02 || type == 0x10 || type == 0x20 ||
                          type == 0x42 || type == 0xEA)
                           ? VideoCodec::kOther
                           : VideoCodec::kNone;
        if (c != VideoCodec::kNone) {
          r.codec = c;
          r.pid = pid;
          break;
        }
        k += 5 + es_len;
      }
    } else if (pkt.pid == r.pid && r.pid >= 0) {
      if (!r.video_packet_found) {
        r.video_packet_found = true;
        r.starts_at_pes = pkt.pusi;
        if (!pkt.pusi) return r;
      } else if (pkt.pusi) {
        break;  // the next access unit begins
      }
      es.append(pkt.payload);
      if (es.size() > (4u << 20)) break;
    }
  }
  if (r.codec != VideoCodec::kH264 && r.codec != VideoCodec::kHevc) return r;
  // PES header: 00 00 01 stream_id len(2) flags(2) header_data_length(1) ...
  if (es.size() < 9 || es[0] != 0 || es[1] != 0 || es[2] != 1) return r;
  size_t payload = 9 + static_cast<uint8_t>(es[8]);
  if (payload > es.size()) return r;
  ScanNals(std::string_view(es).substr(payload), r.codec, r);
  return r;
}

}  // namespace hlsforge::hls
