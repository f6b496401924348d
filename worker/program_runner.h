// ProgramRunner: trains one job by running the user's program (a spec's
// `program`) under the protocol of worker/program_protocol.h, and holds it
// to the same rules as the built-in trainer:
//
// - The budget's clock starts at the program's train_start event; setup
//   before it is bounded by program.setup_timeout_seconds.
// - A program still running at budget + max(10 s, 10%) +
//   program.eval_timeout_seconds after train_start has overrun its budget:
//   it is stopped (SIGTERM to its process group, SIGKILL after a grace) and
//   the job fails.
// - A program that writes nothing to its report descriptor for longer than
//   the lease timeout after train_start is stopped as hung.
// - A non-finite loss ends the job as diverged (the program is stopped).
// - A crash, an exit without a result, garbage or a flood on the report
//   descriptor fail the job with a message that names what happened and
//   the last lines of the program's output.
//
// The program's stdout and stderr go to the `output` callback line by line.
// Torch-free and gRPC-free: the worker and `gridsearch train` both use it.
#ifndef GRIDSEARCH_WORKER_PROGRAM_RUNNER_H_
#define GRIDSEARCH_WORKER_PROGRAM_RUNNER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

struct ProgramRunnerOptions {
  // The worker's device: "cpu" (no GPU is visible to the program) or
  // "cuda:N" (CUDA_VISIBLE_DEVICES narrowed to that one GPU; the program sees
  // it as cuda:0).
  std::string device = "cpu";
  // Recorded as the job's device; empty: `device`.
  std::string device_name;
  // OMP_NUM_THREADS and OPENBLAS_NUM_THREADS for the program (0: not set),
  // unless the spec's env sets them.
  int threads = 0;
  // Silence on the report descriptor after train_start longer than this is
  // a hang (the worker passes its lease timeout).
  double silence_limit_seconds = 60;
  // SIGTERM to SIGKILL.
  double terminate_grace_seconds = 5;
  // Curve points go to the sink at least this often.
  double flush_interval_seconds = 1.0;
  // Limits on what the program may write to its report descriptor.
  size_t max_line_bytes = 1 << 16;
  int64_t max_lines_per_second = 10000;
  int64_t max_points = 1000000;
  // Each line of the program's stdout and stderr; null: dropped.
  std::function<void(const std::string&)> output;
};

// Receives the curve points (as the trainer's CurveSink): a non-OK return
// stops the program and Run returns it.
using ProgramCurveSink = std::function<Status(const std::vector<CurvePoint>&)>;

class ProgramRunner {
 public:
  explicit ProgramRunner(ProgramRunnerOptions options);

  // Runs job.program for `job` and fills `result` (OK also when diverged).
  // Returns Cancelled when `stop` turned true (the program was stopped),
  // the sink's status when it refused points, and Aborted, with the cause,
  // when the program failed. `stop` may be null.
  Status Run(const JobSpec& job, const ProgramCurveSink& sink, const std::function<bool()>& stop,
             JobResult* result);

  // The environment and job file a program gets are described in
  // README; this is the job file's JSON for `job`.
  std::string JobJson(const JobSpec& job) const;

 private:
  ProgramRunnerOptions options_;
};

// Removes the job folders ($TMPDIR/gridsearch-job-<pid>-*) of worker
// processes that no longer run (killed before they could clean up).
void RemoveStaleJobFolders();

// The Python helper (clients/python/gridsearch.py) as embedded in the binary;
// the runner puts it on the program's PYTHONPATH.
const std::string& PythonHelperSource();

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_PROGRAM_RUNNER_H_
