#include "hls/catalog.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "hls/parser.h"
#include "hls/writer.h"

namespace hlsforge::hls {

std::string BuildCatalog(const std::vector<CatalogEntry>& entries) {
  std::vector<const CatalogEntry*> sorted;
  sorted.reserve(entries.size());
  for (const auto& e : entries) {
    if (!e.uri.empty()) sorted.push_back(&e);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const CatalogEntry* a, const CatalogEntry* b) {
    if (a->name != b->name) return a->name < b->name;
    return a->uri < b->uri;
  });

  MasterPlaylist m;
  std::unordered_set<int64_t> taken;
  // For a wanted value w, every value in [w, resume[w]) is already taken (taken only grows), so
  // the search for the next free one resumes there: the same answer as counting up from w, but
  // n videos of one bandwidth cost O(n), not O(n^2) (10,000 of them: 194 ms -> 9 ms in
  // bench/micro, Catalog/same_bandwidth).
  std::unordered_map<int64_t, int64_t> resume;
  for (const CatalogEntry* e : sorted) {
    Variant v;
    // BANDWIDTH 0 is legal but would make every unmeasured video collide at the bottom.
    const int64_t wanted = std::max<int64_t>(e->bandwidth, 1);
    auto hint = resume.try_emplace(wanted, wanted).first;
    v.bandwidth = hint->second;
    while (!taken.insert(v.bandwidth).second) ++v.bandwidth;
    hint->second = v.bandwidth + 1;
    v.average_bandwidth = e->average_bandwidth;
    v.codecs = e->codecs;
    v.width = e->width;
    v.height = e->height;
    v.frame_rate = e->frame_rate;
    v.name = e->name;
    v.uri = e->uri;
    m.variants.push_back(std::move(v));
  }
  return WriteMaster(m);
}

Result<std::vector<CatalogEntry>> ParseCatalog(std::string_view text) {
  ASSIGN_OR_RETURN(MasterPlaylist m, ParseMaster(text));
  std::vector<CatalogEntry> entries;
  entries.reserve(m.variants.size());
  for (auto& v : m.variants) {
    CatalogEntry e;
    e.name = std::move(v.name);
    e.uri = std::move(v.uri);
    e.bandwidth = v.bandwidth;
    e.average_bandwidth = v.average_bandwidth;
    e.codecs = std::move(v.codecs);
    e.width = v.width;
    e.height = v.height;
    e.frame_rate = v.frame_rate;
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace hlsforge::hls
