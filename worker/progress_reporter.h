// ProgressReporter: sends a running job's curve points to the coordinator
// from a background thread, so training never waits on an RPC. It also
// renews the lease while nothing is to be sent (data loading, long steps).
// Points that could not be delivered (coordinator unreachable) are kept and
// go with the next report or with the completion.
//
// Thread-safe: Add() is called by the training thread.
#ifndef GRIDSEARCH_WORKER_PROGRESS_REPORTER_H_
#define GRIDSEARCH_WORKER_PROGRESS_REPORTER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "worker/client.h"

namespace gridsearch {

class ProgressReporter {
 public:
  // Starts the thread. Heartbeats go out every lease_timeout / 3.
  ProgressReporter(CoordinatorClient* client, int64_t job_id, std::string lease_id,
                   double lease_timeout_seconds);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Queues points for sending. Returns Cancelled once the coordinator has
  // said the lease is no longer this worker's (the job must stop).
  Status Add(const std::vector<CurvePoint>& points);

  // Stops the thread; returns the points the coordinator has not
  // acknowledged, for the job's completion to carry.
  std::vector<CurvePoint> Finish();

  // True once the coordinator refused the lease; `reason` says why.
  bool lease_lost(std::string* reason) const;

 private:
  void Loop();

  CoordinatorClient* const client_;
  const int64_t job_id_;
  const std::string lease_id_;
  const double heartbeat_seconds_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CurvePoint> queued_;   // added, not yet picked up by the thread
  std::vector<CurvePoint> unacked_;  // picked up, not yet acknowledged
  bool finishing_ = false;
  bool lost_ = false;
  std::string lost_reason_;
  std::thread thread_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_PROGRESS_REPORTER_H_
