// Trainer: runs one job (model x optimizer x seed) under its wall-clock
// budget and computes its final metrics. Torch stays behind the pimpl so that
// the worker's gRPC code does not include LibTorch headers.
//
// Time budget (DESIGN.md): the clock starts when the first training step
// begins; a step starts only while time is left, so training overshoots the
// deadline by at most one step on the CPU. On a GPU the budget counts
// finished device work: up to `steps_in_flight` steps are queued ahead of the
// host (see worker/step_fence.h), so the overshoot stays within that many
// steps, and a curve point's time is when its step was seen finished. Setup
// (data, model, optimizer) and the final evaluation are timed separately and
// do not count against the budget.
//
// Losses stay on the device and are copied to the host once per flush of
// curve points; a non-finite loss is found there, and the job ends as
// diverged with the finite points before it as its curve.
//
// Seeds: the same seed gives identical initial weights and the same order of
// training examples for every optimizer.
//
// Thread-compatible: one Trainer per worker process, used by one thread.
#ifndef GRIDSEARCH_WORKER_TRAINER_H_
#define GRIDSEARCH_WORKER_TRAINER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

struct TrainerOptions {
  // "cpu" or "cuda:N".
  std::string device = "cpu";
  // Intra-op threads for LibTorch; 0 leaves LibTorch's default.
  int threads = 0;
  // Curve points are handed to the sink at least this often...
  double flush_interval_seconds = 1.0;
  // ...and whenever this many are pending.
  size_t flush_max_points = 512;
  // Stop after this many steps even if time is left (0: only the budget
  // ends training). With one thread on the CPU, a step limit makes a job's
  // curve and metrics exactly reproducible.
  int64_t max_steps = 0;
  // Steps queued on the device ahead of the host; 0: 2 on a GPU, 1 on the
  // CPU (where a step is finished when its code returns).
  int steps_in_flight = 0;
  // cuDNN's benchmark mode (fastest kernels for the fixed shapes of a job).
  bool cudnn_benchmark = true;
};

// Receives batches of curve points while a job trains (and once more with the
// last points before Run returns). A non-OK return stops training at once and
// Run returns that status (the lease was lost, the sweep was cancelled).
using CurveSink = std::function<Status(const std::vector<CurvePoint>&)>;

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains `job` to the end of its budget (or until the loss is non-finite:
  // result->diverged) and fills `result`. Data sets are loaded on first use
  // and kept for later jobs. Errors (missing data set, bad parameter,
  // LibTorch exception) come back as a Status whose message names the cause.
  Status Run(const JobSpec& job, const CurveSink& sink, JobResult* result);

  // Device description and LibTorch version, for the job record.
  std::string DeviceName() const;
  static std::string SoftwareVersion();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Tunes this process's allocator for training (freed memory is kept for the
// next step). Call once, before the first job.
void KeepFreedMemoryForTraining();

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_TRAINER_H_
