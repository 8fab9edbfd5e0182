#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace hlsforge {

void InitLogging(const std::string& level) {
  static bool done = false;
  if (!done) {
    auto logger = spdlog::stderr_color_mt("hlsforge");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    done = true;
  }
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace hlsforge
