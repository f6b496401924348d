// The Supervisor (worker/supervisor.h) with real child processes (/bin/sh):
// restarts with backoff, finished and refused children, stopping with a
// grace period, the environment, the log file, and children that end with
// their supervisor.
#include "worker/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_util.h"

namespace gridsearch {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WaitFor;

SupervisedProcess Shell(const std::string& name, const std::string& script) {
  SupervisedProcess p;
  p.name = name;
  p.args = {"-c", script};
  return p;
}

SupervisorOptions Fast() {
  SupervisorOptions o;
  o.executable = "/bin/sh";
  o.restart_initial_seconds = 0.1;
  o.restart_max_seconds = 0.4;
  o.stop_grace_seconds = 5;
  o.log = [](const std::string&) {};
  return o;
}

int Lines(const std::string& path) {
  const std::string text = ReadFile(path);
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// True once `pid` no longer runs (gone, or a zombie nobody reaped).
bool Gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || stat.compare(paren + 2, 1, "Z") == 0;
}

TEST(SupervisorTest, AFinishedChildIsNotStartedAgain) {
  TempDir dir;
  const std::string runs = dir.File("runs");
  Supervisor s(Fast(), {Shell("a", "echo run >> " + runs + "; exit 0")});
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.Run(nullptr), 0);
  EXPECT_EQ(Lines(runs), 1);
  EXPECT_EQ(s.restarts(), 0);
  EXPECT_EQ(s.failed(), 0);
}

TEST(SupervisorTest, ACrashingChildIsStartedAgainWithGrowingBackoff) {
  TempDir dir;
  const std::string runs = dir.File("runs");
  // Crashes twice (exit 1, then SIGKILL of itself), then finishes.
  const std::string script = "echo run >> " + runs + "; n=$(wc -l < " + runs +
                             "); [ $n -ge 3 ] && exit 0; [ $n -eq 2 ] && kill -9 $$; exit 1";
  Supervisor s(Fast(), {Shell("crashy", script)});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.Run(nullptr), 0);
  EXPECT_EQ(Lines(runs), 3);
  EXPECT_EQ(s.restarts(), 2);
  // Backoffs of 0.1 s and then 0.2 s.
  EXPECT_GE(Since(start), 0.28);
}

TEST(SupervisorTest, ARefusedConfigurationIsNotStartedAgain) {
  TempDir dir;
  const std::string runs = dir.File("runs");
  Supervisor s(Fast(), {Shell("refused", "echo run >> " + runs + "; exit 2"),
                        Shell("fine", "exit 0")});
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.Run(nullptr), 1);
  EXPECT_EQ(Lines(runs), 1);
  EXPECT_EQ(s.failed(), 1);
}

TEST(SupervisorTest, RestartsStopAtTheLimit) {
  TempDir dir;
  const std::string runs = dir.File("runs");
  SupervisorOptions o = Fast();
  o.max_restarts = 2;
  Supervisor s(o, {Shell("always-crashes", "echo run >> " + runs + "; exit 1")});
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.Run(nullptr), 1);
  EXPECT_EQ(Lines(runs), 3);
  EXPECT_FALSE(s.Active());
}

TEST(SupervisorTest, StopSignalsEveryChildAndKillsTheOnesThatStay) {
  TempDir dir;
  const std::string polite = dir.File("polite");
  SupervisorOptions o = Fast();
  o.stop_grace_seconds = 1;
  Supervisor s(o, {Shell("polite", "trap 'echo bye > " + polite + "; exit 0' TERM; "
                                   "while true; do sleep 0.05; done"),
                   Shell("stubborn", "trap '' TERM; while true; do sleep 0.05; done")});
  ASSERT_TRUE(s.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both have set their traps
  const pid_t stubborn = s.pid(1);
  const auto start = std::chrono::steady_clock::now();
  s.Stop(SIGTERM);
  const double took = Since(start);
  EXPECT_FALSE(s.Active());
  EXPECT_EQ(ReadFile(polite), "bye\n");
  EXPECT_GE(took, 0.9);  // the stubborn one had its grace period...
  EXPECT_LT(took, 4.0);  // ...and was killed after it
  EXPECT_TRUE(Gone(stubborn));
  EXPECT_EQ(s.restarts(), 0);
}

TEST(SupervisorTest, RunStopsTheChildrenWhenAskedTo) {
  Supervisor s(Fast(), {Shell("a", "while true; do sleep 0.05; done"),
                        Shell("b", "while true; do sleep 0.05; done")});
  ASSERT_TRUE(s.Start().ok());
  std::atomic<int> stop{0};
  std::thread asker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.store(SIGTERM);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(s.Run(&stop), 0);
  asker.join();
  EXPECT_LT(Since(start), 3.0);
  EXPECT_FALSE(s.Active());
}

TEST(SupervisorTest, ChildrenGetTheirEnvironmentAndShareTheLog) {
  TempDir dir;
  SupervisorOptions o = Fast();
  o.log_path = dir.File("children.log");
  SupervisedProcess a = Shell("a", "echo \"a sees $CUDA_VISIBLE_DEVICES and $HOME\"");
  a.env = {{"CUDA_VISIBLE_DEVICES", "GPU-3f2a"}};
  SupervisedProcess b = Shell("b", "echo \"b sees ${CUDA_VISIBLE_DEVICES-nothing}\" >&2");
  setenv("HOME", "/home/tester", 1);
  unsetenv("CUDA_VISIBLE_DEVICES");
  Supervisor s(o, {a, b});
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.Run(nullptr), 0);
  const std::string log = ReadFile(o.log_path);
  EXPECT_NE(log.find("a sees GPU-3f2a and /home/tester"), std::string::npos) << log;
  EXPECT_NE(log.find("b sees nothing"), std::string::npos) << log;
}

TEST(SupervisorTest, ChildrenEndWithTheirSupervisor) {
  TempDir dir;
  const std::string pid_file = dir.File("pid");
  const pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    SupervisorOptions o = Fast();
    Supervisor s(o, {Shell("orphan-to-be", "echo $$ > " + pid_file + ".tmp; mv " + pid_file +
                                               ".tmp " + pid_file + "; exec sleep 60")});
    if (!s.Start().ok()) _exit(1);
    while (true) pause();
  }
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(pid_file).empty(); }, 10));
  const pid_t child = std::stoi(ReadFile(pid_file));
  kill(supervisor, SIGKILL);
  waitpid(supervisor, nullptr, 0);
  EXPECT_TRUE(WaitFor([&] { return Gone(child); }, 5)) << "pid " << child << " outlived it";
  if (!Gone(child)) kill(child, SIGKILL);
}

TEST(SupervisorTest, DescribesHowAChildEnded) {
  EXPECT_EQ(DescribeWaitStatus(3 << 8), "exit code 3");
  const std::string killed = DescribeWaitStatus(SIGKILL);
  EXPECT_EQ(killed.rfind("killed by signal 9", 0), 0u) << killed;
}

}  // namespace
}  // namespace gridsearch
