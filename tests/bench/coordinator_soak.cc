// coordinator_soak: 64 simulated workers (lease, report, complete; no
// training) and 8 concurrent readers (status and ranking queries, as the CLI
// sends them) against one coordinator and its SQLite file, for a bounded
// time. Checks: no RPC errors, no "database is locked", every job completed
// exactly once. Prints completions per second (group commit: several
// completions per transaction, each durable before its reply), p50/p99
// latencies per RPC, and the ratio to a baseline measured in the same run
// with 1 worker and no readers.
//
// usage: coordinator_soak [--workers 64] [--readers 8] [--seconds 20] [--dir /tmp] [--keep]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "coordinator/database.h"
#include "coordinator/server.h"
#include "proto/gridsearch.grpc.pb.h"

using namespace gridsearch;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Spec(int configs, int seeds) {
  std::string lrs, seed_list;
  for (int i = 0; i < configs; ++i) lrs += (i ? "," : "") + std::to_string(0.001 * (i + 1));
  for (int i = 0; i < seeds; ++i) seed_list += (i ? "," : "") + std::to_string(i);
  return R"({"name":"soak","model":"mlp","dataset":"synthetic","batch_size":10,)"
         R"("budget_seconds":1,"seeds":[)" + seed_list + R"(],"optimizers":{"sgd":{"lr":[)" + lrs +
         "]}}}";
}

// Latency samples per RPC name, shared by the threads.
class Latencies {
 public:
  void Add(const std::string& rpc, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_[rpc].push_back(seconds);
  }
  void Print() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [rpc, v] : samples_) {
      std::sort(v.begin(), v.end());
      auto pct = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))] * 1e3; };
      std::printf("  %-15s n=%-8zu p50 %7.2f ms   p99 %7.2f ms   max %7.2f ms\n", rpc.c_str(),
                  v.size(), pct(0.5), pct(0.99), v.back() * 1e3);
    }
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<double>> samples_;
};

struct SoakResult {
  int64_t completed = 0;
  int64_t errors = 0;
  int64_t locked = 0;
  int64_t duplicates = 0;
  double rate = 0;
};

SoakResult Soak(CoordinatorServer* server, int64_t sweep, int workers, int readers,
                double seconds, Latencies* lat) {
  std::atomic<int64_t> completed{0}, errors{0}, locked{0};
  std::mutex ids_mu;
  std::set<int64_t> ids;
  int64_t duplicates = 0;
  std::atomic<bool> stop{false};
  std::mutex errors_mu;
  std::map<std::string, int64_t> distinct_errors;
  auto note_error = [&](const grpc::Status& s, const char* what) {
    ++errors;
    if (s.error_message().find("locked") != std::string::npos) ++locked;
    {
      std::lock_guard<std::mutex> lock(errors_mu);
      ++distinct_errors[std::string(what) + ": " + std::to_string(s.error_code()) + " " +
                        s.error_message()];
    }
    // An error is not retried at full speed: one failing connection must not
    // turn into tens of thousands of counted errors.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  // Every simulated process gets its own connection, made before the clock
  // starts. Made lazily, 72 connections were set up at once while the run
  // was measured, and one that failed then made every fail-fast call on it
  // fail at once until gRPC's reconnect backoff ended: one failed connect
  // became tens of thousands of counted errors.
  auto channel_for = [&](int i) {
    grpc::ChannelArguments args;
    args.SetInt("gridsearch.soak.client", i);  // one connection per simulated process
    return grpc::CreateCustomChannel(server->address(), grpc::InsecureChannelCredentials(), args);
  };
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  int64_t unconnected = 0;
  for (int i = 0; i < workers + readers; ++i) {
    channels.push_back(channel_for(i < workers ? i : 1000 + i));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(30)))
      ++unconnected;
  }
  if (unconnected > 0)
    std::fprintf(stderr, "%lld of %d connections could not be made in 30 s\n",
                 static_cast<long long>(unconnected), workers + readers);
  // Calls wait for their connection rather than fail while it is being
  // (re)made: what is measured is the coordinator, not connection set-up.
  auto context = [](grpc::ClientContext* ctx) {
    ctx->set_wait_for_ready(true);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  };
  std::vector<std::thread> threads;
  double start = Now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::Coordinator::NewStub(channels[w]);
      while (!stop.load()) {
        v1::LeaseJobRequest lreq;
        lreq.set_worker_id("soak-" + std::to_string(w));
        lreq.set_wait_seconds(0);
        v1::LeaseJobResponse lresp;
        grpc::ClientContext lctx;
        context(&lctx);
        double t0 = Now();
        grpc::Status s = stub->LeaseJob(&lctx, lreq, &lresp);
        lat->Add("LeaseJob", Now() - t0);
        if (!s.ok()) { note_error(s, "LeaseJob"); continue; }
        if (!lresp.found()) return;  // the sweep is drained
        v1::ReportProgressRequest rreq;
        rreq.set_job_id(lresp.job().job_id());
        rreq.set_lease_id(lresp.lease_id());
        for (int p = 0; p < 20; ++p) {
          auto* pt = rreq.add_points();
          pt->set_step(p + 1);
          pt->set_elapsed_seconds(0.01 * p);
          pt->set_loss(2.0 / (p + 1));
        }
        v1::ReportProgressResponse rresp;
        grpc::ClientContext rctx;
        context(&rctx);
        t0 = Now();
        s = stub->ReportProgress(&rctx, rreq, &rresp);
        lat->Add("ReportProgress", Now() - t0);
        if (!s.ok()) note_error(s, "ReportProgress");
        v1::CompleteJobRequest creq;
        creq.set_job_id(lresp.job().job_id());
        creq.set_lease_id(lresp.lease_id());
        creq.mutable_metrics()->set_final_train_loss(0.001 * (lresp.job().job_id() % 997));
        creq.mutable_metrics()->set_steps(20);
        v1::CompleteJobResponse cresp;
        grpc::ClientContext cctx;
        context(&cctx);
        t0 = Now();
        s = stub->CompleteJob(&cctx, creq, &cresp);
        lat->Add("CompleteJob", Now() - t0);
        if (!s.ok()) { note_error(s, "CompleteJob"); continue; }
        ++completed;
        std::lock_guard<std::mutex> lock(ids_mu);
        if (!ids.insert(lresp.job().job_id()).second) ++duplicates;
      }
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      auto stub = v1::Coordinator::NewStub(channels[workers + r]);
      while (!stop.load()) {
        grpc::ClientContext sctx;
        context(&sctx);
        v1::GetSweepRequest sreq;
        sreq.set_sweep_id(sweep);
        v1::SweepStatus sresp;
        double t0 = Now();
        grpc::Status s = stub->GetSweep(&sctx, sreq, &sresp);
        lat->Add("GetSweep", Now() - t0);
        if (!s.ok()) note_error(s, "GetSweep");
        grpc::ClientContext qctx;
        context(&qctx);
        v1::QueryRankingRequest qreq;
        qreq.set_sweep_id(sweep);
        v1::QueryRankingResponse qresp;
        t0 = Now();
        s = stub->QueryRanking(&qctx, qreq, &qresp);
        lat->Add("QueryRanking", Now() - t0);
        if (!s.ok()) note_error(s, "QueryRanking");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a person polling `status`
      }
    });
  }
  // Workers end when the sweep drains; the run ends at `seconds` either way.
  while (Now() - start < seconds && completed.load() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  while (Now() - start < seconds) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop.store(true);
  double elapsed = Now() - start;
  for (auto& t : threads) t.join();
  for (const auto& [message, count] : distinct_errors)
    std::fprintf(stderr, "  %lld x %s\n", static_cast<long long>(count), message.c_str());
  SoakResult r;
  r.completed = completed;
  r.errors = errors + unconnected;
  r.locked = locked;
  r.duplicates = duplicates;
  r.rate = completed / elapsed;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 64, readers = 8;
  double seconds = 20;
  std::string dir = "/tmp";
  bool keep = false;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--keep")) keep = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--workers")) workers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--readers")) readers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::string db = dir + "/gridsearch-soak-" + std::to_string(getpid()) + ".db";
  CoordinatorOptions options;
  options.db_path = db;
  options.listen = "127.0.0.1:0";
  std::unique_ptr<CoordinatorServer> server;
  Status s = CoordinatorServer::Start(options, nullptr, &server);
  if (!s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  // More jobs than the run can drain, so the load lasts the whole time: 100
  // configurations x 1000 seeds; the ranking readers aggregate all of them.
  int64_t base_sweep = 0, sweep = 0, total = 0, configs = 0;
  server->store()->SubmitSweep(Spec(10, 200), &base_sweep, &total, &configs);
  Latencies base_lat;
  SoakResult base = Soak(server.get(), base_sweep, 1, 0, std::min(5.0, seconds / 4), &base_lat);
  s = server->store()->SubmitSweep(Spec(100, 1000), &sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
    return 1;
  }
  Latencies lat;
  SoakResult r = Soak(server.get(), sweep, workers, readers, seconds, &lat);
  SweepSummary summary;
  server->store()->GetSweep(sweep, &summary);
  server->Shutdown();
  server.reset();

  // Exactly once, from the file: every acknowledged completion is a done
  // job, and no job has two completed leases.
  std::unique_ptr<Database> file;
  int64_t done_in_db = -1, twice = -1;
  if (Database::Open(db, true, &file).ok()) {
    Statement st;
    bool row = false;
    // Both sweeps: the main run also finishes what the baseline left queued.
    file->Prepare("SELECT COUNT(*) FROM jobs WHERE state = 'done'", &st);
    if (st.Step(&row).ok() && row) done_in_db = st.Int(0);
    Statement dup;
    file->Prepare("SELECT COUNT(*) FROM (SELECT job_id FROM leases WHERE outcome = 'completed' "
                  "GROUP BY job_id HAVING COUNT(*) > 1)", &dup);
    if (dup.Step(&row).ok() && row) twice = dup.Int(0);
  }
  file.reset();
  if (!keep)
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
  else
    std::printf("  database kept: %s\n", db.c_str());

  std::printf("coordinator_soak: %d workers + %d readers for %.0f s against one coordinator\n",
              workers, readers, seconds);
  std::printf("  completions/s          %8.0f   (group commit, durable before each reply)\n", r.rate);
  std::printf("  baseline, 1 worker, no readers: %.0f/s   ratio %.2fx\n", base.rate,
              base.rate > 0 ? r.rate / base.rate : 0);
  std::printf("  completed %lld, done in the file %lld, jobs completed twice %lld (client) %lld (file)\n",
              static_cast<long long>(r.completed + base.completed), static_cast<long long>(done_in_db),
              static_cast<long long>(r.duplicates), static_cast<long long>(twice));
  std::printf("  errors %lld, \"database is locked\" %lld\n", static_cast<long long>(r.errors),
              static_cast<long long>(r.locked));
  lat.Print();
  bool ok = r.errors == 0 && base.errors == 0 && r.locked == 0 && r.duplicates == 0 &&
            twice == 0 && done_in_db == r.completed + base.completed;
  std::printf("  %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
