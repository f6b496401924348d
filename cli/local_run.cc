// `gridsearch run`: a coordinator on a loopback port, N worker processes and
// a progress bar, all on this machine, ending with the ranking table.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "coordinator/format.h"
#include "common/sweep_spec.h"
#include "cli/plot.h"
#include "coordinator/server.h"

namespace gridsearch {
namespace {

pid_t SpawnWorker(const std::string& exe, const std::vector<std::string>& args,
                  const std::string& log_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;  // parent (or -1)
  // Child: log to the shared file, then exec (which resets the handlers).
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(exe.c_str(), argv.data());
  std::perror("exec gridsearch worker");
  _exit(127);
}

void DrawProgress(const SweepSummary& s, bool tty, bool final_line) {
  int64_t finished = s.done + s.diverged + s.failed + s.cancelled;
  const int width = 30;
  int filled = s.total > 0 ? static_cast<int>(width * finished / s.total) : width;
  std::string bar(filled, '#');
  bar += std::string(width - filled, '-');
  char line[256];
  std::snprintf(line, sizeof(line),
                "[%s] %lld/%lld jobs  done %lld  diverged %lld  failed %lld  running %lld  ETA %s",
                bar.c_str(), static_cast<long long>(finished), static_cast<long long>(s.total),
                static_cast<long long>(s.done), static_cast<long long>(s.diverged),
                static_cast<long long>(s.failed), static_cast<long long>(s.leased),
                s.eta_seconds < 0 ? "?" : FormatDuration(s.eta_seconds).c_str());
  if (tty) {
    std::fprintf(stderr, "\r%s\033[K%s", line, final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

}  // namespace

int RunLocalCommand(const LocalRunFlags& f, const std::string& self_exe) {
  std::string text, error;
  if (!ReadTextFile(f.spec_path, &text, &error)) {
    std::fprintf(stderr, "gridsearch: %s\n", error.c_str());
    return kExitBadInput;
  }
  // Refuse a bad spec before starting anything.
  SweepSpec spec;
  Status s = ParseSweepSpec(text, SpecLimits(), &spec);
  if (!s.ok()) {
    std::fprintf(stderr, "gridsearch: %s: %s\n", f.spec_path.c_str(), s.ToString().c_str());
    return kExitBadInput;
  }
  if (f.workers < 1) {
    std::fprintf(stderr, "gridsearch: --workers must be at least 1\n");
    return kExitBadInput;
  }

  // Signals go to a watcher thread; the loop below reacts to the flag.
  // SIGINT/SIGTERM set a flag that the loop below reacts to.
  static std::atomic<int> interrupted{0};
  std::thread watcher([]() {
    int sig = WaitForShutdownSignal();
    if (sig > 0) interrupted.store(sig);
  });
  watcher.detach();

  CoordinatorOptions options;
  options.db_path = f.db;
  options.listen = "127.0.0.1:0";
  options.lease_timeout_seconds = f.lease_timeout_seconds;
  options.max_attempts = f.max_attempts;
  std::unique_ptr<CoordinatorServer> server;
  s = CoordinatorServer::Start(options, nullptr, &server);
  if (!s.ok()) {
    std::fprintf(stderr, "gridsearch: starting the coordinator: %s\n", s.ToString().c_str());
    return kExitError;
  }
  int64_t sweep_id = 0, total = 0, configs = 0;
  s = server->store()->SubmitSweep(text, &sweep_id, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "gridsearch: %s: %s\n", f.spec_path.c_str(), s.ToString().c_str());
    return kExitBadInput;
  }
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int threads = f.threads > 0 ? f.threads : std::max(1, cores / f.workers);
  std::string log_path = f.db + ".workers.log";
  std::fprintf(stderr,
               "sweep %lld \"%s\": %lld jobs (%lld configurations x %zu seeds), %d worker(s) x %d "
               "thread(s) on %s, budget %s per job\n"
               "database %s, worker log %s, coordinator %s\n",
               static_cast<long long>(sweep_id), spec.name.c_str(), static_cast<long long>(total),
               static_cast<long long>(configs), spec.seeds.size(), f.workers, threads,
               f.device.c_str(), FormatDuration(spec.budget_seconds).c_str(), f.db.c_str(),
               log_path.c_str(), server->address().c_str());

  auto worker_args = [&](int i) {
    return std::vector<std::string>{"worker", "--coordinator", server->address(), "--device",
                                    f.device, "--threads", std::to_string(threads), "--worker-id",
                                    "local-" + std::to_string(i)};
  };
  std::vector<pid_t> workers(f.workers, -1);
  for (int i = 0; i < f.workers; ++i) workers[i] = SpawnWorker(self_exe, worker_args(i), log_path);
  int restarts_left = 3 * f.workers;

  const bool tty = isatty(STDERR_FILENO) && !f.quiet;
  SweepSummary summary;
  auto last_print = std::chrono::steady_clock::now() - std::chrono::hours(1);
  int64_t last_finished = -1;
  while (true) {
    s = server->store()->GetSweep(sweep_id, &summary);
    if (!s.ok()) break;
    int64_t finished = summary.done + summary.diverged + summary.failed + summary.cancelled;
    auto now = std::chrono::steady_clock::now();
    bool changed = finished != last_finished;
    if (!f.quiet && (tty ? true : (changed && now - last_print > std::chrono::seconds(2)) ||
                                      now - last_print > std::chrono::seconds(30))) {
      DrawProgress(summary, tty, false);
      last_print = now;
      last_finished = finished;
    }
    if (summary.state != "running") break;
    if (interrupted.load() != 0) {
      std::fprintf(stderr, "\ninterrupted: stopping workers; finished jobs are kept in %s\n",
                   f.db.c_str());
      break;
    }
    // A worker that died is replaced while work remains.
    for (int i = 0; i < f.workers; ++i) {
      int wstatus = 0;
      if (workers[i] > 0 && waitpid(workers[i], &wstatus, WNOHANG) == workers[i]) {
        workers[i] = -1;
        if (restarts_left-- > 0) {
          std::fprintf(stderr, "\nworker local-%d exited (status %d); starting another (see %s)\n",
                       i, wstatus, log_path.c_str());
          workers[i] = SpawnWorker(self_exe, worker_args(i), log_path);
        }
      }
    }
    bool any_alive = false;
    for (pid_t p : workers) any_alive = any_alive || p > 0;
    if (!any_alive) {
      std::fprintf(stderr, "\nall workers exited too often; see %s\n", log_path.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 250 : 500));
  }
  int64_t finished = summary.done + summary.diverged + summary.failed + summary.cancelled;
  if (!f.quiet && (tty || finished != last_finished)) DrawProgress(summary, tty, true);

  for (pid_t p : workers)
    if (p > 0) kill(p, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (pid_t& p : workers) {
    while (p > 0) {
      if (waitpid(p, nullptr, WNOHANG) == p) {
        p = -1;
      } else if (std::chrono::steady_clock::now() > deadline) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
        p = -1;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  // The tables, then the figures beside the database.
  TableRequest req;
  req.sweep_id = sweep_id;
  req.format = f.format;
  req.top = f.top;
  std::string table;
  Status q = server->store()->RenderTable(req, &table);
  if (!q.ok()) {
    server->Shutdown();
    std::fprintf(stderr, "gridsearch: ranking: %s\n", q.ToString().c_str());
    return kExitError;
  }
  std::cout << "\nRanking (" << (f.top > 0 ? "best " + std::to_string(f.top) : std::string("all"))
            << " configurations)\n" << table;
  if (!spec.ablation_json.empty()) {
    req.kind = "ablation";
    if (server->store()->RenderTable(req, &text).ok()) std::cout << "\nAblation\n" << text;
    req.kind = "best";
    req.split = "all";
    if (server->store()->RenderTable(req, &text).ok())
      std::cout << "\nBest configuration per optimizer and feature group\n" << text;
  }
  req.kind = "epochs";
  if (server->store()->RenderTable(req, &text).ok()) std::cout << "\nEpochs within the budget\n" << text;
  std::cout.flush();
  if (!f.no_plots && summary.done + summary.diverged > 0) {
    PlotOptions plot;
    std::string stem = f.db;
    if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".db") == 0) stem.resize(stem.size() - 3);
    plot.out_dir = stem + "-plots";
    std::vector<std::string> written, notes;
    Status p = WritePlots(
        [&](const TableRequest& r, std::string* out) {
          TableRequest local = r;
          local.sweep_id = sweep_id;
          return server->store()->RenderTable(local, out);
        },
        plot, &written, &notes);
    if (p.ok())
      std::fprintf(stderr, "\nfigures: %zu files in %s/\n", written.size(), plot.out_dir.c_str());
    else
      std::fprintf(stderr, "\nfigures not drawn: %s\n", p.ToString().c_str());
  }
  server->Shutdown();
  if (summary.failed > 0)
    std::fprintf(stderr,
                 "%lld job(s) failed; `gridsearch results --db %s` keeps the rest, and %s "
                 "has the workers' messages\n",
                 static_cast<long long>(summary.failed), f.db.c_str(), log_path.c_str());
  bool all_ok = summary.state == "finished" && summary.failed == 0 && summary.cancelled == 0;
  if (interrupted.load() != 0) return 130;
  return all_ok ? kExitOk : kExitError;
}

}  // namespace gridsearch
