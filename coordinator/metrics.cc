#include "coordinator/metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "coordinator/job_store.h"

namespace gridsearch {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildHistogram;
using prometheus::ClientMetric;
using prometheus::Histogram;
using prometheus::MetricFamily;
using prometheus::MetricType;

// From half a millisecond to a full long-poll (30 s).
const Histogram::BucketBoundaries& LatencyBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

// Operations per group commit: 1 to the writer's limit of 512.
const Histogram::BucketBoundaries& BatchBuckets() {
  static const Histogram::BucketBoundaries kBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
  return kBuckets;
}

ClientMetric GaugeValue(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

}  // namespace

CoordinatorMetrics::CoordinatorMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& reg = *registry_;
  rpc_seconds_ = &BuildHistogram()
                      .Name("gridsearch_rpc_duration_seconds")
                      .Help("Time the coordinator took to answer a gRPC call, by method "
                            "(LeaseJob includes its long-poll)")
                      .Register(reg);
  rpc_errors_ = &BuildCounter()
                     .Name("gridsearch_rpc_errors_total")
                     .Help("gRPC calls answered with an error, by method and status code")
                     .Register(reg);
  http_seconds_ = &BuildHistogram()
                       .Name("gridsearch_http_request_duration_seconds")
                       .Help("Time the dashboard's HTTP server took to answer, by route")
                       .Register(reg);
  http_requests_ = &BuildCounter()
                        .Name("gridsearch_http_requests_total")
                        .Help("HTTP requests of the dashboard and its API, by route and status")
                        .Register(reg);
  commit_seconds_ = &BuildHistogram()
                         .Name("gridsearch_sqlite_commit_seconds")
                         .Help("Time of one group commit, from BEGIN to COMMIT (written to the "
                               "WAL; durable at the next WAL sync)")
                         .Register(reg)
                         .Add({}, LatencyBuckets());
  commit_operations_ = &BuildHistogram()
                            .Name("gridsearch_sqlite_group_commit_operations")
                            .Help("Callers' write operations sharing one SQLite transaction")
                            .Register(reg)
                            .Add({}, BatchBuckets());
  commit_failures_ = &BuildCounter()
                          .Name("gridsearch_sqlite_commit_failures_total")
                          .Help("Group commits that failed (a full disk, an I/O error)")
                          .Register(reg)
                          .Add({});
  wal_sync_seconds_ = &BuildHistogram()
                           .Name("gridsearch_sqlite_wal_sync_seconds")
                           .Help("Time of one flush of the WAL to the disk, which makes every "
                                 "commit written before it durable; callers are answered after it")
                           .Register(reg)
                           .Add({}, LatencyBuckets());
  wal_sync_failures_ = &BuildCounter()
                            .Name("gridsearch_sqlite_wal_sync_failures_total")
                            .Help("WAL flushes that failed (an I/O error): their commits' callers "
                                  "were answered with an error")
                            .Register(reg)
                            .Add({});
  catch_up_seconds_ = &BuildHistogram()
                           .Name("gridsearch_sqlite_checkpoint_catch_up_seconds")
                           .Help("Checkpoints the writer ran itself, between two transactions, "
                                 "when the background ones had fallen 64 MB behind: the time "
                                 "the commits waited")
                           .Register(reg)
                           .Add({}, LatencyBuckets());
  auto& completions = BuildCounter()
                          .Name("gridsearch_job_completions_total")
                          .Help("Jobs that finished, by outcome (done, diverged)")
                          .Register(reg);
  completions_done_ = &completions.Add({{"outcome", "done"}});
  completions_diverged_ = &completions.Add({{"outcome", "diverged"}});
  auto& failures = BuildCounter()
                       .Name("gridsearch_job_failures_total")
                       .Help("Failures reported by workers; final: the job ran out of attempts")
                       .Register(reg);
  failures_retried_ = &failures.Add({{"final", "false"}});
  failures_final_ = &failures.Add({{"final", "true"}});
  auto& expiries = BuildCounter()
                       .Name("gridsearch_lease_expiries_total")
                       .Help("Leases that expired without a report (dead or partitioned "
                             "workers); final: the job ran out of attempts")
                       .Register(reg);
  lease_expiries_ = &expiries.Add({{"final", "false"}});
  lease_expiries_failed_ = &expiries.Add({{"final", "true"}});
}

CoordinatorMetrics::~CoordinatorMetrics() = default;

void CoordinatorMetrics::ObserveRpc(const std::string& method, double seconds, int code) {
  rpc_seconds_->Add({{"method", method}}, LatencyBuckets()).Observe(seconds);
  if (code != 0) rpc_errors_->Add({{"method", method}, {"code", std::to_string(code)}}).Increment();
}

void CoordinatorMetrics::ObserveHttp(const std::string& route, double seconds, int status) {
  http_seconds_->Add({{"route", route}}, LatencyBuckets()).Observe(seconds);
  http_requests_->Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
}

void CoordinatorMetrics::ObserveCommit(double seconds, size_t operations, bool ok) {
  commit_seconds_->Observe(seconds);
  commit_operations_->Observe(static_cast<double>(operations));
  if (!ok) commit_failures_->Increment();
}

void CoordinatorMetrics::ObserveWalSync(double seconds, bool ok) {
  wal_sync_seconds_->Observe(seconds);
  if (!ok) wal_sync_failures_->Increment();
}

void CoordinatorMetrics::ObserveCatchUp(double seconds) { catch_up_seconds_->Observe(seconds); }

void CoordinatorMetrics::CountCompletion(bool diverged) {
  (diverged ? completions_diverged_ : completions_done_)->Increment();
}

void CoordinatorMetrics::CountFailure(bool final) {
  (final ? failures_final_ : failures_retried_)->Increment();
}

void CoordinatorMetrics::CountLeaseExpiries(int expired, int failed) {
  if (expired - failed > 0) lease_expiries_->Increment(expired - failed);
  if (failed > 0) lease_expiries_failed_->Increment(failed);
}

std::string CoordinatorMetrics::Render(const std::vector<SweepSummary>& sweeps,
                                       const WorkerCounts& workers) const {
  std::vector<MetricFamily> families = registry_->Collect();

  MetricFamily jobs{"gridsearch_jobs", "Jobs of each sweep by state", MetricType::Gauge, {}};
  MetricFamily totals{"gridsearch_sweep_jobs", "Jobs each sweep expanded to",
                      MetricType::Gauge, {}};
  for (const auto& s : sweeps) {
    const std::string id = std::to_string(s.id);
    const std::pair<const char*, int64_t> states[] = {
        {"queued", s.queued}, {"running", s.leased},     {"done", s.done},
        {"failed", s.failed}, {"diverged", s.diverged}, {"cancelled", s.cancelled}};
    for (const auto& st : states)
      jobs.metric.push_back(
          GaugeValue({{"sweep", id}, {"state", st.first}}, static_cast<double>(st.second)));
    totals.metric.push_back(GaugeValue({{"sweep", id}}, static_cast<double>(s.total)));
  }
  MetricFamily sweep_count{"gridsearch_sweeps", "Sweeps by state", MetricType::Gauge, {}};
  for (const char* state : {"running", "finished", "cancelled"}) {
    int64_t n = 0;
    for (const auto& s : sweeps) n += s.state == state;
    sweep_count.metric.push_back(GaugeValue({{"state", state}}, static_cast<double>(n)));
  }
  MetricFamily seen{"gridsearch_workers_active",
                    "Workers that leased or finished a job within the lease timeout, or hold a lease",
                    MetricType::Gauge,
                    {GaugeValue({}, static_cast<double>(workers.seen))}};
  MetricFamily busy{"gridsearch_workers_busy", "Workers holding a lease", MetricType::Gauge,
                    {GaugeValue({}, static_cast<double>(workers.busy))}};
  families.push_back(std::move(jobs));
  families.push_back(std::move(totals));
  families.push_back(std::move(sweep_count));
  families.push_back(std::move(seen));
  families.push_back(std::move(busy));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace gridsearch
