#include "cli/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "cli/plot.h"
#include "coordinator/format.h"
#include "common/catalog.h"
#include "common/sweep_spec.h"
#include "coordinator/database.h"
#include "coordinator/ranking.h"
#include "coordinator/server.h"
#include "proto/convert.h"
#include "worker/client.h"
#include "worker/devices.h"
#include "worker/supervisor.h"
#include "worker/torch_plugin.h"
#include "worker/worker.h"

namespace gridsearch {
namespace {

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "gridsearch: %s: %s\n", what.c_str(), s.ToString().c_str());
  bool bad_input = s.code() == Status::kInvalidArgument || s.code() == Status::kNotFound ||
                   s.code() == Status::kResourceExhausted ||
                   s.code() == Status::kFailedPrecondition;
  return bad_input ? kExitBadInput : kExitError;
}

// Calls `on_signal` from a helper thread when SIGINT or SIGTERM arrives, so
// shutdown runs outside a signal handler: the handler installed by
// InstallShutdownHandler() only writes the signal number to a pipe.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal) {
    thread_ = std::thread([on_signal] {
      while (true) {
        int sig = WaitForShutdownSignal();
        if (sig <= 0) return;  // our own wake-up at destruction, or no pipe
        on_signal(sig);
      }
    });
  }
  ~SignalWatcher() {
    WakeShutdownWaiter();
    thread_.join();
  }

 private:
  std::thread thread_;
};

SweepSummary FromProto(const v1::SweepStatus& p) {
  SweepSummary s;
  s.id = p.sweep_id();
  s.name = p.name();
  s.state = p.state();
  s.model = p.model();
  s.dataset = p.dataset();
  s.total = p.total();
  s.queued = p.queued();
  s.leased = p.leased();
  s.done = p.done();
  s.failed = p.failed();
  s.diverged = p.diverged();
  s.cancelled = p.cancelled();
  s.created_at = p.created_at();
  s.elapsed_seconds = p.elapsed_seconds();
  s.jobs_per_minute = p.jobs_per_minute();
  s.eta_seconds = p.eta_seconds();
  s.budget_seconds = p.budget_seconds();
  s.active_workers = p.active_workers();
  return s;
}

// A client for the subcommand, or an exit code when its flags are unusable.
std::unique_ptr<CoordinatorClient> MakeClient(const ConnectionFlags& conn, double timeout,
                                              int* exit_code) {
  ClientSecurity security;
  Status s = LoadClientSecurity(conn, &security);
  if (!s.ok()) {
    *exit_code = Fail("connection", s);
    return nullptr;
  }
  return std::make_unique<CoordinatorClient>(conn.coordinator, timeout, security);
}

}  // namespace

namespace {

int g_signal_pipe[2] = {-1, -1};

void OnShutdownSignal(int sig) {
  // Only async-signal-safe work here.
  unsigned char byte = static_cast<unsigned char>(sig);
  ssize_t ignored = write(g_signal_pipe[1], &byte, 1);
  (void)ignored;
}

}  // namespace

void InstallShutdownHandler() {
  if (g_signal_pipe[0] >= 0) return;
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
  struct sigaction action {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int WaitForShutdownSignal() {
  if (g_signal_pipe[0] < 0) return -1;
  unsigned char byte = 0;
  while (true) {
    ssize_t n = read(g_signal_pipe[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    return -1;
  }
}

void WakeShutdownWaiter() {
  if (g_signal_pipe[1] < 0) return;
  unsigned char zero = 0;
  ssize_t ignored = write(g_signal_pipe[1], &zero, 1);
  (void)ignored;
}

Status ReadTokenFile(const std::string& path, std::string* token) {
  std::string text, error;
  if (!ReadTextFile(path, &text, &error)) return Status::InvalidArgument(error);
  size_t end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!text.empty() && is_space(text.back())) text.pop_back();
  size_t start = 0;
  while (start < text.size() && is_space(text[start])) ++start;
  *token = text.substr(start);
  if (token->empty()) return Status::InvalidArgument("token file '" + path + "' is empty");
  return Status::OK();
}

Status LoadServerSecurity(const std::string& token_file, const std::string& tls_cert,
                          const std::string& tls_key, CoordinatorOptions* options) {
  if (!token_file.empty()) {
    GS_RETURN_IF_ERROR(ReadTokenFile(token_file, &options->token));
  } else if (const char* env = std::getenv("GRIDSEARCH_TOKEN"); env != nullptr && *env) {
    options->token = env;
  }
  if (tls_cert.empty() != tls_key.empty())
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  std::string error;
  if (!tls_cert.empty()) {
    if (!ReadTextFile(tls_cert, &options->tls_cert_pem, &error))
      return Status::InvalidArgument(error + " (--tls-cert)");
    if (!ReadTextFile(tls_key, &options->tls_key_pem, &error))
      return Status::InvalidArgument(error + " (--tls-key)");
  }
  return Status::OK();
}

Status LoadClientSecurity(const ConnectionFlags& flags, ClientSecurity* security) {
  if (!flags.token_file.empty()) {
    GS_RETURN_IF_ERROR(ReadTokenFile(flags.token_file, &security->token));
  } else if (const char* env = std::getenv("GRIDSEARCH_TOKEN"); env != nullptr && *env) {
    security->token = env;
  }
  if (!flags.tls_ca.empty()) {
    std::string error;
    if (!ReadTextFile(flags.tls_ca, &security->tls_ca_pem, &error))
      return Status::InvalidArgument(error + " (--tls-ca)");
  }
  return Status::OK();
}

std::string VersionText() {
  std::ostringstream os;
  const int cuda = CudaDeviceCount();
  os << "gridsearch " << GRIDSEARCH_VERSION << "\n"
     << "  " << Trainer::SoftwareVersion()
     << (cuda > 0 ? " (CUDA, " + std::to_string(cuda) + " device(s) visible)" : std::string(" (no CUDA device visible)"))
     << "\n"
     << "  gRPC " << grpc::Version() << "\n"
     << "  SQLite " << sqlite3_libversion() << "\n"
     << "  database schema version " << Database::LatestSchemaVersion() << "\n";
  return os.str();
}

bool ReadTextFile(const std::string& path, std::string* text, std::string* error) {
  if (path == "-") {
    std::ostringstream os;
    os << std::cin.rdbuf();
    *text = os.str();
    return true;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = "cannot read '" + path + "'";
    return false;
  }
  std::ostringstream os;
  os << f.rdbuf();
  *text = os.str();
  return true;
}

int RunCoordinatorCommand(const CoordinatorOptions& options, double exit_when_finished_seconds) {
  std::unique_ptr<CoordinatorServer> server;
  CoordinatorServer* raw = nullptr;
  SignalWatcher signals([&raw](int sig) {
    std::fprintf(stderr, "coordinator: signal %d, shutting down\n", sig);
    if (raw != nullptr) raw->Shutdown();
  });
  Status s = CoordinatorServer::Start(options, nullptr, &server);
  if (!s.ok()) return Fail("starting the coordinator", s);
  raw = server.get();
  std::fprintf(stderr, "coordinator: listening on %s, database %s\n", server->address().c_str(),
               options.db_path.c_str());
  if (!server->http_url().empty())
    std::fprintf(stderr, "coordinator: dashboard at %s (metrics at %smetrics)\n",
                 server->http_url().c_str(), server->http_url().c_str());
  // With --exit-when-finished, a watcher shuts the server down once no sweep
  // has had queued or running jobs for that long (a batch allocation is
  // handed back when its sweep is drained).
  std::atomic<bool> done{false};
  std::thread finished_watcher;
  if (exit_when_finished_seconds > 0) {
    finished_watcher = std::thread([&] {
      auto idle_since = std::chrono::steady_clock::now();
      while (!done.load()) {
        // Each look summarises every sweep: not more often than needed.
        std::this_thread::sleep_for(std::chrono::seconds(2));
        std::vector<SweepSummary> sweeps;
        bool running = !server->store()->ListSweeps(&sweeps).ok();
        for (const auto& sw : sweeps) running = running || sw.state == "running";
        const auto now = std::chrono::steady_clock::now();
        if (running) idle_since = now;
        if (std::chrono::duration<double>(now - idle_since).count() >= exit_when_finished_seconds) {
          std::fprintf(stderr, "coordinator: every sweep is finished; shutting down\n");
          server->Shutdown();
          return;
        }
      }
    });
  }
  server->Wait();
  server->Shutdown();
  done.store(true);
  if (finished_watcher.joinable()) finished_watcher.join();
  return kExitOk;
}

int RunWorkerDevicesCommand(const std::string& devices_spec, WorkerProcessFlags flags,
                            const std::string& self_exe) {
  std::vector<std::string> devices;
  Status s = ResolveDevices(devices_spec, &devices);
  if (!s.ok()) return Fail("worker --devices", s);
  if (flags.worker_id_base.empty()) flags.worker_id_base = DefaultWorkerId();
  SupervisorOptions options;
  options.executable = self_exe;
  Supervisor supervisor(options, WorkerProcesses(devices, flags));
  std::string list;
  for (const auto& d : devices) list += (list.empty() ? "" : ", ") + d;
  std::fprintf(stderr, "worker: %zu process(es), one job per device at a time: %s; coordinator %s\n",
               devices.size(), list.c_str(), flags.coordinator.c_str());
  static std::atomic<int> stop{0};
  SignalWatcher signals([](int sig) { stop.store(sig); });
  s = supervisor.Start();
  if (!s.ok()) std::fprintf(stderr, "gridsearch: worker: %s\n", s.ToString().c_str());
  return supervisor.Run(&stop) == 0 ? kExitOk : kExitError;
}

int RunWorkerCommand(const WorkerOptions& options) {
  // LibTorch is loaded now, not at the first job (worker/torch_plugin.h): a
  // worker that cannot load it refuses to start rather than fail the jobs
  // it would lease.
  const TorchPluginApi* torch = nullptr;
  Status loaded = LoadTorchPlugin(&torch);
  if (!loaded.ok()) return Fail("worker", loaded);
  KeepFreedMemoryForTraining();
  Worker worker(options);
  SignalWatcher signals([&worker](int sig) {
    std::fprintf(stderr, "worker: signal %d, stopping\n", sig);
    worker.Stop();
  });
  Status s = worker.Run();
  if (!s.ok()) return Fail("worker", s);
  return kExitOk;
}

int RunSubmitCommand(const ConnectionFlags& conn, const std::string& spec_path) {
  std::string text, error;
  if (!ReadTextFile(spec_path, &text, &error)) {
    std::fprintf(stderr, "gridsearch: %s\n", error.c_str());
    return kExitBadInput;
  }
  // Checked here first, so that a bad spec is named even with no
  // coordinator running; the coordinator checks it again, with its limits.
  SweepSpec local;
  SpecLimits unbounded;
  unbounded.max_jobs = INT64_MAX;
  std::vector<Status> problems;
  CollectSweepSpec(text, unbounded, &local, &problems);
  if (!problems.empty()) {
    const int code = Fail("submitting " + spec_path, problems.front());
    if (problems.size() > 1)
      std::fprintf(stderr, "gridsearch: %zu more problem(s); `gridsearch validate %s` lists them\n",
                   problems.size() - 1, spec_path.c_str());
    return code;
  }
  int code = kExitError;
  auto client = MakeClient(conn, 60, &code);
  if (!client) return code;
  v1::SubmitSweepRequest req;
  req.set_spec_json(text);
  v1::SubmitSweepResponse resp;
  auto ctx = client->Context();
  Status s = FromGrpc(client->stub()->SubmitSweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("submitting " + spec_path, s);
  std::printf("submitted sweep %lld: %lld jobs (%lld configurations)\n",
              static_cast<long long>(resp.sweep_id()), static_cast<long long>(resp.total_jobs()),
              static_cast<long long>(resp.configurations()));
  return kExitOk;
}

namespace {

// One rendering of `status`; *running tells whether a sweep shown still has
// queued or running jobs.
Status RenderStatus(const QueryFlags& flags, CoordinatorClient* client, std::string* text,
                    bool* running) {
  std::vector<SweepSummary> shown;
  if (!flags.db.empty()) {
    // Read-only view of a file: open it as a store would, without writing.
    std::unique_ptr<Database> db;
    GS_RETURN_IF_ERROR(Database::Open(flags.db, true, &db).WithContext("opening " + flags.db));
    const double now = SystemClock::Get()->Now();
    if (flags.sweep_id == 0) {
      GS_RETURN_IF_ERROR(LoadSweepSummaries(db.get(), now, &shown).WithContext(flags.db));
    } else {
      SweepSummary summary;
      GS_RETURN_IF_ERROR(
          LoadSweepSummary(db.get(), flags.sweep_id, now, &summary).WithContext(flags.db));
      shown.push_back(summary);
    }
  } else if (flags.sweep_id == 0) {
    v1::ListSweepsResponse resp;
    auto ctx = client->Context();
    GS_RETURN_IF_ERROR(
        FromGrpc(client->stub()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &resp))
            .WithContext("coordinator " + flags.conn.coordinator));
    for (const auto& p : resp.sweeps()) shown.push_back(FromProto(p));
  } else {
    v1::GetSweepRequest req;
    req.set_sweep_id(flags.sweep_id);
    v1::SweepStatus resp;
    auto ctx = client->Context();
    GS_RETURN_IF_ERROR(FromGrpc(client->stub()->GetSweep(ctx.get(), req, &resp))
                           .WithContext("coordinator " + flags.conn.coordinator));
    shown.push_back(FromProto(resp));
  }
  *running = false;
  for (const auto& s : shown) *running = *running || s.state == "running";
  *text = flags.sweep_id == 0 ? FormatSweepList(shown, flags.format)
                              : FormatSweepSummary(shown.at(0), flags.format);
  return Status::OK();
}

}  // namespace

int RunStatusCommand(const QueryFlags& flags) {
  std::unique_ptr<CoordinatorClient> client;
  if (flags.db.empty()) {
    int code = kExitError;
    client = MakeClient(flags.conn, 30, &code);
    if (!client) return code;
  }
  std::string text;
  bool running = false;
  if (!flags.watch) {
    Status s = RenderStatus(flags, client.get(), &text, &running);
    if (!s.ok()) return Fail("status", s);
    std::cout << text;
    return kExitOk;
  }
  // --watch: redrawn in place on a terminal (appended otherwise) until no
  // sweep shown is running, or Ctrl-C.
  static std::atomic<int> interrupted{0};
  SignalWatcher signals([](int sig) { interrupted.store(sig); });
  const bool tty = isatty(STDOUT_FILENO);
  int previous_lines = 0;
  while (true) {
    Status s = RenderStatus(flags, client.get(), &text, &running);
    if (!s.ok()) return Fail("status", s);
    if (tty && previous_lines > 0) std::printf("\033[%dA\033[J", previous_lines);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    previous_lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    if (!running) return kExitOk;
    const auto next = std::chrono::steady_clock::now() +
                      std::chrono::duration<double>(flags.interval_seconds);
    while (std::chrono::steady_clock::now() < next) {
      if (interrupted.load() != 0) return 130;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

Status FetchTable(const QueryFlags& flags, TableRequest request, std::string* text) {
  request.sweep_id = flags.sweep_id;
  if (!flags.db.empty()) {
    std::unique_ptr<Database> db;
    GS_RETURN_IF_ERROR(Database::Open(flags.db, true, &db));
    return RenderTable(db.get(), request, text).WithContext(flags.db);
  }
  ClientSecurity security;
  GS_RETURN_IF_ERROR(LoadClientSecurity(flags.conn, &security));
  CoordinatorClient client(flags.conn.coordinator, 120, security);
  v1::QueryTableRequest req;
  req.set_kind(request.kind);
  req.set_sweep_id(request.sweep_id);
  req.set_metric(request.metric);
  req.set_format(request.format);
  req.set_top(static_cast<int64_t>(request.top));
  req.set_split(request.split);
  for (int64_t id : request.config_ids) req.add_config_ids(id);
  req.set_bins(request.bins);
  req.set_raw(request.raw);
  req.set_column(request.column);
  v1::QueryTableResponse resp;
  auto ctx = client.Context();
  GS_RETURN_IF_ERROR(FromGrpc(client.stub()->QueryTable(ctx.get(), req, &resp))
                         .WithContext("coordinator " + flags.conn.coordinator));
  *text = resp.text();
  return Status::OK();
}

int RunTableCommand(const QueryFlags& flags, const TableRequest& request) {
  std::string text;
  Status s = FetchTable(flags, request, &text);
  if (!s.ok()) return Fail(request.kind, s);
  std::cout << text;
  return kExitOk;
}

int RunPlotCommand(const QueryFlags& flags, const std::string& out_dir, int bins) {
  PlotOptions options;
  options.out_dir = out_dir;
  options.metric = flags.metric;
  options.bins = bins;
  std::vector<std::string> written, notes;
  Status s = WritePlots([&](const TableRequest& r, std::string* text) { return FetchTable(flags, r, text); },
                        options, &written, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "plot: %s\n", n.c_str());
  if (!s.ok()) return Fail("plot", s);
  for (const auto& w : written) std::printf("%s\n", w.c_str());
  return kExitOk;
}

int RunResultsCommand(const QueryFlags& flags) {
  TableRequest req;
  req.kind = "results";
  req.metric = flags.metric;
  req.format = flags.format;
  req.top = flags.top;
  return RunTableCommand(flags, req);
}

int RunCancelCommand(const ConnectionFlags& conn, int64_t sweep_id) {
  int code = kExitError;
  auto client = MakeClient(conn, 30, &code);
  if (!client) return code;
  v1::CancelSweepRequest req;
  req.set_sweep_id(sweep_id);
  v1::CancelSweepResponse resp;
  auto ctx = client->Context();
  Status s = FromGrpc(client->stub()->CancelSweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("cancelling sweep " + std::to_string(sweep_id), s);
  std::printf("sweep %lld cancelled: %lld jobs stopped or dequeued\n",
              static_cast<long long>(sweep_id), static_cast<long long>(resp.cancelled_jobs()));
  return kExitOk;
}

int RunRetryCommand(const ConnectionFlags& conn, int64_t sweep_id) {
  int code = kExitError;
  auto client = MakeClient(conn, 30, &code);
  if (!client) return code;
  v1::RetrySweepRequest req;
  req.set_sweep_id(sweep_id);
  v1::RetrySweepResponse resp;
  auto ctx = client->Context();
  Status s = FromGrpc(client->stub()->RetrySweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("retrying sweep " + std::to_string(sweep_id), s);
  std::printf("sweep %lld: %lld failed job(s) queued again\n", static_cast<long long>(sweep_id),
              static_cast<long long>(resp.requeued_jobs()));
  return kExitOk;
}


}  // namespace gridsearch
