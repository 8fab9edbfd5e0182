// The effective configuration of the service commands (serve, api, watcher, worker, migrate,
// config). Every setting comes from, in rising priority: built-in default, the TOML file given by
// --config / HLSFORGE_CONFIG, an HLSFORGE_* environment variable, a command-line flag.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "pipeline/services.h"
#include "storage/object_store.h"

namespace hlsforge::app {

struct Config {
  std::string data = "data";  // embedded defaults live here
  std::string upload_url;     // "" = file://DATA/upload
  std::string hls_url;        // "" = file://DATA/hls
  std::string state_url;      // "" = sqlite://DATA/hlsforge.db
  std::string coord_url;      // "" = local://
  std::string s3_endpoint;
  std::string s3_region = "us-east-1";
  bool s3_path_style = true;

  std::string bind = "127.0.0.1";
  int port = 8000;
  std::string api_token;  // secret; serve/api: "" = generated once into DATA/api-token
  bool api_read_auth = false;  // GET /api/* and /metrics need the token too
  std::string cors_origin = "*";
  double max_upload_mb = 20480;
  bool serve_hls = true;
  std::string web_root;   // "" = web/dist next to the binary's source tree if present

  int workers = 2;          // serve: worker slots in this process
  std::string worker_id;    // worker: "" = <host>/worker
  int capacity = 1;         // jobs per worker at once
  double max_cpu = 95;
  double min_free_mem_mb = 256;
  double poll_interval_s = 2.0;
  double lease_s = 30.0;
  double worker_timeout_s = 15.0;
  int catalog_rung = 720;
  bool delete_output_with_source = false;
  std::string profile = "ladder";
  int threads = 0;
  std::string scratch;  // "" = DATA/scratch
};

// Adds the configuration options to `app` (the root; subcommands fall through to it).
void AddConfigOptions(CLI::App& app, Config& c);

// Fills the derived defaults (URLs from `data`), creates local folders that file:// buckets and
// SQLite need, and checks values. kInvalidArgument with a clear message when something is off.
Status Finalize(Config& c);

pipeline::PipelineConfig ToPipelineConfig(const Config& c);
storage::StoreOptions ToStoreOptions(const Config& c);

// The effective configuration as TOML, secrets masked (token, URL passwords, AWS secret key).
std::string Describe(const Config& c);

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db".
std::string MaskUrl(const std::string& url);

}  // namespace hlsforge::app
