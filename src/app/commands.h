// Subcommands of the `hlsforge` binary. Each Register* function adds one subcommand to the
// app; its callback signals a non-zero exit by throwing CLI::RuntimeError(code). Exceptions are
// caught once, in main().
#pragma once

#include <CLI/CLI.hpp>

namespace hlsforge::app {

void RegisterEncode(CLI::App& app);    // cmd_encode.cc: encode, probe
void RegisterValidate(CLI::App& app);  // cmd_validate.cc: validate
void RegisterServices(CLI::App& app);  // cmd_service.cc: serve, api, watcher, worker, migrate, config

}  // namespace hlsforge::app
