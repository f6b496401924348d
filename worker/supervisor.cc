#include "worker/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <thread>

extern char** environ;

namespace gridsearch {
namespace {

// Exit code of a child that refused its configuration (kExitBadInput of the
// gridsearch command): starting it again would be refused again.
constexpr int kRefusedExitCode = 2;

constexpr std::chrono::milliseconds kPollInterval{100};

void DefaultLog(const std::string& line) {
  std::time_t t = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s supervisor: %s\n", ts, line.c_str());
  std::fflush(stderr);
}

// The child's environment: ours, with `overrides` set or replaced. Built
// before fork, since the child of a threaded process may not allocate.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> replaced;
  for (const auto& [k, v] : overrides) replaced[k] = v;
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (replaced.count(key) == 0) env.push_back(entry);
  }
  for (const auto& [k, v] : replaced) env.push_back(k + "=" + v);
  return env;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "wait status " + std::to_string(wait_status);
}

Supervisor::Supervisor(SupervisorOptions options, std::vector<SupervisedProcess> processes)
    : options_(std::move(options)) {
  for (auto& p : processes) {
    Child c;
    c.process = std::move(p);
    c.backoff_seconds = options_.restart_initial_seconds;
    children_.push_back(std::move(c));
  }
}

Supervisor::~Supervisor() {
  for (Child& c : children_) {
    if (c.state != State::kRunning) continue;
    kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
  }
}

void Supervisor::Log(const std::string& line) const {
  if (options_.log)
    options_.log(line);
  else
    DefaultLog(line);
}

Status Supervisor::Start() {
  Status first;
  for (Child& c : children_) {
    Status s = Spawn(&c);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status Supervisor::Spawn(Child* child) {
  // Everything the child needs is prepared here: after fork it only opens,
  // dups and execs.
  std::vector<std::string> args;
  args.push_back(options_.executable);
  args.insert(args.end(), child->process.args.begin(), child->process.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = ChildEnvironment(child->process.env);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log_path = options_.log_path;
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    child->state = State::kWaiting;
    child->restart_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(child->backoff_seconds));
    return Status::IOError("starting " + child->process.name + ": fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    // The child ends with its supervisor, whichever way the supervisor goes.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!log_path.empty()) {
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
    }
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "supervisor: exec failed\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
    _exit(127);
  }
  child->pid = pid;
  child->state = State::kRunning;
  child->started = Clock::now();
  Log(child->process.name + ": started (pid " + std::to_string(pid) + ")");
  return Status::OK();
}

void Supervisor::Exited(Child* child, int wait_status) {
  const double lived = SecondsSince(child->started);
  const std::string how = DescribeWaitStatus(wait_status);
  const std::string who = child->process.name + " (pid " + std::to_string(child->pid) + ")";
  child->pid = -1;
  if (stopping_) {
    child->state = State::kFinished;
    Log(who + " stopped: " + how);
    return;
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    child->state = State::kFinished;
    Log(who + " finished");
    return;
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == kRefusedExitCode) {
    child->state = State::kFailed;
    Log(who + " refused its configuration (" + how + "); not started again");
    return;
  }
  if (options_.max_restarts >= 0 && restarts_ >= options_.max_restarts) {
    child->state = State::kFailed;
    Log(who + " ended: " + how + "; " + std::to_string(restarts_) +
        " restarts already, not started again");
    return;
  }
  if (lived >= options_.healthy_seconds)
    child->backoff_seconds = options_.restart_initial_seconds;
  child->state = State::kWaiting;
  child->restart_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(child->backoff_seconds));
  Log(who + " ended after " + FormatSeconds(lived) + ": " + how + "; starting it again in " +
      FormatSeconds(child->backoff_seconds));
  child->backoff_seconds =
      std::min(options_.restart_max_seconds, std::max(child->backoff_seconds * 2, 0.1));
  ++restarts_;
}

void Supervisor::Poll() {
  for (Child& c : children_) {
    if (c.state == State::kRunning) {
      int status = 0;
      const pid_t r = waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid) Exited(&c, status);
    }
    if (c.state == State::kWaiting && !stopping_ && Clock::now() >= c.restart_at) {
      Status s = Spawn(&c);
      if (!s.ok()) Log(s.message());
    }
  }
}

bool Supervisor::Active() const {
  for (const Child& c : children_)
    if (c.state == State::kRunning || c.state == State::kWaiting) return true;
  return false;
}

int Supervisor::failed() const {
  int n = 0;
  for (const Child& c : children_) n += c.state == State::kFailed ? 1 : 0;
  return n;
}

void Supervisor::Stop(int sig) {
  stopping_ = true;
  for (Child& c : children_) {
    if (c.state == State::kWaiting || c.state == State::kNotStarted) c.state = State::kFinished;
    if (c.state == State::kRunning) kill(c.pid, sig);
  }
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.stop_grace_seconds));
  while (Active()) {
    Poll();
    if (!Active()) break;
    if (Clock::now() >= deadline) {
      for (Child& c : children_) {
        if (c.state != State::kRunning) continue;
        Log(c.process.name + " (pid " + std::to_string(c.pid) + ") still running after " +
            FormatSeconds(options_.stop_grace_seconds) + "; killing it");
        kill(c.pid, SIGKILL);
      }
      for (Child& c : children_) {
        if (c.state != State::kRunning) continue;
        int status = 0;
        waitpid(c.pid, &status, 0);
        Exited(&c, status);
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int Supervisor::Run(const std::atomic<int>* stop) {
  while (true) {
    Poll();
    const int sig = stop != nullptr ? stop->load() : 0;
    if (sig != 0) {
      Log("signal " + std::to_string(sig) + ": stopping " + std::to_string(children_.size()) +
          " process(es)");
      Stop(sig);
      return failed() > 0 ? 1 : 0;
    }
    if (!Active()) return failed() > 0 ? 1 : 0;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace gridsearch
