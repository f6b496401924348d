// A real one-node Slurm for tests: munged, slurmctld and slurmd from
// Debian's packages, all in a temporary folder, on free loopback ports, with
// two fake GPUs (character devices: symlinks to /dev/null) so that tasks get
// CUDA_VISIBLE_DEVICES as on a GPU node. ProctrackType=proctrack/pgid, so
// that the end of a job signals every process of it, as on a real cluster.
//
// Start() sets SLURM_CONF in this process, so that sbatch, squeue and
// scancel (and the programs this test starts) talk to it. The destructor
// cancels every job, waits for them, and stops the daemons, whatever
// happened. Needs root (slurmd starts jobs as their users).
#ifndef GRIDSEARCH_TESTS_SLURM_CLUSTER_H_
#define GRIDSEARCH_TESTS_SLURM_CLUSTER_H_

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace gridsearch {
namespace testing {

class SlurmCluster {
 public:
  SlurmCluster();
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // Writes the configuration, starts the daemons and waits for the node to
  // be idle. On failure, *error says which step failed with its log.
  bool Start(std::string* error);

  // `squeue -t all` states of a job's tasks ("RUNNING", "COMPLETED", ...).
  std::vector<std::string> States(const std::string& job_id) const;
  // True while any task of the job is pending, running or completing.
  bool Live(const std::string& job_id) const;
  // The job ids of an array's tasks that are RUNNING ("123_0" style ids).
  std::vector<std::string> RunningTasks(const std::string& array_job) const;
  // The daemons' logs, for failure messages.
  std::string Logs() const;
  const std::string& dir() const { return dir_.path(); }

 private:
  void Stop();

  TempDir dir_;
  std::string conf_;
  bool started_ = false;
};

}  // namespace testing
}  // namespace gridsearch

#endif  // GRIDSEARCH_TESTS_SLURM_CLUSTER_H_
