// Worker: leases jobs from the coordinator, trains each with a Trainer and
// reports curves and results. A failing job is reported with its message and
// the worker goes on to the next one.
#ifndef GRIDSEARCH_WORKER_WORKER_H_
#define GRIDSEARCH_WORKER_WORKER_H_

#include <atomic>
#include <memory>
#include <string>

#include "common/status.h"
#include "worker/client.h"
#include "worker/options.h"
#include "worker/trainer.h"

namespace gridsearch {

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();

  // Runs the lease loop until Stop(), max_jobs, or the idle limit. Returns an
  // error only when the coordinator stays unreachable past the retry policy.
  Status Run();

  // Asks Run to return: the current job stops at its next flush of curve
  // points and is handed back to the coordinator (ReleaseJob: queued again,
  // no attempt counted). Safe from any thread.
  void Stop() { stop_.store(true); }

  int64_t jobs_done() const { return jobs_done_; }

 private:
  // Trains the leased job and reports its end; `next` gets the job leased
  // with the completion (found() false when none was).
  Status RunJob(const v1::LeaseJobResponse& lease, v1::LeaseJobResponse* next);
  v1::LeaseJobRequest LeaseRequest() const;
  void Log(const char* fmt, const std::string& a, const std::string& b = "") const;

  WorkerOptions options_;
  std::unique_ptr<CoordinatorClient> client_;
  std::unique_ptr<Trainer> trainer_;
  RetryPolicy retry_;
  std::atomic<bool> stop_{false};
  int64_t jobs_done_ = 0;
  bool complete_and_lease_ = true;  // false once the coordinator said UNIMPLEMENTED
};

// "<hostname>-<pid>".
std::string DefaultWorkerId();

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_WORKER_H_
