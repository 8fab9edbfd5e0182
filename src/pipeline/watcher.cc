#include "pipeline/watcher.h"

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
      // Not taken half-written: the same ETag must be seen on settle_polls consecutive polls.
      auto& p = pending_[o.key];
      if (p.first != o.etag) p = {o.etag, 0};
      const bool fresh = config_.settle_polls > 0 && o.mtime_ms > NowMs() - config_.settle_age.count();
      if (p.second < config_.settle_polls || fresh) {
        p.second++;
        stats.waiting++;
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
  thread_ = std::thread([this] {
    while (!stop_) {
      auto r = PollOnce();
      if (!r.ok()) {
        HF_LOG_WARN("watcher: poll failed: {}", r.status().ToString());
      } else if (r->queued || r->rejected) {
        HF_LOG_INFO("watcher: listed={} queued={} waiting={} rejected={}", r->listed, r->queued,
                    r->waiting, r->rejected);
      }
      // Short waits while something is settling, the full interval otherwise.
      auto wait = config_.poll_interval;
      if (r.ok() && r->waiting > 0) wait = std::min(wait, std::chrono::milliseconds(500));
      (void)b_.coord->Wait(kUploadsChannel, wait);
    }
  });
}

void Watcher::Stop() {
  stop_ = true;
  (void)b_.coord->Notify(kUploadsChannel);
  if (thread_.joinable()) thread_.join();
}

}  // namespace hlsforge::pipeline
