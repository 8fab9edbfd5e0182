// hlsforge: video-on-demand HLS encoding service. One binary, many subcommands.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "app/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"hlsforge: turns uploaded videos into adaptive HLS and serves them"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->envname("HLSFORGE_LOG_LEVEL");
  app.set_version_flag("--version", "hlsforge 0.1.0");
  app.parse_complete_callback([&] { hlsforge::InitLogging(log_level); });

  hlsforge::app::RegisterEncode(app);
  hlsforge::app::RegisterValidate(app);
  hlsforge::app::RegisterServices(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    // Usage mistakes exit 2 like other Unix tools; a command's own failure (RuntimeError)
    // keeps the code it chose.
    if (rc != 0 && dynamic_cast<const CLI::RuntimeError*>(&e) == nullptr) return 2;
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hlsforge: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
