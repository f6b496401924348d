// Supervisor: keeps a set of child processes running, one per device of a
// node (`gridsearch worker --devices`, `gridsearch run`).
//
// - A child that exits 0 has finished (max jobs, idle limit) and is not
//   started again; one that exits 2 refused its configuration and is not
//   started again either. Any other end (a crash, a signal, exit 1) starts it
//   again after a backoff that doubles from restart_initial_seconds up to
//   restart_max_seconds, and starts over once a child has run for
//   healthy_seconds.
// - Stop() sends a signal to every child, waits for them to exit, and kills
//   the ones still running after stop_grace_seconds.
// - Children get SIGTERM when the supervisor dies (PR_SET_PDEATHSIG), so a
//   killed supervisor leaves no orphans training.
//
// Torch-free and gRPC-free. Thread-compatible: one thread drives it.
#ifndef GRIDSEARCH_WORKER_SUPERVISOR_H_
#define GRIDSEARCH_WORKER_SUPERVISOR_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gridsearch {

struct SupervisedProcess {
  // Label in the supervisor's log lines, e.g. "cuda:1" or "cpu#0".
  std::string name;
  // Arguments after the executable.
  std::vector<std::string> args;
  // Variables set (or replaced) in the child's environment.
  std::vector<std::pair<std::string, std::string>> env;
};

struct SupervisorOptions {
  // The program every child runs.
  std::string executable;
  // Children's standard output and error are appended here; empty: they
  // share the supervisor's.
  std::string log_path;
  // --- Restarts ---
  double restart_initial_seconds = 1;
  double restart_max_seconds = 60;
  // A child that ran this long restarts after restart_initial_seconds again.
  double healthy_seconds = 120;
  // Restarts over all children before the supervisor gives a child up
  // (-1: no limit).
  int max_restarts = -1;
  // --- Stopping ---
  // After Stop()'s signal, children still running this long are killed.
  double stop_grace_seconds = 30;
  // Where the supervisor's own lines go; default: standard error with a time.
  std::function<void(const std::string&)> log;
};

class Supervisor {
 public:
  Supervisor(SupervisorOptions options, std::vector<SupervisedProcess> processes);
  // Kills (SIGKILL) and reaps any child still running.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every child. An error (fork failed) leaves the others running.
  Status Start();
  // Reaps children that exited and starts again those whose backoff is
  // over. Never blocks.
  void Poll();
  // True while a child runs or waits for its restart.
  bool Active() const;
  // Sends `sig` to every running child, waits up to stop_grace_seconds for
  // all of them to exit, then SIGKILLs the rest. No child is started again.
  void Stop(int sig);
  // Polls until no child is active, or until `*stop` is non-zero, which
  // Stop()s the children with that signal. Returns 0 when every child
  // finished (exit 0) or all were stopped, 1 when one was given up.
  int Run(const std::atomic<int>* stop);

  // Children given up (refused configuration, restarts exhausted).
  int failed() const;
  // Restarts so far, over all children.
  int restarts() const { return restarts_; }
  // Current pid of child i (-1 while it waits or has ended).
  pid_t pid(size_t i) const { return children_[i].pid; }
  size_t size() const { return children_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kNotStarted, kRunning, kWaiting, kFinished, kFailed };
  struct Child {
    SupervisedProcess process;
    State state = State::kNotStarted;
    pid_t pid = -1;
    Clock::time_point started;
    Clock::time_point restart_at;
    double backoff_seconds = 0;
  };

  Status Spawn(Child* child);
  void Exited(Child* child, int wait_status);
  void Log(const std::string& line) const;

  SupervisorOptions options_;
  std::vector<Child> children_;
  int restarts_ = 0;
  bool stopping_ = false;
};

// "exit code N" or "killed by signal N (NAME)", for log lines.
std::string DescribeWaitStatus(int wait_status);

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_SUPERVISOR_H_
