// What a worker is asked to train, and what it reports back. Plain structs,
// torch-free and gRPC-free, so the trainer and its tests need neither the
// coordinator nor the network.
#ifndef GRIDSEARCH_COMMON_JOB_H_
#define GRIDSEARCH_COMMON_JOB_H_

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace gridsearch {

struct DatasetSpec {
  std::string name;          // a name from the catalog: fashion-mnist, mnist, synthetic
  std::string path;          // folder of the files; empty: the catalog's default
  int64_t train_size = 0;    // first N training examples; 0: all of them
  bool augment = false;      // random crop (4-pixel padding) + horizontal flip per batch
};

// A user's own training program (a sweep spec's `program`): the worker runs
// `command` once per job under the protocol of worker/program_runner.h.
struct ProgramSpec {
  std::vector<std::string> command;        // argv; empty: a built-in network
  std::string workdir;                     // empty: the worker's own
  std::map<std::string, std::string> env;  // added to the worker's environment
  double setup_timeout_seconds = 600;      // start to the train_start event
  double eval_timeout_seconds = 60;        // after the budget, for the final metrics
  bool present() const { return !command.empty(); }
};

struct JobSpec {
  int64_t job_id = 0;
  int64_t sweep_id = 0;
  int32_t attempt = 0;                    // 1 for the first lease of the job
  std::string optimizer;                  // a name from the catalog
  std::map<std::string, double> params;   // every parameter, defaults filled in
  int64_t seed = 0;
  std::string model;
  DatasetSpec dataset;
  int64_t batch_size = 0;
  double budget_seconds = 0;              // wall-clock training time
  int64_t decay_steps = 0;                // 0: one epoch (train_size / batch_size steps)
  double dropout = 0;                     // drop probability of the layers that take it
  // The configuration's grid values as canonical JSON (sorted keys; numbers,
  // strings, booleans). A program reads its parameters from here; `params`
  // is empty for a program.
  std::string params_json;
  ProgramSpec program;                    // present(): run this instead of a network
};

// One point of a loss curve: the loss of one training batch.
struct CurvePoint {
  double elapsed_seconds = 0;   // training time since the first step began
  int64_t step = 0;             // 1-based index of the step that produced `loss`
  double epoch = 0;             // examples seen / train_size after this step
  double loss = 0;              // batch loss (before the update)
  double learning_rate = 0;     // effective learning rate used by this step
};

// The outcome of a job that ran to its end (budget spent or diverged).
struct JobResult {
  bool diverged = false;        // a non-finite loss stopped training early
  double setup_seconds = 0;     // data + model + optimizer construction
  double train_seconds = 0;     // first step to last step's end
  double eval_seconds = 0;      // final metrics
  int64_t steps = 0;
  double epochs = 0;
  double final_train_loss = std::numeric_limits<double>::quiet_NaN();
  double log_loss_integral = std::numeric_limits<double>::quiet_NaN();
  double test_loss = std::numeric_limits<double>::quiet_NaN();      // NaN: no test split
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();  // in [0, 1]
  std::string device;           // e.g. "cpu" or "cuda:0 (NVIDIA H100)"
  std::string software;         // e.g. "libtorch 1.13.1"
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_JOB_H_
