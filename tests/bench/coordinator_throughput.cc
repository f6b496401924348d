// coordinator_throughput: N simulated workers (threads with their own gRPC
// channels, no training) lease a job, report one batch of curve points and
// complete it, against a real coordinator with its SQLite file. Prints job
// completions per second and LeaseJob latency percentiles, and ratios to two
// baselines measured in the same run: (A) one worker through the same
// coordinator, (B) one durable SQLite transaction per completion, no RPC.
// Last, the same load again while browser-like pollers read the dashboard's
// API (what an open sweep page asks for), against the load without them.
//
// usage: coordinator_throughput [--workers 32] [--jobs 20000] [--points 10] [--pollers 2]
//                               [--dir /tmp]
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include "coordinator/database.h"
#include "coordinator/server.h"
#include "proto/gridsearch.grpc.pb.h"

using namespace gridsearch;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string SpecWithSeeds(int jobs) {
  std::string seeds;
  for (int i = 0; i < jobs; ++i) seeds += (i ? "," : "") + std::to_string(i);
  return R"({"name":"bench","model":"mlp","dataset":"synthetic","batch_size":10,)"
         R"("budget_seconds":1,"seeds":[)" + seeds + R"(],"optimizers":{"sgd":{"lr":[0.1]}}})";
}

// Completions per second of one transaction per completion, synchronous=FULL.
double BaselineCommitsPerSecond(const std::string& path, int n, int points) {
  std::unique_ptr<Database> db;
  if (!Database::Open(path, false, &db).ok()) return 0;
  db->Exec(
      "INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs, "
      "created_at) VALUES (1, 'b', '{}', 'mlp', 'synthetic', 1, 0, 0);"
      "INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (1, 1, 'sgd', '{}')");
  Statement job, pt, done;
  db->Prepare("INSERT INTO jobs (sweep_id, config_id, seed) VALUES (1, 1, ?1)", &job);
  db->Prepare("INSERT INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, loss) "
              "VALUES (?1, 1, ?2, 0.1, 0.1, 1.0)", &pt);
  db->Prepare("UPDATE jobs SET state = 'done', final_train_loss = 0.5 WHERE id = ?1", &done);
  double start = Now();
  for (int i = 0; i < n; ++i) {
    db->Exec("BEGIN IMMEDIATE");
    job.Reset();
    job.Bind(1, static_cast<int64_t>(i));
    job.Run();
    int64_t id = db->LastInsertId();
    for (int p = 0; p < points; ++p) {
      pt.Reset();
      pt.Bind(1, id).Bind(2, static_cast<int64_t>(p + 1));
      pt.Run();
    }
    done.Reset();
    done.Bind(1, id);
    done.Run();
    db->Exec("COMMIT");
  }
  return n / (Now() - start);
}


struct LoadResult {
  int64_t completed = 0, errors = 0;
  double rate = 0, p50 = 0, p99 = 0;
};

// `workers` threads, each with its own channel, drain the coordinator's queue:
// lease, one progress report of `points` points, complete.
// With `combined`, the completion leases the next job (CompleteAndLease):
// two round trips per job instead of three.
LoadResult RunLoad(CoordinatorServer* server, int workers, int points, bool combined = false) {
  std::atomic<int64_t> completed{0}, errors{0};
  std::vector<std::vector<double>> lease_latency(workers);
  std::vector<std::thread> threads;
  double start = Now();
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      grpc::ChannelArguments args;
      args.SetInt("gridsearch.bench.worker", w);  // a separate connection per worker
      auto channel = grpc::CreateCustomChannel(server->address(),
                                               grpc::InsecureChannelCredentials(), args);
      auto stub = v1::Coordinator::NewStub(channel);
      v1::LeaseJobRequest lreq;
      lreq.set_worker_id("bench-" + std::to_string(w));
      lreq.set_wait_seconds(0);
      v1::LeaseJobResponse lresp;
      bool have_next = false;  // leased with the last completion
      while (true) {
        if (!have_next) {
          grpc::ClientContext lctx;
          double t0 = Now();
          grpc::Status st = stub->LeaseJob(&lctx, lreq, &lresp);
          lease_latency[w].push_back(Now() - t0);
          if (!st.ok()) {
            ++errors;
            return;
          }
        }
        have_next = false;
        if (!lresp.found()) return;
        v1::ReportProgressRequest rreq;
        rreq.set_job_id(lresp.job().job_id());
        rreq.set_lease_id(lresp.lease_id());
        for (int p = 0; p < points; ++p) {
          auto* pt = rreq.add_points();
          pt->set_step(p + 1);
          pt->set_elapsed_seconds(0.01 * p);
          pt->set_loss(2.0 / (p + 1));
        }
        v1::ReportProgressResponse rresp;
        grpc::ClientContext rctx;
        if (!stub->ReportProgress(&rctx, rreq, &rresp).ok()) ++errors;
        v1::CompleteJobRequest creq;
        creq.set_job_id(lresp.job().job_id());
        creq.set_lease_id(lresp.lease_id());
        creq.mutable_metrics()->set_final_train_loss(0.5);
        creq.mutable_metrics()->set_steps(points);
        grpc::ClientContext cctx;
        if (combined) {
          v1::CompleteAndLeaseRequest both;
          *both.mutable_complete() = creq;
          *both.mutable_lease() = lreq;
          v1::LeaseJobResponse next;
          double t0 = Now();
          grpc::Status st = stub->CompleteAndLease(&cctx, both, &next);
          lease_latency[w].push_back(Now() - t0);
          if (!st.ok()) {
            ++errors;
            return;
          }
          ++completed;
          lresp = std::move(next);
          have_next = true;
          continue;
        }
        v1::CompleteJobResponse cresp;
        if (stub->CompleteJob(&cctx, creq, &cresp).ok())
          ++completed;
        else
          ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = Now() - start;
  std::vector<double> all;
  for (auto& v : lease_latency) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0 : all[static_cast<size_t>(q * (all.size() - 1))]; };
  LoadResult r;
  r.completed = completed;
  r.errors = errors;
  r.rate = completed / elapsed;
  r.p50 = pct(0.5);
  r.p99 = pct(0.99);
  return r;
}

// Reads the dashboard's API as an open sweep page does: the sweep list and
// the sweep every second; its tables, curves and a page of jobs every two.
// Returns the requests made.
int64_t PollLikeABrowser(const std::string& http, int64_t sweep, std::atomic<bool>* stop,
                         std::atomic<int64_t>* failures) {
  httplib::Client client(http);
  client.set_read_timeout(30);
  const std::string base = "/api/v1/sweeps/" + std::to_string(sweep);
  const std::vector<std::string> every_second = {"/api/v1/sweeps", base};
  const std::vector<std::string> every_other = {base + "/results", base + "/best", base + "/epochs",
                                                base + "/curves", base + "/jobs?limit=100"};
  int64_t requests = 0;
  for (int tick = 0; !stop->load(); ++tick) {
    const double t0 = Now();
    std::vector<std::string> paths = every_second;
    if (tick % 2 == 0) paths.insert(paths.end(), every_other.begin(), every_other.end());
    for (const auto& path : paths) {
      auto res = client.Get(path.c_str(), {{"Accept-Encoding", "gzip"}});
      ++requests;
      if (!res || res->status != 200) ++*failures;
    }
    while (!stop->load() && Now() - t0 < 1.0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return requests;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 32, jobs = 20000, points = 10, pollers = 2;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--workers")) workers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--jobs")) jobs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--points")) points = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--pollers")) pollers = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  std::string base = dir + "/gridsearch-bench-" + std::to_string(getpid());
  auto cleanup = [&] {
    for (const char* suffix : {".db", ".db-wal", ".db-shm", "-base.db", "-base.db-wal", "-base.db-shm"})
      std::remove((base + suffix).c_str());
  };

  double baseline = BaselineCommitsPerSecond(base + "-base.db", std::min(jobs, 2000), points);

  CoordinatorOptions options;
  options.db_path = base + ".db";
  options.listen = "127.0.0.1:0";
  options.lease_timeout_seconds = 60;
  options.http_listen = "127.0.0.1:0";
  std::unique_ptr<CoordinatorServer> server;
  Status s = CoordinatorServer::Start(options, nullptr, &server);
  if (!s.ok()) {
    std::fprintf(stderr, "start: %s\n", s.ToString().c_str());
    return 1;
  }
  int64_t sweep = 0, total = 0, configs = 0;
  s = server->store()->SubmitSweep(SpecWithSeeds(std::min(jobs, 2000)), &sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
    return 1;
  }

  LoadResult single = RunLoad(server.get(), 1, points);
  s = server->store()->SubmitSweep(SpecWithSeeds(jobs), &sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
    return 1;
  }
  LoadResult load = RunLoad(server.get(), workers, points);
  SweepSummary summary;
  server->store()->GetSweep(sweep, &summary);
  // The same load with CompleteAndLease, on a sweep of its own.
  int64_t combined_sweep = 0;
  s = server->store()->SubmitSweep(SpecWithSeeds(jobs), &combined_sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
    return 1;
  }
  LoadResult combined = RunLoad(server.get(), workers, points, /*combined=*/true);
  SweepSummary combined_summary;
  server->store()->GetSweep(combined_sweep, &combined_summary);
  // The plain load once more, with browsers polling the dashboard's API.
  int64_t polled_sweep = 0;
  s = server->store()->SubmitSweep(SpecWithSeeds(jobs), &polled_sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "submit: %s\n", s.ToString().c_str());
    return 1;
  }
  std::atomic<bool> stop_polling{false};
  std::atomic<int64_t> poll_requests{0}, poll_failures{0};
  std::vector<std::thread> poll_threads;
  const std::string http = "http://" + server->http_url().substr(7, server->http_url().size() - 8);
  for (int p = 0; p < pollers; ++p)
    poll_threads.emplace_back([&] {
      poll_requests += PollLikeABrowser(http, polled_sweep, &stop_polling, &poll_failures);
    });
  LoadResult polled = RunLoad(server.get(), workers, points);
  stop_polling = true;
  for (auto& t : poll_threads) t.join();
  SweepSummary polled_summary;
  server->store()->GetSweep(polled_sweep, &polled_summary);
  server->Shutdown();
  server.reset();
  cleanup();

  std::printf("coordinator_throughput: %d workers, %lld jobs, %d points per report\n", workers,
              static_cast<long long>(load.completed), points);
  std::printf("  completions/s          %10.0f   (target >= 1000 with 32 workers)\n", load.rate);
  std::printf("  LeaseJob p50 / p99     %7.2f ms / %.2f ms\n", load.p50 * 1e3, load.p99 * 1e3);
  std::printf("  baseline A, 1 worker through the same coordinator: %.0f/s (LeaseJob p50 %.2f ms)\n",
              single.rate, single.p50 * 1e3);
  std::printf("  baseline B, 1 durable SQLite transaction per completion, no RPC: %.0f/s\n",
              baseline);
  std::printf("  ratio vs A: %.2fx   ratio vs B: %.2fx\n", single.rate > 0 ? load.rate / single.rate : 0,
              baseline > 0 ? load.rate / baseline : 0);
  std::printf("  with CompleteAndLease (report, then complete and lease in one call): %.0f/s, "
              "ratio vs B: %.2fx; CompleteAndLease p50 / p99 %.2f ms / %.2f ms\n",
              combined.rate, baseline > 0 ? combined.rate / baseline : 0, combined.p50 * 1e3,
              combined.p99 * 1e3);
  std::printf("  with %d browser-like dashboard poller(s) (%lld API requests, %lld failed): "
              "%.0f/s, ratio vs the same load without them: %.2fx; LeaseJob p99 %.2f ms\n",
              pollers, static_cast<long long>(poll_requests.load()),
              static_cast<long long>(poll_failures.load()), polled.rate,
              load.rate > 0 ? polled.rate / load.rate : 0, polled.p99 * 1e3);
  std::printf("  errors %lld, jobs done in the database %lld of %lld, %lld of %lld and %lld of %lld\n",
              static_cast<long long>(load.errors + single.errors + combined.errors + polled.errors),
              static_cast<long long>(summary.done), static_cast<long long>(summary.total),
              static_cast<long long>(combined_summary.done),
              static_cast<long long>(combined_summary.total),
              static_cast<long long>(polled_summary.done),
              static_cast<long long>(polled_summary.total));
  return load.errors == 0 && single.errors == 0 && combined.errors == 0 && polled.errors == 0 &&
                 poll_failures.load() == 0 && summary.done == load.completed &&
                 combined_summary.done == combined.completed &&
                 polled_summary.done == polled.completed
             ? 0
             : 1;
}
