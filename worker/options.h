// WorkerOptions: every setting of a worker process, with its default.
#ifndef GRIDSEARCH_WORKER_OPTIONS_H_
#define GRIDSEARCH_WORKER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "worker/client.h"
#include "worker/trainer.h"

namespace gridsearch {

struct WorkerOptions {
  // --- Coordinator ---
  std::string coordinator = "127.0.0.1:50051";
  // Token and TLS trust for the coordinator.
  ClientSecurity security;
  // Name in the coordinator's records; empty: "<hostname>-<pid>".
  std::string worker_id;
  // Long-poll length of one LeaseJob call.
  double lease_wait_seconds = 10;
  // Deadline of every other RPC.
  double rpc_timeout_seconds = 30;

  // --- Retries while the coordinator is unreachable ---
  double retry_initial_seconds = 0.2;   // first backoff
  double retry_max_seconds = 10;        // backoff cap
  double retry_give_up_seconds = 3600;  // stop retrying one call after this long

  // --- Training ---
  TrainerOptions trainer;

  // --- Lifetime ---
  // Exit after this many jobs (0: never). For tests and batch schedulers.
  int64_t max_jobs = 0;
  // Exit when no job arrived for this long (0: never); a coordinator that
  // cannot be reached for that long counts as no job.
  double exit_when_idle_seconds = 0;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_OPTIONS_H_
