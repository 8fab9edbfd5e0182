// `hlsforge validate DIR_OR_MASTER [--json] [--catalog] [--jobs N]`: checks an HLS package
// against the Apple authoring rules we can check offline (hls/validator.h lists them).
//
// Exit codes: 0 valid, 1 violations found, 2 usage or the input cannot be read (no such
// folder/playlist, not a file, permission), 3 the tools failed (ffprobe missing or broken).
// Text mode prints "OK: N variants, M segments" or one "file: rule: message" line per
// violation and an "INVALID: ..." summary, on stdout. --json prints one JSON object instead:
// {"ok":bool,"variants":N,"segments":M,"violations":[{"file","rule","message"}]}, or
// {"ok":false,"error":"..."} for exit codes 2 and 3. Errors also go to stderr as one line.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "app/commands.h"
#include "hls/validator.h"

namespace hlsforge::app {
namespace {

struct ValidateArgs {
  std::string path;
  bool json = false;
  bool catalog = false;
  int jobs = 0;
};

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

void RunValidate(const ValidateArgs& a) {
  hls::ValidateOptions options;
  options.catalog = a.catalog;
  options.jobs = a.jobs;
  auto report = hls::ValidatePackage(a.path, options);
  if (!report.ok()) {
    const Status& s = report.status();
    int code = (s.code() == Code::kUnavailable || s.code() == Code::kInternal) ? 3 : 2;
    if (a.json) {
      std::printf("%s\n", nlohmann::json{{"ok", false}, {"error", s.message()}}
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                              .c_str());
    }
    std::fprintf(stderr, "hlsforge: error: %s\n", OneLine(s.message()).c_str());
    throw CLI::RuntimeError(code);
  }
  if (a.json) {
    nlohmann::json violations = nlohmann::json::array();
    for (const auto& v : report->violations) {
      violations.push_back({{"file", v.file}, {"rule", v.rule}, {"message", v.message}});
    }
    nlohmann::json out = {{"ok", report->ok()},
                          {"variants", report->variants},
                          {"segments", report->segments},
                          {"violations", violations}};
    // Names in a hostile package need not be UTF-8: replace, never throw.
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs(report->ToText().c_str(), stdout);
  }
  std::fflush(stdout);
  if (!report->ok()) throw CLI::RuntimeError(1);
}

}  // namespace

void RegisterValidate(CLI::App& app) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate", "Check an HLS package against the Apple HLS authoring rules (offline)");
  cmd->add_option("path", args->path, "package folder (with master.m3u8) or a master playlist")
      ->required();
  cmd->add_flag("--json", args->json, "print the report as JSON");
  cmd->add_flag("--catalog", args->catalog,
                "the variants are different videos (the catalog): skip cross-variant checks");
  cmd->add_option("--jobs", args->jobs, "ffprobe processes at once (default: up to 4)")
      ->check(CLI::Range(0, 64));
  cmd->callback([args] { RunValidate(*args); });
}

}  // namespace hlsforge::app
