// Shared helpers for the storage integration tests: where s3rver is, how to reach the
// helper scripts next to this file, and a child process (the SigV4 proxy) that dies with us.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/object_store.h"

namespace hlsforge::storage::testing {

// http://127.0.0.1:<port> of the s3rver fixture (ctest starts it: tests/servers/s3rver.sh);
// HLSFORGE_TEST_S3_ENDPOINT overrides.
std::string S3Endpoint();
// s3rver's built-in account.
StoreOptions S3rverOptions();
// Folder holding this test's scripts (sigv4_proxy.py, boto3_client.py).
std::string TestDir();
// Debian's python3 (the one with python3-botocore / python3-boto3).
std::string Python();
// A short random tag for unique prefixes.
std::string UniqueTag();

// A child process with a pipe on stdin (closed on destruction, which is how our helper
// scripts know to exit) and one on stdout.
class Child {
 public:
  static Result<std::unique_ptr<Child>> Start(const std::vector<std::string>& argv);
  ~Child();
  // One line of stdout (without '\n'), waiting up to timeout_ms.
  Result<std::string> ReadLine(int timeout_ms);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
};

// The SigV4-verifying proxy (sigv4_proxy.py) in front of s3rver.
class SigV4Proxy {
 public:
  // creds: "KEYID:SECRET[:TOKEN]" entries the proxy can verify.
  static Result<std::unique_ptr<SigV4Proxy>> Start(const std::vector<std::string>& creds);
  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // GET /__hf/<path>; returns the body.
  Result<std::string> Control(const std::string& path_and_query) const;
  // One integer counter from /__hf/stats.
  int64_t Stat(const std::string& name) const;
  std::string LastMismatch() const;

 private:
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

}  // namespace hlsforge::storage::testing
