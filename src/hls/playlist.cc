#include "hls/playlist.h"

namespace hlsforge::hls {

double MediaPlaylist::TotalDuration() const {
  double total = 0;
  for (const auto& s : segments) total += s.duration;
  return total;
}

}  // namespace hlsforge::hls
