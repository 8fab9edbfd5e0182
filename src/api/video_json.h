// JSON shapes of the admin API (shared by routes and server-sent events).
#pragma once

#include <nlohmann/json.hpp>

#include "state/state_store.h"

namespace hlsforge::api {

// `job` (the video's latest job) adds attempts, timings and lease facts when given.
nlohmann::json VideoToJson(const state::Video& v, const state::Job* job);
nlohmann::json JobToJson(const state::Job& j);
nlohmann::json WorkerToJson(const state::WorkerInfo& w, int64_t now_ms, int64_t timeout_ms);

}  // namespace hlsforge::api
