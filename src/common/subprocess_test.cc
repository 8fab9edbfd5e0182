#include "common/subprocess.h"

#include <gtest/gtest.h>

#include <thread>

namespace hlsforge {
namespace {

TEST(SubprocessTest, CapturesOutputAndExitCode) {
  auto r = RunSubprocess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(SubprocessTest, NoShellInterpretation) {
  // An argument with shell metacharacters reaches the program verbatim.
  auto r = RunSubprocess({"echo", "$(touch /tmp/hlsforge-pwned); `id`"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "$(touch /tmp/hlsforge-pwned); `id`\n");
}

TEST(SubprocessTest, LineCallbacks) {
  std::vector<std::string> lines;
  SubprocessOptions o;
  o.on_stdout_line = [&](const std::string& l) { lines.push_back(l); };
  auto r = RunSubprocess({"printf", "a=1\nb=2\nc"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"a=1", "b=2", "c"}));
}

TEST(SubprocessTest, MissingProgram) {
  auto r = RunSubprocess({"/nonexistent/program-hlsforge"});
  EXPECT_EQ(r.status().code(), Code::kNotFound);
}

TEST(SubprocessTest, TimeoutKillsChild) {
  SubprocessOptions o;
  o.timeout = std::chrono::milliseconds(300);
  auto t0 = std::chrono::steady_clock::now();
  auto r = RunSubprocess({"sleep", "30"}, o);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(SubprocessTest, CancelStopsChild) {
  std::atomic<bool> cancel{false};
  SubprocessOptions o;
  o.cancel = &cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto r = RunSubprocess({"sleep", "30"}, o);
  t.join();
  EXPECT_EQ(r.status().code(), Code::kCancelled);
}

}  // namespace
}  // namespace hlsforge
