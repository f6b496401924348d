// The worker processes of `gridsearch worker --devices` and `gridsearch
// run`: one `gridsearch worker` per device, for the Supervisor to keep
// running. One job per device at a time keeps wall-clock budgets fair.
#ifndef GRIDSEARCH_CLI_WORKER_PROCESSES_H_
#define GRIDSEARCH_CLI_WORKER_PROCESSES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "worker/supervisor.h"

namespace gridsearch {

// What every worker process is given (see `gridsearch worker --help`).
struct WorkerProcessFlags {
  std::string coordinator;
  std::string token_file;        // passed on; else $GRIDSEARCH_TOKEN is inherited
  std::string tls_ca;
  // LibTorch threads per process; 0: cores / processes (at least 1).
  int threads = 0;
  // Worker ids are "<base>-<slot>" (slot: cpu0, cpu1, cuda0, cuda2, ...).
  std::string worker_id_base;
  int64_t max_jobs = 0;
  double exit_when_idle_seconds = 0;
  int64_t max_steps = 0;
};

// One process per entry of `devices` (canonical names from ResolveDevices).
// A CUDA process sees only its own GPU: CUDA_VISIBLE_DEVICES is narrowed to
// that GPU's entry of ours (so ids, UUIDs and MIG names from Slurm or
// Kubernetes carry over) and it trains on cuda:0 of its view.
std::vector<SupervisedProcess> WorkerProcesses(const std::vector<std::string>& devices,
                                               const WorkerProcessFlags& flags);

// The cores this process may run on (its CPU affinity).
int UsableCores();
// Threads each of `processes` processes gets by default: UsableCores() / processes.
int DefaultThreadsPerProcess(int processes);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_WORKER_PROCESSES_H_
