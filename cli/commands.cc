#include "cli/commands.h"

#include <signal.h>
#include <pthread.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "common/catalog.h"
#include "coordinator/database.h"
#include "coordinator/ranking.h"
#include "coordinator/server.h"
#include "proto/convert.h"
#include "worker/client.h"
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

// Blocks SIGINT/SIGTERM in every thread and calls `on_signal` from a helper
// thread when one arrives, so shutdown runs outside a signal handler.
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, on_signal] {
      int sig = 0;
      while (sigwait(&set_, &sig) == 0) {
        if (sig == SIGUSR2) return;  // our own wake-up at destruction
        on_signal(sig);
      }
    });
  }
  ~SignalWatcher() {
    sigaddset(&set_, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

Status LatestSweepFromDb(Database* db, int64_t* id) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT MAX(id) FROM sweeps", &st));
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row || st.IsNull(0)) return Status::NotFound("the database holds no sweeps");
  *id = st.Int(0);
  return Status::OK();
}

Status LatestSweepFromCoordinator(CoordinatorClient* client, int64_t* id) {
  v1::ListSweepsResponse resp;
  auto ctx = client->Context();
  GS_RETURN_IF_ERROR(FromGrpc(client->stub()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &resp))
                         .WithContext("coordinator " + client->address()));
  if (resp.sweeps_size() == 0) return Status::NotFound("the coordinator has no sweeps");
  *id = resp.sweeps(resp.sweeps_size() - 1).sweep_id();
  return Status::OK();
}

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

RankedConfigRow FromProto(const v1::RankedConfig& c) {
  RankedConfigRow r;
  r.rank = c.rank();
  r.config_id = c.config_id();
  r.optimizer = c.optimizer();
  r.params_json = c.params_json();
  r.mean_final_train_loss = c.mean_final_train_loss();
  r.mean_log_loss_integral = c.mean_log_loss_integral();
  r.mean_test_accuracy = c.mean_test_accuracy();
  r.mean_epochs = c.mean_epochs();
  r.seeds_done = c.seeds_done();
  r.seeds_total = c.seeds_total();
  r.diverged = c.diverged();
  r.failed = c.failed();
  r.incomplete = c.incomplete();
  return r;
}

}  // namespace

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

int RunCoordinatorCommand(const CoordinatorOptions& options) {
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
  server->Wait();
  server->Shutdown();
  return kExitOk;
}

int RunWorkerCommand(const WorkerOptions& options) {
  Worker worker(options);
  SignalWatcher signals([&worker](int sig) {
    std::fprintf(stderr, "worker: signal %d, stopping\n", sig);
    worker.Stop();
  });
  Status s = worker.Run();
  if (!s.ok()) return Fail("worker", s);
  return kExitOk;
}

int RunSubmitCommand(const std::string& coordinator, const std::string& spec_path) {
  std::string text, error;
  if (!ReadTextFile(spec_path, &text, &error)) {
    std::fprintf(stderr, "gridsearch: %s\n", error.c_str());
    return kExitBadInput;
  }
  CoordinatorClient client(coordinator, 60);
  v1::SubmitSweepRequest req;
  req.set_spec_json(text);
  v1::SubmitSweepResponse resp;
  auto ctx = client.Context();
  Status s = FromGrpc(client.stub()->SubmitSweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("submitting " + spec_path, s);
  std::printf("submitted sweep %lld: %lld jobs (%lld configurations)\n",
              static_cast<long long>(resp.sweep_id()), static_cast<long long>(resp.total_jobs()),
              static_cast<long long>(resp.configurations()));
  return kExitOk;
}

int RunStatusCommand(const QueryFlags& flags) {
  if (!flags.db.empty()) {
    // Read-only view of a file: open it as a store would, without writing.
    std::unique_ptr<Database> db;
    Status s = Database::Open(flags.db, true, &db);
    if (!s.ok()) return Fail("opening " + flags.db, s);
    double now = SystemClock::Get()->Now();
    if (flags.sweep_id == 0) {
      std::vector<SweepSummary> list;
      s = LoadSweepSummaries(db.get(), now, &list);
      if (!s.ok()) return Fail(flags.db, s);
      std::cout << FormatSweepList(list, flags.format);
      return kExitOk;
    }
    SweepSummary summary;
    s = LoadSweepSummary(db.get(), flags.sweep_id, now, &summary);
    if (!s.ok()) return Fail(flags.db, s);
    std::cout << FormatSweepSummary(summary, flags.format);
    return kExitOk;
  }
  CoordinatorClient client(flags.coordinator, 30);
  if (flags.sweep_id == 0) {
    v1::ListSweepsResponse resp;
    auto ctx = client.Context();
    Status s = FromGrpc(client.stub()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &resp));
    if (!s.ok()) return Fail("coordinator " + flags.coordinator, s);
    std::vector<SweepSummary> list;
    for (const auto& p : resp.sweeps()) list.push_back(FromProto(p));
    std::cout << FormatSweepList(list, flags.format);
    return kExitOk;
  }
  v1::GetSweepRequest req;
  req.set_sweep_id(flags.sweep_id);
  v1::SweepStatus resp;
  auto ctx = client.Context();
  Status s = FromGrpc(client.stub()->GetSweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("coordinator " + flags.coordinator, s);
  std::cout << FormatSweepSummary(FromProto(resp), flags.format);
  return kExitOk;
}

int RunResultsCommand(const QueryFlags& flags) {
  if (!IsRankingMetric(flags.metric))
    return Fail("results", Status::InvalidArgument("unknown metric '" + flags.metric + "'"));
  std::vector<RankedConfigRow> rows;
  int64_t sweep = flags.sweep_id;
  if (!flags.db.empty()) {
    std::unique_ptr<Database> db;
    Status s = Database::Open(flags.db, true, &db);
    if (!s.ok()) return Fail("opening " + flags.db, s);
    if (sweep == 0) {
      s = LatestSweepFromDb(db.get(), &sweep);
      if (!s.ok()) return Fail(flags.db, s);
    }
    s = QueryRanking(db.get(), sweep, flags.metric, &rows);
    if (!s.ok()) return Fail(flags.db, s);
  } else {
    CoordinatorClient client(flags.coordinator, 60);
    if (sweep == 0) {
      Status s = LatestSweepFromCoordinator(&client, &sweep);
      if (!s.ok()) return Fail("results", s);
    }
    v1::QueryRankingRequest req;
    req.set_sweep_id(sweep);
    req.set_metric(flags.metric);
    v1::QueryRankingResponse resp;
    auto ctx = client.Context();
    Status s = FromGrpc(client.stub()->QueryRanking(ctx.get(), req, &resp));
    if (!s.ok()) return Fail("coordinator " + flags.coordinator, s);
    for (const auto& c : resp.configs()) rows.push_back(FromProto(c));
  }
  std::cout << FormatRanking(rows, flags.format, flags.top, flags.metric);
  return kExitOk;
}

int RunCancelCommand(const std::string& coordinator, int64_t sweep_id) {
  CoordinatorClient client(coordinator, 30);
  v1::CancelSweepRequest req;
  req.set_sweep_id(sweep_id);
  v1::CancelSweepResponse resp;
  auto ctx = client.Context();
  Status s = FromGrpc(client.stub()->CancelSweep(ctx.get(), req, &resp));
  if (!s.ok()) return Fail("cancelling sweep " + std::to_string(sweep_id), s);
  std::printf("sweep %lld cancelled: %lld jobs stopped or dequeued\n",
              static_cast<long long>(sweep_id), static_cast<long long>(resp.cancelled_jobs()));
  return kExitOk;
}

int RunModelsCommand(const std::string& format) {
  if (format == "json") {
    nlohmann::json j;
    for (const auto& m : Models()) j["models"].push_back({{"name", m.name}, {"help", m.help}});
    for (const auto& d : Datasets())
      j["datasets"].push_back(
          {{"name", d.name}, {"help", d.help}, {"default_path", d.default_path}});
    for (const auto& o : Optimizers()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : o.params)
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"help", p.help}});
      j["optimizers"].push_back({{"name", o.name}, {"help", o.help}, {"params", params}});
    }
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "models:\n";
  for (const auto& m : Models()) std::printf("  %-10s %s\n", m.name.c_str(), m.help.c_str());
  std::cout << "data sets:\n";
  for (const auto& d : Datasets())
    std::printf("  %-14s %s%s\n", d.name.c_str(), d.help.c_str(),
                d.default_path.empty() ? "" : (" [" + d.default_path + "]").c_str());
  std::cout << "optimizers:\n";
  for (const auto& o : Optimizers()) {
    std::printf("  %-8s %s\n", o.name.c_str(), o.help.c_str());
    for (const auto& p : o.params)
      std::printf("      %-14s default %-8g %s\n", p.name.c_str(), p.default_value, p.help.c_str());
  }
  return kExitOk;
}

}  // namespace gridsearch
