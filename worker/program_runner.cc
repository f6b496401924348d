#include "worker/program_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/log_loss.h"
#include "common/text_escape.h"
#include "worker/program_protocol.h"

extern char** environ;

namespace gridsearch {

const std::vector<std::pair<std::string, std::string>>& PythonHelperFiles();

const std::string& PythonHelperSource() {
  static const std::string source = [] {
    for (const auto& [name, text] : PythonHelperFiles())
      if (name == "gridsearch.py") return text;
    return std::string();
  }();
  return source;
}

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The report descriptor's number in the program.
constexpr int kReportFd = 3;
// Lines of output kept for a failed job's message.
constexpr size_t kTailLines = 12;
constexpr size_t kTailLineChars = 300;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g s", s);
  return buf;
}

Status Aborted(const std::string& message) { return Status(Status::kAborted, message); }

// "cuda:2" with CUDA_VISIBLE_DEVICES=4,5,6 -> "6"; without it -> "2".
std::string VisibleDeviceFor(const std::string& device) {
  if (device.rfind("cuda", 0) != 0) return "";
  int index = 0;
  const size_t colon = device.find(':');
  if (colon != std::string::npos) index = std::atoi(device.c_str() + colon + 1);
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible == nullptr) return std::to_string(index);
  std::vector<std::string> entries;
  std::string entry;
  for (const char* c = visible;; ++c) {
    if (*c == ',' || *c == '\0') {
      entries.push_back(entry);
      entry.clear();
      if (*c == '\0') break;
    } else {
      entry += *c;
    }
  }
  return index < static_cast<int>(entries.size()) ? entries[index] : std::to_string(index);
}

const char* SignalName(int sig) {
  const char* name = strsignal(sig);
  return name != nullptr ? name : "unknown signal";
}

// The running program: its process group and its pipes. The leader is
// reaped only after the group was killed, so that its id (the group's) cannot
// be reused by another process while a signal may still go to it.
class RunningProgram {
 public:
  ~RunningProgram() {
    for (int fd : {report_fd_, output_fd_})
      if (fd >= 0) close(fd);
    if (pid_ > 0 && !reaped_) Kill(0);
  }

  Status Start(const std::vector<std::string>& argv, const std::vector<std::string>& env,
               const std::string& workdir) {
    int report[2] = {-1, -1}, output[2] = {-1, -1}, failure[2] = {-1, -1};
    auto close_all = [&] {
      for (int* fds : {report, output, failure})
        for (int i = 0; i < 2; ++i)
          if (fds[i] >= 0) close(fds[i]);
    };
    if (pipe2(report, O_CLOEXEC) != 0 || pipe2(output, O_CLOEXEC) != 0 ||
        pipe2(failure, O_CLOEXEC) != 0) {
      const int err = errno;
      close_all();
      return Status::Internal(std::string("pipe: ") + std::strerror(err));
    }
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    // Everything the child needs is made before fork: after it, only
    // async-signal-safe calls.
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      const int err = errno;
      close_all();
      if (devnull >= 0) close(devnull);
      return Status::Internal(std::string("fork: ") + std::strerror(err));
    }
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP}) signal(sig, SIG_DFL);
      if (devnull >= 0) dup2(devnull, 0);
      dup2(output[1], 1);
      dup2(output[1], 2);
      if (report[1] == kReportFd)
        fcntl(kReportFd, F_SETFD, 0);
      else
        dup2(report[1], kReportFd);
      int stage = 0;  // 0: chdir, 1: exec
      if (!workdir.empty() && chdir(workdir.c_str()) != 0) {
        int err[2] = {stage, errno};
        (void)!write(failure[1], err, sizeof(err));
        _exit(127);
      }
      stage = 1;
      execvpe(args[0], args.data(), envp.data());
      int err[2] = {stage, errno};
      (void)!write(failure[1], err, sizeof(err));
      _exit(127);
    }
    pid_ = pid;
    setpgid(pid, pid);  // also here, so that the group exists before any kill
    if (devnull >= 0) close(devnull);
    close(report[1]);
    close(output[1]);
    close(failure[1]);
    report_fd_ = report[0];
    output_fd_ = output[0];
    int err[2] = {0, 0};
    ssize_t n;
    do {
      n = read(failure[0], err, sizeof(err));
    } while (n < 0 && errno == EINTR);
    close(failure[0]);
    if (n == sizeof(err)) {
      Kill(0);
      if (err[0] == 0)
        return Aborted("cannot enter program.workdir '" + workdir + "': " + std::strerror(err[1]));
      return Aborted("cannot run the program '" + argv[0] + "': " + std::strerror(err[1]));
    }
    for (int fd : {report_fd_, output_fd_}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return Status::OK();
  }

  // Whether the program (its leader) has exited, waiting up to `seconds`;
  // it is not reaped here.
  bool Exited(double seconds) {
    if (exited_) return true;
    const Clock::time_point until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(std::max(seconds, 0.0)));
    while (true) {
      siginfo_t info;
      std::memset(&info, 0, sizeof(info));
      const int r = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
      if (r == 0 && info.si_pid == pid_) {
        exited_ = true;
        if (info.si_code == CLD_EXITED)
          exit_code_ = info.si_status;
        else
          signal_ = info.si_status;
        return true;
      }
      if (r != 0 && errno != EINTR) {
        exited_ = true;  // not ours any more
        return true;
      }
      if (Clock::now() >= until) return false;
      usleep(20000);
    }
  }

  // SIGTERM to the whole process group, then SIGKILL after `grace` seconds
  // (at once when 0) to what is left of it; then reaps the leader.
  void Kill(double grace) {
    if (pid_ <= 0 || reaped_) return;
    if (!exited_ && grace > 0) {
      kill(-pid_, SIGTERM);
      Exited(grace);
    }
    kill(-pid_, SIGKILL);  // also what the program left behind in its group
    // A process in uninterruptible sleep can outlast SIGKILL: it is left
    // to init rather than holding the worker.
    if (!Exited(30)) return;
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }

  // Reads what is there on `fd` into `buffer`; false at end of file.
  static bool Drain(int* fd, std::string* buffer, size_t max_bytes) {
    if (*fd < 0) return false;
    char chunk[65536];
    for (size_t total = 0; total < max_bytes;) {
      const ssize_t n = read(*fd, chunk, sizeof(chunk));
      if (n > 0) {
        buffer->append(chunk, static_cast<size_t>(n));
        total += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
      close(*fd);
      *fd = -1;
      return false;
    }
    return true;
  }

  std::string ExitText() const {
    if (exit_code_ >= 0) return "exited with status " + std::to_string(exit_code_);
    if (signal_ >= 0)
      return "was killed by signal " + std::to_string(signal_) + " (" + SignalName(signal_) + ")";
    return "ended";
  }
  bool exited_cleanly() const { return exit_code_ == 0; }

  pid_t pid_ = -1;
  bool exited_ = false;
  bool reaped_ = false;
  int exit_code_ = -1;
  int signal_ = -1;
  int report_fd_ = -1;
  int output_fd_ = -1;
};

// A folder for the job file and the Python helper, removed afterwards.
class JobFolder {
 public:
  Status Make() {
    const char* tmp = std::getenv("TMPDIR");
    // The worker's pid in the name: a folder left by a killed worker is
    // recognised and removed by the next one (RemoveStaleJobFolders).
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/gridsearch-job-" +
                          std::to_string(getpid()) + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr)
      return Status::Internal("cannot make a folder for the job file (" + pattern +
                              "): " + std::strerror(errno));
    path_ = buf.data();
    return Status::OK();
  }
  ~JobFolder() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  Status Write(const std::string& name, const std::string& text) const {
    std::ofstream f(path_ + "/" + name, std::ios::binary);
    f << text;
    f.close();
    if (!f) return Status::Internal("cannot write " + path_ + "/" + name);
    return Status::OK();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

void RemoveStaleJobFolders() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string root = tmp != nullptr && *tmp ? tmp : "/tmp";
  const std::string prefix = "gridsearch-job-";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + prefix.size()));
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) == 0 || errno == EPERM) continue;  // its worker still runs
    std::error_code remove_ec;
    std::filesystem::remove_all(entry.path(), remove_ec);
  }
}

ProgramRunner::ProgramRunner(ProgramRunnerOptions options) : options_(std::move(options)) {}

std::string ProgramRunner::JobJson(const JobSpec& job) const {
  json params = json::parse(job.params_json.empty() ? "{}" : job.params_json, nullptr, false);
  if (!params.is_object()) params = json::object();
  const bool cuda = options_.device.rfind("cuda", 0) == 0;
  return json{{"protocol", kProgramProtocolVersion},
              {"job_id", job.job_id},
              {"sweep_id", job.sweep_id},
              {"attempt", job.attempt},
              {"optimizer", job.optimizer},
              {"params", params},
              {"seed", job.seed},
              {"budget_seconds", job.budget_seconds},
              {"device", cuda ? "cuda:0" : "cpu"},
              {"threads", options_.threads},
              {"setup_timeout_seconds", job.program.setup_timeout_seconds},
              {"eval_timeout_seconds", job.program.eval_timeout_seconds},
              {"report_fd", kReportFd}}
      .dump(2);
}

Status ProgramRunner::Run(const JobSpec& job, const ProgramCurveSink& sink,
                          const std::function<bool()>& stop, JobResult* result) {
  *result = JobResult();
  result->device = options_.device_name.empty() ? options_.device : options_.device_name;
  result->software = "program";
  if (!job.program.present()) return Status::InvalidArgument("the job names no program");

  JobFolder folder;
  GS_RETURN_IF_ERROR(folder.Make());
  GS_RETURN_IF_ERROR(folder.Write("job.json", JobJson(job)));
  GS_RETURN_IF_ERROR(folder.Write("gridsearch.py", PythonHelperSource()));

  // The environment: the worker's, the spec's env, then the job's own.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [k, v] : job.program.env) env[k] = v;
  if (options_.threads > 0) {
    for (const char* k : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
      if (!job.program.env.count(k)) env[k] = std::to_string(options_.threads);
  }
  if (!job.program.env.count("PYTHONUNBUFFERED")) env["PYTHONUNBUFFERED"] = "1";
  const std::string python_path = env.count("PYTHONPATH") ? env["PYTHONPATH"] : "";
  env["PYTHONPATH"] = folder.path() + (python_path.empty() ? "" : ":" + python_path);
  env["GRIDSEARCH_JOB"] = folder.path() + "/job.json";
  env["GRIDSEARCH_REPORT_FD"] = std::to_string(kReportFd);
  // An empty list hides every GPU from a program on a CPU worker.
  env["CUDA_VISIBLE_DEVICES"] = VisibleDeviceFor(options_.device);
  std::vector<std::string> env_list;
  for (const auto& [k, v] : env) env_list.push_back(k + "=" + v);

  RunningProgram program;
  const Clock::time_point spawned = Clock::now();
  GS_RETURN_IF_ERROR(program.Start(job.program.command, env_list, job.program.workdir));

  // --- What the program said so far. ---
  std::string report_buf, output_buf;
  std::deque<std::string> tail;
  bool started = false, got_result = false, diverged = false;
  Clock::time_point train_start{}, last_report{}, last_point{}, result_at{}, exited_at{},
      report_closed_at{};
  int64_t last_step = 0, points_total = 0, lines = 0;
  double last_elapsed = 0, last_epoch = 0, last_loss = kNaN;
  Clock::time_point window_start = spawned;
  int64_t window_lines = 0;
  LogLossAverage log_loss;
  std::vector<CurvePoint> pending;
  Clock::time_point last_flush = spawned;
  Status failure;       // set: the program broke a rule
  Status sink_status;   // set: the sink refused points
  bool stopped = false;

  const double budget = job.budget_seconds;
  const double overrun_after =
      budget + std::max(10.0, 0.1 * budget) + job.program.eval_timeout_seconds;

  auto tail_text = [&]() {
    if (tail.empty()) return std::string(" It wrote no output.");
    std::string t = " Its last output:";
    for (const auto& line : tail) t += "\n  " + line;
    return t;
  };
  auto add_output_line = [&](std::string raw) {
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    // The log and the job's error get the line with its control characters
    // (colours, progress bars' CRs) written out.
    std::string line = EscapeControl(raw);  // valid UTF-8 too
    if (options_.output) options_.output(line);
    if (line.size() > kTailLineChars) line = TruncateUtf8(line, kTailLineChars) + "...";
    tail.push_back(line);
    if (tail.size() > kTailLines) tail.pop_front();
  };
  auto flush = [&]() {
    last_flush = Clock::now();
    if (pending.empty() || !sink_status.ok()) return;
    if (sink) sink_status = sink(pending);
    pending.clear();
  };
  auto handle_line = [&](const std::string& line, Clock::time_point now) {
    ++lines;
    last_report = now;
    if (line.empty() || got_result || diverged) return;
    ReportEvent e;
    Status s = ParseReportLine(line, &e);
    if (!s.ok()) {
      failure = Aborted("program wrote garbage to its report descriptor (line " +
                        std::to_string(lines) + "): " + s.message());
      return;
    }
    if (!started && e.kind != ReportEvent::kTrainStart && e.kind != ReportEvent::kHeartbeat) {
      failure = Aborted("program sent a " +
                        std::string(e.kind == ReportEvent::kPoint ? "point" : "result") +
                        " before its train_start event (line " + std::to_string(lines) + ")");
      return;
    }
    switch (e.kind) {
      case ReportEvent::kHeartbeat:
        return;
      case ReportEvent::kTrainStart:
        if (started) {
          failure = Aborted("program sent a second train_start event (line " +
                            std::to_string(lines) + ")");
          return;
        }
        started = true;
        train_start = now;
        last_point = now;
        result->setup_seconds = Seconds(now - spawned);
        if (!e.software.empty()) result->software = e.software;
        return;
      case ReportEvent::kPoint: {
        CurvePoint p = e.point;
        if (p.step <= last_step) {
          failure = Aborted("program reported step " + std::to_string(p.step) + " after step " +
                            std::to_string(last_step) + " (line " + std::to_string(lines) +
                            "): steps must increase");
          return;
        }
        if (!e.has_elapsed) p.elapsed_seconds = Seconds(now - train_start);
        if (p.elapsed_seconds < last_elapsed) {
          failure = Aborted("program reported elapsed_seconds " + std::to_string(p.elapsed_seconds) +
                            " after " + std::to_string(last_elapsed) + " (line " +
                            std::to_string(lines) + "): time must not go back");
          return;
        }
        if (!e.has_epoch) p.epoch = last_epoch;
        if (!std::isfinite(p.loss)) {
          // As the trainer: the curve holds the finite points before it.
          diverged = true;
          return;
        }
        if (++points_total > options_.max_points) {
          failure = Aborted("program reported more than " + std::to_string(options_.max_points) +
                            " curve points");
          return;
        }
        last_step = p.step;
        last_elapsed = p.elapsed_seconds;
        last_epoch = p.epoch;
        last_loss = p.loss;
        last_point = now;
        log_loss.Add(p.elapsed_seconds, p.loss);
        pending.push_back(p);
        return;
      }
      case ReportEvent::kResult:
        got_result = true;
        result_at = now;
        result->final_train_loss =
            e.has_final_train_loss ? e.result.final_train_loss : last_loss;
        result->test_loss = e.result.test_loss;
        result->test_accuracy = e.result.test_accuracy;
        // No finite final loss to rank by: as the trainer, that is diverged.
        if (e.result.diverged || !std::isfinite(result->final_train_loss)) diverged = true;
        if (!e.software.empty()) result->software = e.software;
        return;
    }
  };
  auto take_lines = [&](std::string* buf, bool report, Clock::time_point now) {
    size_t begin = 0;
    for (size_t nl; (nl = buf->find('\n', begin)) != std::string::npos; begin = nl + 1) {
      std::string line = buf->substr(begin, nl - begin);
      if (report) {
        if (line.size() > options_.max_line_bytes && failure.ok())
          failure = Aborted("program wrote a report line longer than " +
                            std::to_string(options_.max_line_bytes) + " bytes (line " +
                            std::to_string(lines + 1) + ")");
        if (failure.ok()) handle_line(line, now);
      } else {
        add_output_line(std::move(line));
      }
    }
    buf->erase(0, begin);
    if (report && buf->size() > options_.max_line_bytes && failure.ok())
      failure = Aborted("program wrote a report line longer than " +
                        std::to_string(options_.max_line_bytes) + " bytes");
    if (!report && buf->size() > 4096) {  // a very long line of output, in pieces
      add_output_line(*buf);
      buf->clear();
    }
  };

  // --- The watch loop. ---
  while (true) {
    Clock::time_point now = Clock::now();
    if (stop && stop()) {
      // With the result in, the job is finished: it is completed, not
      // handed back.
      if (!got_result) stopped = true;
      break;
    }
    if (!failure.ok() || !sink_status.ok() || diverged) break;
    if (program.report_fd_ < 0 && !got_result && !program.exited_ &&
        Seconds(now - report_closed_at) > 2) {
      failure = Aborted("program closed its report descriptor (fd " + std::to_string(kReportFd) +
                        ") before its result");
      break;
    }
    if (!started && Seconds(now - spawned) > job.program.setup_timeout_seconds) {
      failure = Aborted("program did not begin training within program.setup_timeout_seconds (" +
                        FormatSeconds(job.program.setup_timeout_seconds) +
                        "): no train_start event");
      break;
    }
    if (started && !got_result) {
      const double running = Seconds(now - train_start);
      if (running > overrun_after) {
        failure = Aborted("program overran its budget: no result " + FormatSeconds(running) +
                          " after train_start (budget " + FormatSeconds(budget) + " + " +
                          FormatSeconds(std::max(10.0, 0.1 * budget)) + " + evaluation " +
                          FormatSeconds(job.program.eval_timeout_seconds) + ")");
        break;
      }
      if (Seconds(now - last_report) > options_.silence_limit_seconds) {
        failure = Aborted("program hung: nothing on its report descriptor for " +
                          FormatSeconds(Seconds(now - last_report)) + " (the lease timeout is " +
                          FormatSeconds(options_.silence_limit_seconds) + ")");
        break;
      }
    }
    if (program.exited_ && program.report_fd_ < 0 && program.output_fd_ < 0) break;
    if (program.exited_ && Seconds(now - exited_at) > 2) break;  // its children hold the pipes
    if (got_result && !program.exited_ &&
        Seconds(now - result_at) > options_.terminate_grace_seconds)
      break;  // the result is in; the program is stopped below

    pollfd fds[2];
    int n = 0;
    for (int fd : {program.report_fd_, program.output_fd_})
      if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
    if (n > 0)
      poll(fds, n, 100);
    else
      usleep(50000);
    now = Clock::now();
    const bool report_open = program.report_fd_ >= 0;
    RunningProgram::Drain(&program.report_fd_, &report_buf, 1 << 20);
    RunningProgram::Drain(&program.output_fd_, &output_buf, 1 << 20);
    // At the end of the descriptor, a last line without its newline counts.
    if (report_open && program.report_fd_ < 0) {
      report_closed_at = now;
      if (!report_buf.empty()) report_buf += '\n';
    }
    const size_t before = lines;
    take_lines(&report_buf, true, now);
    take_lines(&output_buf, false, now);
    if (Seconds(now - window_start) >= 1.0) {
      window_start = now;
      window_lines = 0;
    }
    window_lines += static_cast<int64_t>(lines - before);
    if (window_lines > options_.max_lines_per_second && failure.ok())
      failure = Aborted("program flooded its report descriptor: more than " +
                        std::to_string(options_.max_lines_per_second) + " lines in one second");
    if (pending.size() >= 512 || Seconds(now - last_flush) >= options_.flush_interval_seconds)
      flush();
    if (!program.exited_ && program.Exited(0)) exited_at = Clock::now();
  }

  // --- The end: stop what still runs, then judge. ---
  const bool was_running = !program.exited_;
  program.Kill(options_.terminate_grace_seconds);
  // What it wrote as it was stopped belongs to the tail.
  RunningProgram::Drain(&program.output_fd_, &output_buf, 1 << 20);
  take_lines(&output_buf, false, Clock::now());
  if (!output_buf.empty()) add_output_line(output_buf);
  if (stopped) return Status::Cancelled("worker stopped");
  if (!sink_status.ok()) return sink_status;
  // A failed job keeps the curve it got so far, under its attempt.
  flush();
  if (!failure.ok()) return Status(failure.code(), failure.message() + "; stopped." + tail_text());
  if (!sink_status.ok()) return sink_status;
  const Clock::time_point end = got_result ? result_at : Clock::now();
  if (diverged || got_result) {
    result->diverged = diverged;
    if (diverged && !got_result) result->final_train_loss = kNaN;
    result->train_seconds = started ? Seconds(last_point - train_start) : 0;
    result->eval_seconds = got_result ? Seconds(end - last_point) : 0;
    result->steps = last_step;
    result->epochs = last_epoch;
    result->log_loss_integral = log_loss.Value();
    if (got_result && !was_running && !program.exited_cleanly() && options_.output)
      options_.output("[gridsearch] the program " + program.ExitText() + " after its result");
    return Status::OK();
  }
  if (program.exited_cleanly())
    return Aborted("program exited with status 0 without a result event." + tail_text());
  return Aborted("program " + program.ExitText() +
                 (started ? " before its result." : " before its train_start event.") +
                 tail_text());
}

}  // namespace gridsearch
