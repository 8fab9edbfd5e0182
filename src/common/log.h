// Logging: spdlog to stderr. Every line about work carries its ids, e.g.
//   HF_LOG_INFO("video={} job={} rung={} encoded", ...)
// Thread-safe (spdlog's _mt sinks).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace hlsforge {

// level: trace, debug, info, warn, error, off. Safe to call more than once.
void InitLogging(const std::string& level = "info");

}  // namespace hlsforge

#define HF_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define HF_LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define HF_LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define HF_LOG_ERROR(...) spdlog::error(__VA_ARGS__)
