// CoordinatorMetrics: the coordinator's health in the Prometheus text format
// (served at /metrics). Counters and histograms are kept here as events
// happen; the jobs per sweep and state and the workers are read from the
// database when scraped, so they are right after a restart too.
//
// Thread-safe: every method may be called from any thread.
#ifndef GRIDSEARCH_COORDINATOR_METRICS_H_
#define GRIDSEARCH_COORDINATOR_METRICS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace gridsearch {

struct SweepSummary;

// What a scrape reads from the database.
struct WorkerCounts {
  int64_t seen = 0;   // workers that leased or finished a job within the lease timeout, or hold one
  int64_t busy = 0;   // workers holding a lease
};

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();
  ~CoordinatorMetrics();

  // One RPC handled: its method ("LeaseJob"), its duration and its gRPC
  // status code (0: OK).
  void ObserveRpc(const std::string& method, double seconds, int code);
  // One HTTP request of the dashboard or API; `route` is a pattern
  // ("/api/v1/sweeps/:id"), never a raw path, so that series stay few.
  void ObserveHttp(const std::string& route, double seconds, int status);
  // One group commit: its duration (BEGIN to COMMIT) and operations.
  void ObserveCommit(double seconds, size_t operations, bool ok);
  // One flush of the WAL to the disk, making the commits before it durable.
  void ObserveWalSync(double seconds, bool ok);
  // The writer copied the WAL back itself, the checkpoints having fallen behind.
  void ObserveCatchUp(double seconds);
  // A job finished: done or diverged (a repeated completion is not counted).
  void CountCompletion(bool diverged);
  // A worker reported a failure; `final`: the job is failed, not retried.
  void CountFailure(bool final);
  // Leases that expired; `failed` of them failed their job for good.
  void CountLeaseExpiries(int expired, int failed);

  // The exposition: every counter and histogram, then the jobs per sweep and
  // state and the workers as given.
  std::string Render(const std::vector<SweepSummary>& sweeps, const WorkerCounts& workers) const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>* rpc_seconds_;
  prometheus::Family<prometheus::Counter>* rpc_errors_;
  prometheus::Family<prometheus::Histogram>* http_seconds_;
  prometheus::Family<prometheus::Counter>* http_requests_;
  prometheus::Histogram* commit_seconds_;
  prometheus::Histogram* commit_operations_;
  prometheus::Counter* commit_failures_;
  prometheus::Histogram* wal_sync_seconds_;
  prometheus::Counter* wal_sync_failures_;
  prometheus::Histogram* catch_up_seconds_;
  prometheus::Counter* completions_done_;
  prometheus::Counter* completions_diverged_;
  prometheus::Counter* failures_retried_;
  prometheus::Counter* failures_final_;
  prometheus::Counter* lease_expiries_;
  prometheus::Counter* lease_expiries_failed_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_METRICS_H_
