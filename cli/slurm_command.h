// `gridsearch slurm up|down`: a sweep on a Slurm cluster. The coordinator
// runs as a Slurm job of its own over a SQLite file in a state folder on
// shared storage; the workers run as a job array, one task per worker with
// its GPUs, each running `gridsearch worker --devices all`. The sbatch
// scripts are filled from templates (deploy/slurm, built in; --templates
// for edited copies).
//
// The state folder holds: study.db (the sweep), token (mode 600), address
// (host:port, written by the coordinator job), slurm.json (the Slurm job
// ids), coordinator.sbatch and worker.sbatch (the filled scripts) and logs/.
#ifndef GRIDSEARCH_CLI_SLURM_COMMAND_H_
#define GRIDSEARCH_CLI_SLURM_COMMAND_H_

#include <string>
#include <vector>

namespace gridsearch {

struct SlurmUpFlags {
  std::string spec_path;
  int workers = 1;                   // tasks of the worker array
  int gpus_per_worker = 1;           // --gres=gpu:G per task; 0: CPU workers
  int cpus_per_worker = 0;           // --cpus-per-task; 0: one per GPU (at least 1)
  std::string partition;             // empty: the cluster's default
  std::string account;
  std::string time;                  // worker tasks' --time; empty: the partition's default
  std::string coordinator_time;      // the coordinator's --time; empty: the partition's default
  std::vector<std::string> sbatch_args;  // more #SBATCH options, for both jobs
  std::vector<std::string> worker_args;  // more `gridsearch worker` flags
  std::string state_dir = "gridsearch-slurm";
  std::string templates_dir;         // empty: the built-in templates
  std::string gridsearch;            // the binary the jobs run; empty: this one
  double lease_timeout_seconds = 60;
  double exit_when_idle_seconds = 60;       // workers
  double exit_when_finished_seconds = 300;  // the coordinator
  int warning_seconds = 120;         // SIGUSR1 this long before a task's time limit
  bool dry_run = false;              // print the scripts and commands, submit nothing
};

// Exit codes as the other commands: 0 submitted (or nothing left to run), 1
// Slurm refused or failed, 2 refused input (bad spec or flags, a state
// folder whose coordinator still runs or that holds another sweep).
int RunSlurmUpCommand(const SlurmUpFlags& flags, const std::string& self_exe);

// Cancels the workers (they hand their jobs back), waits for them, then the
// coordinator.
int RunSlurmDownCommand(const std::string& state_dir);

// The built-in templates, by file name ("coordinator.sbatch", ...).
const std::vector<std::pair<std::string, std::string>>& SlurmTemplates();

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_SLURM_COMMAND_H_
