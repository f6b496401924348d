// `gridsearch run`: a coordinator on a loopback port, N worker processes and
// a progress bar, all on this machine, ending with the ranking table.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "coordinator/database.h"
#include "coordinator/format.h"
#include "common/sweep_spec.h"
#include "common/text_escape.h"
#include "cli/plot.h"
#include "cli/worker_processes.h"
#include "coordinator/listen_address.h"
#include "coordinator/server.h"
#include "worker/devices.h"
#include "worker/supervisor.h"

namespace gridsearch {
namespace {

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

// The distinct errors of the sweep's failed jobs, most frequent first.
void PrintFailures(const std::string& db_path, int64_t sweep_id, int64_t failed,
                   const std::string& log_path) {
  constexpr int kShown = 5;
  std::fprintf(stderr, "\n%lld job(s) failed:\n", static_cast<long long>(failed));
  std::unique_ptr<Database> db;
  Statement st;
  int64_t distinct = 0, shown = 0;
  if (Database::Open(db_path, true, &db).ok() &&
      // Grouped by the message without its "attempt N on WORKER: " prefix,
      // so that one cause on several workers counts once.
      db->Prepare("SELECT CASE WHEN error LIKE 'attempt % on %: %' "
                  "THEN substr(error, instr(error, ': ') + 2) "
                  "ELSE COALESCE(error, '(no message)') END AS cause, COUNT(*) FROM jobs "
                  "WHERE sweep_id = ?1 AND state = 'failed' GROUP BY cause ORDER BY 2 DESC, 1",
                  &st)
          .ok()) {
    st.Bind(1, sweep_id);
    bool row = false;
    while (st.Step(&row).ok() && row) {
      ++distinct;
      if (shown++ < kShown) {
        // A message (a program's output, say) may span lines: each is
        // printed indented, with its control characters written out.
        const std::string cause = st.Text(0);
        std::string text;
        size_t begin = 0;
        for (size_t nl; (nl = cause.find('\n', begin)) != std::string::npos; begin = nl + 1)
          text += EscapeControl(cause.substr(begin, nl - begin)) + "\n      ";
        text += EscapeControl(cause.substr(begin));
        std::fprintf(stderr, "  %lld x %s\n", static_cast<long long>(st.Int(1)), text.c_str());
      }
    }
  }
  if (distinct > kShown)
    std::fprintf(stderr, "  (%lld more distinct errors)\n",
                 static_cast<long long>(distinct - kShown));
  std::fprintf(stderr,
               "`gridsearch results --db %s` keeps the rest, `gridsearch retry` queues the failed "
               "jobs again, and %s has the workers' messages\n",
               db_path.c_str(), log_path.c_str());
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
  // The devices are checked before anything starts.
  std::vector<std::string> devices;
  if (!f.devices.empty()) {
    s = ResolveDevices(f.devices, &devices);
  } else {
    std::string device;
    s = CanonicalDevice(f.device, &device);
    devices.assign(f.workers, device);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "gridsearch: %s\n", s.message().c_str());
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
  options.http_listen = f.http_listen;
  if (!f.http_listen.empty() && !IsLoopbackListen(f.http_listen)) {
    std::fprintf(stderr,
                 "gridsearch: run --http serves on loopback only (127.0.0.1:PORT); to serve the "
                 "dashboard to other machines, use `gridsearch coordinator --http ADDR "
                 "--token-file F`\n");
    return kExitBadInput;
  }
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
  const int n = static_cast<int>(devices.size());
  const int threads = f.threads > 0 ? f.threads : DefaultThreadsPerProcess(n);
  const std::string log_path = f.db + ".workers.log";
  std::string where = devices[0];
  for (size_t i = 1; i < devices.size(); ++i) where += "," + devices[i];
  std::fprintf(stderr,
               "sweep %lld \"%s\": %lld jobs (%lld configurations x %zu seeds), %d worker(s) x %d "
               "thread(s) on %s, budget %s per job\n"
               "database %s, worker log %s, coordinator %s\n",
               static_cast<long long>(sweep_id), EscapeControl(spec.name).c_str(),
               static_cast<long long>(total),
               static_cast<long long>(configs), spec.seeds.size(), n, threads, where.c_str(),
               FormatDuration(spec.budget_seconds).c_str(), f.db.c_str(), log_path.c_str(),
               server->address().c_str());
  if (!server->http_url().empty())
    std::fprintf(stderr, "dashboard: %ssweeps/%lld\n", server->http_url().c_str(),
                 static_cast<long long>(sweep_id));

  // The workers: the same supervisor as `gridsearch worker --devices`. Its
  // own lines go to the workers' log; the progress bar stays readable.
  WorkerProcessFlags processes;
  processes.coordinator = server->address();
  processes.threads = threads;
  processes.worker_id_base = "local";
  SupervisorOptions supervision;
  supervision.executable = self_exe;
  supervision.log_path = log_path;
  supervision.max_restarts = 3 * n;
  supervision.stop_grace_seconds = 10;
  supervision.log = [log_path](const std::string& line) {
    if (FILE* log = std::fopen(log_path.c_str(), "a")) {
      std::fprintf(log, "supervisor: %s\n", line.c_str());
      std::fclose(log);
    }
  };
  Supervisor workers(supervision, WorkerProcesses(devices, processes));
  s = workers.Start();
  if (!s.ok()) std::fprintf(stderr, "gridsearch: %s\n", s.ToString().c_str());

  const bool tty = isatty(STDERR_FILENO) && !f.quiet;
  SweepSummary summary;
  auto last_print = std::chrono::steady_clock::now() - std::chrono::hours(1);
  int64_t last_finished = -1;
  int restarts_seen = 0;
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
    // A worker that died is started again (with backoff) while work remains.
    workers.Poll();
    if (workers.restarts() > restarts_seen) {
      restarts_seen = workers.restarts();
      std::fprintf(stderr, "\na worker exited; starting another (%d restart(s) so far, see %s)\n",
                   restarts_seen, log_path.c_str());
    }
    if (!workers.Active()) {
      std::fprintf(stderr, "\nall workers exited too often; see %s\n", log_path.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 250 : 500));
  }
  int64_t finished = summary.done + summary.diverged + summary.failed + summary.cancelled;
  if (!f.quiet && (tty || finished != last_finished)) DrawProgress(summary, tty, true);
  workers.Stop(SIGTERM);

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
  if (summary.failed > 0) PrintFailures(f.db, sweep_id, summary.failed, log_path);
  bool all_ok = summary.state == "finished" && summary.failed == 0 && summary.cancelled == 0;
  if (interrupted.load() != 0) return 130;
  return all_ok ? kExitOk : kExitError;
}

}  // namespace gridsearch
