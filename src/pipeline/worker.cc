#include "pipeline/worker.h"

#include <cmath>
#include <condition_variable>

#include "common/fs.h"
#include "common/log.h"
#include "pipeline/publisher.h"

namespace hlsforge::pipeline {
namespace fs = std::filesystem;
using state::JobState;

nlohmann::json ToJson(const RenditionFacts& r) {
  return {{"index", r.index},         {"label", r.label},
          {"width", r.width},         {"height", r.height},
          {"bandwidth", r.bandwidth}, {"average_bandwidth", r.average_bandwidth},
          {"codecs", r.codecs},       {"frame_rate", r.frame_rate},
          {"segments", r.segments},   {"bytes", r.bytes},
          {"duration", r.duration}};
}

Worker::Worker(Backends b, const PipelineConfig& config, WorkerOptions options, Encoder* encoder)
    : b_(b), config_(config), options_(std::move(options)), encoder_(encoder) {
  started_ms_ = NowMs();
  sampler_.Sample();  // prime the CPU counters
}

Worker::~Worker() { Stop(); }

void Worker::SendHeartbeat() {
  HostLoad load = sampler_.Sample();
  state::WorkerInfo w;
  w.id = options_.id;
  w.host = HostName();
  w.cpu_percent = load.cpu_percent;
  w.mem_total_bytes = load.mem_total_bytes;
  w.mem_available_bytes = load.mem_available_bytes;
  w.capacity = config_.capacity;
  w.max_cpu_percent = config_.max_cpu_percent;
  w.min_free_mem_bytes = config_.min_free_mem_bytes;
  w.started_ms = started_ms_;
  w.last_heartbeat_ms = NowMs();
  nlohmann::json cur = nlohmann::json::array();
  {
    std::lock_guard<std::mutex> l(mu_);
    w.running_jobs = static_cast<int>(running_.size());
    for (const auto& [id, r] : running_) {
      cur.push_back({{"job", id}, {"video", r->job.video_id}, {"name", r->job.video_name},
                     {"progress", r->progress.load()}});
    }
  }
  w.current_json = cur.dump();
  Status s = b_.state->Heartbeat(w);
  if (!s.ok()) HF_LOG_WARN("worker={} heartbeat failed: {}", w.id, s.ToString());
  (void)b_.coord->PublishHeartbeat(w.id, nlohmann::json{{"cpu", w.cpu_percent},
                                                        {"mem_available", w.mem_available_bytes},
                                                        {"running", w.running_jobs}}
                                             .dump(),
                                   config_.worker_timeout);
}

void Worker::Start() {
  stop_ = false;
  std::error_code ec;
  fs::remove_all(fs::path(config_.scratch_dir) / options_.id, ec);
  // Jobs this id still holds belong to an earlier life of this worker: hand them back now
  // rather than waiting for their leases to expire.
  for (auto st : {JobState::kAssigned, JobState::kDownloading, JobState::kEncoding,
                  JobState::kUploading}) {
    state::JobQuery q;
    q.state = st;
    q.limit = 1000;
    auto jobs = b_.state->ListJobs(q);
    if (!jobs.ok()) continue;
    for (const auto& j : *jobs) {
      if (j.worker_id != options_.id || st == JobState::kAssigned) continue;
      if (b_.state->ReleaseJob(j.id, j.lease_token).ok()) {
        HF_LOG_INFO("video={} job={} worker={} handed back after restart", j.slug, j.id, options_.id);
      }
    }
  }
  SendHeartbeat();
  threads_.emplace_back([this] {
    while (!stop_) {
      for (int i = 0; i < 20 && !stop_; ++i) {
        std::this_thread::sleep_for(config_.heartbeat_interval / 20);
      }
      if (!stop_) SendHeartbeat();
    }
  });
  for (int i = 0; i < config_.capacity; ++i) threads_.emplace_back([this] { Slot(); });
}

void Worker::Stop() {
  if (stop_.exchange(true)) {
    for (auto& t : threads_) if (t.joinable()) t.join();
    threads_.clear();
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, r] : running_) r->cancel = true;
  }
  (void)b_.coord->Notify(kJobsChannel);
  for (auto& t : threads_) if (t.joinable()) t.join();
  threads_.clear();
}

void Worker::Slot() {
  while (!stop_) {
    if (!RunOneJob()) (void)b_.coord->Wait(kJobsChannel, std::chrono::milliseconds(1000));
  }
}

bool Worker::RunOneJob() {
  auto claimed = b_.state->ClaimJob(options_.id, NowMs(), config_.lease.count(),
                                    options_.take_unassigned);
  if (!claimed.ok()) {
    HF_LOG_WARN("worker={} claim failed: {}", options_.id, claimed.status().ToString());
    return false;
  }
  if (!claimed->has_value()) return false;
  RunJob(**claimed);
  (void)b_.coord->Notify(kJobsChannel);  // a slot is free again: the scheduler may assign more
  return true;
}

void Worker::RunJob(const state::Job& job) {
  Running run;
  run.job = job;
  {
    std::lock_guard<std::mutex> l(mu_);
    running_[job.id] = &run;
  }
  const std::string ids = "video=" + job.slug + " job=" + std::to_string(job.id) +
                          " worker=" + options_.id;
  HF_LOG_INFO("{} started (attempt {}/{})", ids, job.attempts, job.max_attempts);

  // Lease keeper: renews every lease/3; a refusal means the lease is gone (expired and taken,
  // or the job was cancelled), so the work stops.
  std::mutex lm;
  std::condition_variable lcv;
  bool done = false;
  std::atomic<bool> lease_lost{false};
  std::thread keeper([&] {
    std::unique_lock<std::mutex> l(lm);
    while (!lcv.wait_for(l, config_.lease / 3, [&] { return done; })) {
      Status s = b_.state->RenewLease(job.id, job.lease_token, NowMs() + config_.lease.count());
      if (s.code() == Code::kAborted) {
        lease_lost = true;
        run.cancel = true;
        HF_LOG_WARN("{} lease refused: {}", ids, s.message());
        return;
      }
      if (!s.ok()) HF_LOG_WARN("{} lease renewal failed (will retry): {}", ids, s.ToString());
    }
  });

  fs::path scratch = fs::path(config_.scratch_dir) / options_.id / std::to_string(job.id);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch, ec);
  Status result = ec ? ResourceExhausted("cannot create scratch folder " + scratch.string() +
                                         ": " + ec.message())
                     : DoJob(run, scratch);
  {
    std::lock_guard<std::mutex> l(lm);
    done = true;
  }
  lcv.notify_all();
  keeper.join();
  fs::remove_all(scratch, ec);

  if (result.ok()) {
    HF_LOG_INFO("{} ready", ids);
  } else {
    // Why did it stop? A cancel request and a lost lease both surface as kAborted/kCancelled.
    auto fresh = b_.state->GetJob(job.id);
    bool cancel_requested = fresh.ok() && fresh->has_value() && (*fresh)->cancel_requested;
    bool stale = fresh.ok() && fresh->has_value() && (*fresh)->lease_token != job.lease_token;
    bool owner = !(stale || (lease_lost && !cancel_requested));
    if (owner) {
      // Nothing of this video was live before: remove whatever part of a first publish made it.
      auto v = b_.state->GetVideo(job.video_id);
      if (v.ok() && v->has_value() && (*v)->published_job_id == 0) {
        Status u = UnpublishVideo(*b_.hls, job.slug);
        if (!u.ok()) HF_LOG_WARN("{} could not remove partial output: {}", ids, u.ToString());
      }
    }
    if (!owner) {
      HF_LOG_WARN("{} lost its lease; stopped without touching anything: {}", ids, result.ToString());
    } else if (cancel_requested) {
      Status s = b_.state->MarkCancelled(job.id, job.lease_token);
      HF_LOG_INFO("{} cancelled{}", ids, s.ok() ? "" : " (" + s.ToString() + ")");
    } else if (stop_ && (result.code() == Code::kCancelled || result.code() == Code::kAborted)) {
      Status s = b_.state->ReleaseJob(job.id, job.lease_token);
      HF_LOG_INFO("{} handed back on shutdown{}", ids, s.ok() ? "" : " (" + s.ToString() + ")");
    } else {
      bool retry = result.retryable();
      int64_t backoff = config_.retry_base.count() *
                        (int64_t{1} << std::min(job.attempts > 0 ? job.attempts - 1 : 0, 16));
      backoff = std::min<int64_t>(backoff, 600000);
      Status s = b_.state->FailJob(job.id, job.lease_token, result.ToString(), retry,
                                   retry ? NowMs() + backoff : 0);
      HF_LOG_WARN("{} failed ({}): {}{}", ids, retry ? "will retry" : "not retried",
                  result.ToString(), s.ok() ? "" : " [state: " + s.ToString() + "]");
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    running_.erase(job.id);
  }
}

Status Worker::DoJob(Running& run, const fs::path& scratch) {
  const state::Job& job = run.job;
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };

  // 1. Download the exact version this job is for.
  auto head = b_.upload->Head(job.video_name);
  if (head.status().code() == Code::kNotFound) {
    return BadInput("the source object is gone from the upload bucket");
  }
  RETURN_IF_ERROR(head.status().Annotate("source"));
  if (head->etag != job.etag) {
    return Aborted("the source object changed since this job was queued (etag " + head->etag +
                   "); the newer version has its own job");
  }
  fs::path ext = fs::path(job.video_name).extension();
  std::string ext_s = ext.string();
  if (ext_s.size() > 10 || ext_s.find_first_not_of(".abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos) ext_s = "";
  fs::path source = scratch / ("source" + ext_s);
  RETURN_IF_ERROR(b_.upload->GetToFile(job.video_name, source).Annotate("download"));
  const auto t1 = std::chrono::steady_clock::now();
  if (run.cancel) return Cancelled("stopped");

  // 2. Encode.
  RETURN_IF_ERROR(b_.state->UpdateProgress(job.id, job.lease_token, JobState::kEncoding, 0));
  auto last = std::chrono::steady_clock::now();
  EncodeRequest req;
  req.input = source;
  req.outdir = scratch / "out";
  req.cancel = &run.cancel;
  req.on_progress = [&](double pct, double) {
    run.progress = pct;
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(1000)) return;
    last = now;
    Status s = b_.state->UpdateProgress(job.id, job.lease_token, JobState::kEncoding, pct);
    if (s.code() == Code::kAborted) run.cancel = true;
  };
  ASSIGN_OR_RETURN(EncodeOutput out, encoder_->Encode(req));
  const auto t2 = std::chrono::steady_clock::now();
  if (run.cancel) return Cancelled("stopped");

  // 3. Publish.
  RETURN_IF_ERROR(b_.state->UpdateProgress(job.id, job.lease_token, JobState::kUploading, 100));
  ASSIGN_OR_RETURN(auto video, b_.state->GetVideo(job.video_id));
  if (!video.has_value()) return Aborted("the video was deleted while it was being encoded");
  const bool republish = video->published_job_id != 0;
  auto fence = [&]() -> Status {
    if (run.cancel) return Aborted("stopped before publishing");
    return b_.state->RenewLease(job.id, job.lease_token, NowMs() + config_.lease.count());
  };
  PublishStats pstats;
  RETURN_IF_ERROR(PublishPackage(*b_.hls, req.outdir, job.slug, job.id, republish, fence, &pstats));
  const auto t3 = std::chrono::steady_clock::now();

  // 4. Record and rebuild the catalog.
  std::vector<int> short_sides;
  nlohmann::json renditions = nlohmann::json::array();
  for (const auto& r : out.renditions) {
    short_sides.push_back(std::min(r.width, r.height));
    auto j = ToJson(r);
    j["uri"] = job.slug + "/" + std::to_string(r.index) + "/index.m3u8";
    renditions.push_back(j);
  }
  if (out.renditions.empty()) return Internal("encoder produced no renditions");
  const auto& pick = out.renditions[PickCatalogRung(short_sides, config_.catalog_rung_height)];
  state::Published pub;
  pub.source_json = out.source.dump();
  pub.renditions_json = renditions.dump();
  pub.catalog_json = nlohmann::json{{"uri", job.slug + "/" + std::to_string(pick.index) + "/index.m3u8"},
                                    {"bandwidth", pick.bandwidth},
                                    {"average_bandwidth", pick.average_bandwidth},
                                    {"codecs", pick.codecs},
                                    {"width", pick.width},
                                    {"height", pick.height},
                                    {"frame_rate", pick.frame_rate},
                                    {"rung", pick.index}}
                         .dump();
  double duration = out.source.value("duration", 0.0);
  double encode_s = secs(t1, t2);
  pub.timings_json = nlohmann::json{{"download_s", secs(t0, t1)},
                                    {"encode_s", encode_s},
                                    {"upload_s", secs(t2, t3)},
                                    {"speed", encode_s > 0 ? duration / encode_s : 0.0},
                                    {"published_files", pstats.files},
                                    {"published_bytes", pstats.bytes}}
                         .dump();
  RETURN_IF_ERROR(b_.state->FinishJob(job.id, job.lease_token, pub));
  Status cs = RebuildCatalog(*b_.state, *b_.coord, *b_.hls, options_.id);
  if (!cs.ok()) {
    // The video is ready; the next publish or delete rebuilds the catalog from state again.
    HF_LOG_WARN("video={} job={} catalog rebuild failed: {}", job.slug, job.id, cs.ToString());
  } else {
    Status rs = RemoveStale(*b_.hls, req.outdir, job.slug, job.id);
    if (!rs.ok()) HF_LOG_WARN("video={} job={} cleanup: {}", job.slug, job.id, rs.ToString());
  }
  return Status::Ok();
}

}  // namespace hlsforge::pipeline
