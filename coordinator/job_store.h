// JobStore: the coordinator's state — sweeps, jobs and their leases, curves —
// kept in one SQLite file. Every acknowledged change is durable: writes run on
// one writer thread that commits several callers' operations in one
// transaction (group commit) and answers each caller only after the commit's
// fsync. Reads use a separate connection (WAL lets them run beside the
// writer).
//
// The calls a cluster's workers make most (lease, report, complete) also
// come in an asynchronous form: the caller's thread only queues the write,
// and the answer comes later as a callback, on the store's answer thread
// (or at once on the caller's thread, for a request refused before any
// write). A waiting long-poll holds no thread. The gRPC service uses these;
// the blocking forms wait for the same answer.
//
// Thread-safe: every public method may be called from any thread, except
// that a callback must not call a blocking method (it would wait for its
// own thread).
#ifndef GRIDSEARCH_COORDINATOR_JOB_STORE_H_
#define GRIDSEARCH_COORDINATOR_JOB_STORE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "common/sweep_spec.h"
#include "coordinator/clock.h"
#include "coordinator/lease_waiters.h"
#include "coordinator/options.h"
#include "coordinator/ranking.h"
#include "coordinator/tables.h"
#include "coordinator/wal_sync.h"

namespace gridsearch {

class Checkpointer;
class CoordinatorMetrics;
class Database;
struct WorkerCounts;

struct SweepSummary {
  int64_t id = 0;
  std::string name;
  std::string state;        // running, finished, cancelled
  std::string model;
  std::string dataset;
  int64_t total = 0, queued = 0, leased = 0, done = 0, failed = 0, diverged = 0, cancelled = 0;
  double created_at = 0;
  double elapsed_seconds = 0;   // since the first job was leased
  double jobs_per_minute = 0;
  double eta_seconds = -1;      // -1: unknown
  double budget_seconds = 0;
  int64_t active_workers = 0;
};

// A sweep's summary (or every sweep's) read from `db` at time `now`; also
// used on a read-only file by `gridsearch status --db`.
Status LoadSweepSummary(Database* db, int64_t sweep_id, double now, SweepSummary* summary);
Status LoadSweepSummaries(Database* db, double now, std::vector<SweepSummary>* sweeps);

class JobStore {
 public:
  // Opens or creates options.db_path. Jobs that were leased when the file was
  // last closed keep their leases, which expire as usual.
  static Status Open(const CoordinatorOptions& options, Clock* clock,
                     std::unique_ptr<JobStore>* store);
  ~JobStore();

  // Validates, expands and stores a sweep with all its jobs in one transaction.
  Status SubmitSweep(const std::string& spec_json, int64_t* sweep_id, int64_t* total_jobs,
                     int64_t* configurations);

  using WriteCallback = std::function<void(const Status&)>;

  // Leases the oldest queued job, waiting up to wait_seconds for one.
  // *has_job is false when none came in time (or on shutdown). Waiting
  // workers are served in the order they came.
  Status LeaseJob(const WorkerInfo& worker, double wait_seconds, bool* has_job, LeasedJob* leased);
  void LeaseJobAsync(const WorkerInfo& worker, double wait_seconds, LeaseCallback done);

  // Stores curve points and renews the lease. FailedPrecondition when
  // lease_id is not the job's current lease (the worker must stop the job).
  Status ReportProgress(int64_t job_id, const std::string& lease_id,
                        const std::vector<CurvePoint>& points);
  void ReportProgressAsync(int64_t job_id, std::string lease_id, std::vector<CurvePoint> points,
                           WriteCallback done);

  // Records the job's result exactly once. Accepted from the current lease,
  // and from an earlier lease of the job (a result that arrives after its
  // lease expired) as long as no other attempt has completed the job.
  // Repeating an acknowledged completion is harmless (OK, nothing changes).
  Status CompleteJob(int64_t job_id, const std::string& lease_id, const JobResult& result,
                     const std::vector<CurvePoint>& points);
  void CompleteJobAsync(int64_t job_id, std::string lease_id, JobResult result,
                        std::vector<CurvePoint> points, WriteCallback done);

  // CompleteJob, then LeaseJob for `worker`, in one round trip and one
  // transaction (one commit for both halves). A refused completion leases
  // nothing; a lease half that fails leaves the completion standing. A
  // repeated call (its reply was lost, the coordinator restarted) completes
  // nothing again and hands back the lease the first call gave, renewed.
  // It does not wait when no job is queued: *has_job is false, and the
  // worker long-polls with LeaseJob.
  Status CompleteAndLease(int64_t job_id, const std::string& lease_id, const JobResult& result,
                          const std::vector<CurvePoint>& points, const WorkerInfo& worker,
                          bool* has_job, LeasedJob* leased);
  void CompleteAndLeaseAsync(int64_t job_id, std::string lease_id, JobResult result,
                             std::vector<CurvePoint> points, WorkerInfo worker,
                             LeaseCallback done);

  // Requeues the job (attempts permitting) or marks it failed with `error`.
  Status FailJob(int64_t job_id, const std::string& lease_id, const std::string& error,
                 bool* will_retry);

  // The worker gives the job back unfinished (it is shutting down): the job
  // is queued again and the attempt is not counted.
  Status ReleaseJob(int64_t job_id, const std::string& lease_id);

  // Queued and leased jobs of the sweep become cancelled.
  Status CancelSweep(int64_t sweep_id, int64_t* cancelled_jobs);

  // Failed jobs of the sweep are queued again with a fresh attempt count.
  Status RetrySweep(int64_t sweep_id, int64_t* requeued);

  // Long-polls return at once with no job, and no new job is leased; other
  // calls still work. For a graceful shutdown.
  void StopLeasing();

  // Leases past their deadline return their jobs to the queue, or fail them
  // after max_attempts. Called periodically by the server; tests call it
  // after advancing a ManualClock.
  Status ExpireLeases(int* expired);

  Status GetSweep(int64_t sweep_id, SweepSummary* summary);
  Status ListSweeps(std::vector<SweepSummary>* sweeps);
  Status QueryRanking(int64_t sweep_id, const std::string& metric,
                      std::vector<RankedConfigRow>* rows);
  // coordinator/tables.h's RenderTable on a reader connection.
  Status RenderTable(const TableRequest& request, std::string* out);

  // Runs `fn` on a read-only connection inside one read transaction, so
  // that all its statements see one snapshot of the file; for the
  // dashboard's API.
  Status Read(const std::function<Status(Database*)>& fn);
  // Workers seen within the lease timeout, and those holding a lease.
  Status CountWorkers(WorkerCounts* counts);
  // The store's clock, in unix seconds.
  double Now() const { return clock_->Now(); }

  // Counts completions, failures, lease expiries and group commits there
  // from now on. `metrics` (not owned) outlives the store; set it before
  // serving.
  void SetMetrics(CoordinatorMetrics* metrics) { metrics_ = metrics; }

  // Wakes every long-poll and stops the writer; later calls fail Unavailable.
  void Shutdown();

  const CoordinatorOptions& options() const { return options_; }

 private:
  struct WriteOp;
  JobStore(const CoordinatorOptions& options, Clock* clock);

  // Runs `fn` in the writer's current transaction; returns after the commit.
  Status Write(std::function<Status(Database*)> fn);
  // The same without waiting: `then` gets the result after the commit, on
  // the answer thread (at once, on this thread, when the store is stopping).
  void WriteAsync(std::function<Status(Database*)> fn, WriteCallback then);
  void WriterLoop();
  // Answers written operations once their commits are durable, and
  // long-polls whose wait is over.
  void AnswerLoop();
  // Syncs the WAL if any of `batch` committed, then answers all of it.
  void AnswerWritten(const std::deque<WriteOp*>& batch);
  void AnswerExpiredWaiters();
  // One write that leases jobs to waiting workers, oldest first, until the
  // queue is empty. Called with serve_scheduled_ just set.
  void ServeWaiters();
  Status SpecFor(Database* db, int64_t sweep_id, std::shared_ptr<const SweepSpec>* spec);
  // The halves of the writes above, inside the caller's transaction.
  Status LeaseInTransaction(Database* db, const WorkerInfo& worker, double now, bool* has_job,
                            LeasedJob* leased);
  Status CompleteInTransaction(Database* db, int64_t job_id, const std::string& lease_id,
                               const JobResult& result, const std::vector<CurvePoint>& points,
                               double now, bool* repeated);
  Status RedeliverLease(Database* db, const WorkerInfo& worker, const std::string& completed_lease,
                        bool* found, LeasedJob* leased);
  // A report's renewal of its lease to now + the lease timeout (writer
  // thread only).
  Status RenewLease(Database* db, int64_t job_id, const std::string& lease_id,
                    double stored_deadline, double now);
  std::string NewLeaseId();
  void WakeLeaseWaiters();

  const CoordinatorOptions options_;
  Clock* const clock_;
  CoordinatorMetrics* metrics_ = nullptr;

  std::unique_ptr<Database> writer_db_;   // owned by the writer thread
  std::unique_ptr<Checkpointer> checkpointer_;   // the writer's WAL, copied back beside it
  std::unique_ptr<WalSync> wal_sync_;     // the writer's commits made durable, on the answer thread
  std::thread writer_;
  std::mutex write_mu_;
  std::condition_variable write_cv_;      // work for the writer
  std::deque<WriteOp*> pending_;
  bool stopping_ = false;

  // Lease renewals not yet written to the jobs' rows (the writer thread's
  // own): a report writes its renewal only when it moves the stored
  // deadline by a few seconds; ExpireLeases reads these first.
  struct Renewal {
    std::string lease_id;
    double deadline = 0;
  };
  std::unordered_map<int64_t, Renewal> renewals_;

  std::thread answerer_;
  std::mutex answer_mu_;
  std::condition_variable answer_cv_;
  std::deque<WriteOp*> answers_;          // written, to be made durable and answered
  bool answer_stop_ = false;

  // Read-only connections; WAL lets them read beside the writer and each other.
  class ReaderLease;
  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<std::unique_ptr<Database>> readers_;   // all of them
  std::vector<Database*> idle_readers_;              // guarded by read_mu_

  std::mutex lease_mu_;
  LeaseWaiters waiters_;                  // guarded by lease_mu_
  bool serve_scheduled_ = false;          // a ServeWaiters write is queued
  uint64_t tried_through_ = 0;            // waiters up to this one have had a try
  std::atomic<bool> leasing_stopped_{false};

  std::mutex spec_mu_;
  std::map<int64_t, std::shared_ptr<const SweepSpec>> specs_;
  std::mt19937_64 rng_;                   // guarded by spec_mu_
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_JOB_STORE_H_
