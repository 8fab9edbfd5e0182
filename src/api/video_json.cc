#include "api/video_json.h"

namespace hlsforge::api {
namespace {

nlohmann::json ParseOr(const std::string& s, nlohmann::json def) {
  if (s.empty()) return def;
  auto j = nlohmann::json::parse(s, nullptr, false);
  return j.is_discarded() ? def : j;
}

nlohmann::json Ms(int64_t ms) { return ms ? nlohmann::json(ms) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json VideoToJson(const state::Video& v, const state::Job* job) {
  nlohmann::json j = {
      {"id", v.id},
      {"name", v.name},
      {"slug", v.slug},
      {"etag", v.etag},
      {"size_bytes", v.size_bytes},
      {"state", state::JobStateName(v.state)},
      {"progress", v.progress},
      {"error", v.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.error)},
      {"retryable", v.retryable},
      {"latest_job_id", v.latest_job_id},
      {"published_job_id", v.published_job_id},
      {"source", ParseOr(v.source_json, nullptr)},
      {"renditions", ParseOr(v.renditions_json, nlohmann::json::array())},
      {"created_ms", Ms(v.created_ms)},
      {"updated_ms", Ms(v.updated_ms)},
      {"ready_ms", Ms(v.ready_ms)},
      {"source_deleted_ms", Ms(v.deleted_ms)},
      {"playback", v.published_job_id
                       ? nlohmann::json{{"master", "/hls/encode/" + v.slug + "/master.m3u8"},
                                        {"catalog", "/hls/encode/master.m3u8"}}
                       : nlohmann::json(nullptr)},
  };
  if (job) j["job"] = JobToJson(*job);
  return j;
}

nlohmann::json JobToJson(const state::Job& jb) {
  return {{"id", jb.id},
          {"video_id", jb.video_id},
          {"video_name", jb.video_name},
          {"etag", jb.etag},
          {"state", state::JobStateName(jb.state)},
          {"progress", jb.progress},
          {"attempts", jb.attempts},
          {"max_attempts", jb.max_attempts},
          {"worker_id", jb.worker_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(jb.worker_id)},
          {"lease_deadline_ms", Ms(jb.lease_deadline_ms)},
          {"not_before_ms", Ms(jb.not_before_ms)},
          {"error", jb.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(jb.error)},
          {"retryable", jb.retryable},
          {"cancel_requested", jb.cancel_requested},
          {"timings", ParseOr(jb.timings_json, nlohmann::json::object())},
          {"created_ms", Ms(jb.created_ms)},
          {"updated_ms", Ms(jb.updated_ms)},
          {"started_ms", Ms(jb.started_ms)},
          {"finished_ms", Ms(jb.finished_ms)}};
}

nlohmann::json WorkerToJson(const state::WorkerInfo& w, int64_t now_ms, int64_t timeout_ms) {
  return {{"id", w.id},
          {"host", w.host},
          {"cpu_percent", w.cpu_percent},
          {"mem_total_bytes", w.mem_total_bytes},
          {"mem_available_bytes", w.mem_available_bytes},
          {"running_jobs", w.running_jobs},
          {"capacity", w.capacity},
          {"current", ParseOr(w.current_json, nlohmann::json::array())},
          {"started_ms", Ms(w.started_ms)},
          {"last_heartbeat_ms", Ms(w.last_heartbeat_ms)},
          {"alive", w.last_heartbeat_ms >= now_ms - timeout_ms}};
}

}  // namespace hlsforge::api
