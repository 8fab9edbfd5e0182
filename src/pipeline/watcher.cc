#include "pipeline/watcher.h"

#include <algorithm>

#include "common/fs.h"
#include "common/log.h"
#include "pipeline/naming.h"
#include "pipeline/publisher.h"

namespace hlsforge::pipeline {

Watcher::Watcher(Backends b, const PipelineConfig& config)
    : b_(b), config_(config) {}

Watcher::~Watcher() { Stop(); }

Result<PollStats> Watcher::PollOnce() {
  PollStats stats;
  std::set<std::string> present;
  std::string token;
  do {
    ASSIGN_OR_RETURN(storage::ListPage page, b_.upload->List("", token, 1000));
    for (const auto& o : page.objects) {
      stats.listed++;
      if (!IsCandidateObject(o.key)) {
        stats.skipped++;
        continue;
      }
      present.insert(o.key);
      const std::string id = o.key + '\0' + o.etag;
      if (known_.count(id)) {
        stats.skipped++;
        continue;
      }
      // Not taken half-written: old enough (mtime) and, where asked, unchanged on a second look.
      const int64_t now = NowMs();
      auto [it, inserted] = pending_.try_emplace(o.key, Pending{o.etag, now});
      if (!inserted && it->second.etag != o.etag) it->second = {o.etag, now};
      int64_t due = it->second.first_seen_ms + config_.settle_recheck.count();
      if (config_.settle_age.count() > 0) {
        // An mtime in the future (clock skew, unpacked archives) counts from the first sighting.
        const int64_t written = std::min(o.mtime_ms, it->second.first_seen_ms);
        due = std::max(due, written + config_.settle_age.count());
      }
      if (due > now) {
        stats.waiting++;
        stats.next_due_ms = stats.next_due_ms == 0 ? due : std::min(stats.next_due_ms, due);
        continue;
      }
      pending_.erase(o.key);
      auto slug = MakeSlug(o.key);
      if (!slug.ok()) {
        HF_LOG_WARN("object={} rejected: {}", o.key, slug.status().message());
        known_.insert(id);
        stats.rejected++;
        continue;
      }
      auto job = b_.state->RecordObject(o.key, *slug, o.etag, static_cast<int64_t>(o.size));
      if (!job.ok()) {
        if (job.status().code() == Code::kAlreadyExists || job.status().code() == Code::kInvalidArgument) {
          HF_LOG_WARN("object={} rejected: {}", o.key, job.status().message());
          known_.insert(id);
          stats.rejected++;
          continue;
        }
        return job.status().Annotate("record " + o.key);
      }
      known_.insert(id);
      // Advisory copy for other processes; the state store already decided.
      (void)b_.coord->MarkSeen(o.key, o.etag);
      if (job->has_value()) {
        stats.queued++;
        HF_LOG_INFO("video={} job={} queued (etag={}, {} bytes)", *slug, **job, o.etag, o.size);
      } else {
        stats.skipped++;
      }
    }
    token = page.next_token;
  } while (!token.empty());

  // Sources that disappeared since the last poll.
  std::vector<std::string> gone;
  if (!first_poll_) {
    for (const auto& name : present_) {
      if (!present.count(name)) gone.push_back(name);
    }
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = present.count(it->first) ? std::next(it) : pending_.erase(it);
  }
  if (!gone.empty()) {
    auto n = b_.state->MarkSourceDeleted(gone);
    if (!n.ok()) HF_LOG_WARN("could not mark deleted sources: {}", n.status().ToString());
    for (const auto& name : gone) {
      HF_LOG_INFO("object={} removed from the upload bucket; output {}", name,
                  config_.delete_output_with_source ? "removed" : "kept");
      if (config_.delete_output_with_source) {
        auto v = b_.state->GetVideoByName(name);
        if (v.ok() && v->has_value()) {
          (void)b_.state->DeleteVideo((*v)->id);
          (void)UnpublishVideo(*b_.hls, (*v)->slug);
          (void)RebuildCatalog(*b_.state, *b_.coord, *b_.hls, "watcher");
        }
      }
    }
  }
  present_ = std::move(present);
  first_poll_ = false;
  if (stats.queued > 0) (void)b_.coord->Notify(kJobsChannel);
  return stats;
}

void Watcher::Start() {
  stop_ = false;
  change_watch_ = b_.upload->WatchChanges([coord = b_.coord] { (void)coord->Notify(kUploadsChannel); });
  if (change_watch_) {
    HF_LOG_INFO("watcher: {} notifies changes; polling every {} ms as well", b_.upload->Url(),
                config_.poll_interval.count());
  }
  thread_ = std::thread([this] {
    while (!stop_) {
      const int64_t started = NowMs();
      auto r = PollOnce();
      if (!r.ok()) {
        HF_LOG_WARN("watcher: poll failed: {}", r.status().ToString());
      } else if (r->queued || r->rejected) {
        HF_LOG_INFO("watcher: listed={} queued={} waiting={} rejected={}", r->listed, r->queued,
                    r->waiting, r->rejected);
      }
      // Polls start one interval apart (a slow listing does not stretch the cycle), sooner when
      // a waiting object becomes due. A listing longer than the interval still leaves a quarter
      // interval of rest, so a huge bucket is not listed back to back.
      const int64_t interval = config_.poll_interval.count();
      int64_t wait = std::max(started + interval - NowMs(), interval / 4);
      if (r.ok() && r->next_due_ms > 0) wait = std::min(wait, std::max<int64_t>(r->next_due_ms - NowMs(), 10));
      (void)b_.coord->Wait(kUploadsChannel, std::chrono::milliseconds(wait));
    }
  });
}

void Watcher::Stop() {
  change_watch_.reset();  // joins its thread: no Notify from it after this
  stop_ = true;
  (void)b_.coord->Notify(kUploadsChannel);
  if (thread_.joinable()) thread_.join();
}

}  // namespace hlsforge::pipeline
