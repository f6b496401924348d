// The job file of `gridsearch train`: one job described with the fields of a
// sweep spec, each with one value, plus the device to train on:
//
//   {"model": "mlp", "dataset": "fashion-mnist", "batch_size": 100,
//    "budget_seconds": 5, "seed": 1, "device": "cpu",
//    "optimizers": {"sgd": {"lr": 0.1, "momentum": 0.9}}}
//
// "seed" (a number) or "seeds" (a one-element list); "name" is optional.
// Validated like a sweep spec (the messages name the field), and turned into
// the JobSpec a coordinator would hand a worker for that job (MakeJobSpec).
// Torch-free.
#ifndef GRIDSEARCH_COMMON_TRAIN_JOB_H_
#define GRIDSEARCH_COMMON_TRAIN_JOB_H_

#include <string>

#include "common/job.h"
#include "common/status.h"
#include "common/sweep_spec.h"

namespace gridsearch {

struct TrainJob {
  JobSpec job;
  std::string device;        // the file's "device"; empty when it has none
  SweepSpec spec;            // the file read as a one-job sweep
};

// InvalidArgument naming the field for a malformed file, and for one whose
// grid is more than one configuration or seed (with its counts).
Status ParseTrainJob(const std::string& text, TrainJob* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_TRAIN_JOB_H_
