// Sweep specs: parsing and validation of the JSON a user submits, and the
// expansion of its grid into configurations (optimizer x hyperparameter
// combination) and jobs (configuration x seed). Torch-free: the coordinator
// validates against common/catalog.h.
#ifndef GRIDSEARCH_COMMON_SWEEP_SPEC_H_
#define GRIDSEARCH_COMMON_SWEEP_SPEC_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

// Bounds on what one spec may ask for.
struct SpecLimits {
  // Most jobs (configurations x seeds) one sweep may expand to.
  int64_t max_jobs = 1000000;
  // Longest spec text accepted, in bytes.
  size_t max_spec_bytes = 1 << 20;
};

// The grid of one optimizer: each axis is a parameter and its list of values,
// in the catalog's parameter order.
struct OptimizerGrid {
  std::string optimizer;
  std::vector<std::pair<std::string, std::vector<double>>> axes;
  // A program's grid instead: each axis's values as JSON text (numbers,
  // strings, booleans), in the order written; axes sorted by name.
  std::vector<std::pair<std::string, std::vector<std::string>>> program_axes;
};

struct SweepSpec {
  std::string name;
  ProgramSpec program;                 // present(): a program sweep, no model or data set
  std::string model;
  DatasetSpec dataset;
  int64_t batch_size = 0;
  double budget_seconds = 0;
  std::vector<int64_t> seeds;
  int64_t decay_steps = 0;             // 0: one epoch
  double dropout = 0;                  // for the models' dropout layers
  std::vector<OptimizerGrid> grids;    // sorted by optimizer name
  std::string ablation_json;           // the "ablation" block, or "" when absent
  std::string canonical_json;          // the validated spec, aliases resolved
};

// One configuration: an optimizer and its grid values.
struct GridPoint {
  std::string optimizer;
  std::map<std::string, double> params;  // only the grid's parameters
  std::string params_json;               // canonical JSON of `params`
};

// Parses and validates `text`. On error, returns InvalidArgument (or
// ResourceExhausted for a grid over limits.max_jobs) whose message names the
// offending field, e.g. "optimizers.sgd.lr[2]: expected a number, got string".
Status ParseSweepSpec(const std::string& text, const SpecLimits& limits, SweepSpec* spec);

// ParseSweepSpec's checks, collecting every problem found (each with its
// field named) instead of stopping at the first; the first is the one
// ParseSweepSpec returns. `spec` is complete only when none was found.
void CollectSweepSpec(const std::string& text, const SpecLimits& limits, SweepSpec* spec,
                      std::vector<Status>* problems);

// What `status` shows for a sweep's model and data set: the spec's, or for
// a program "program" and the command's first words.
std::string SweepModelLabel(const SweepSpec& spec);
std::string SweepDatasetLabel(const SweepSpec& spec);

// Configurations in expansion order: optimizers by name, then the
// lexicographic product of each grid's axes.
std::vector<GridPoint> ExpandGrid(const SweepSpec& spec);

// Number of configurations / jobs, saturating at INT64_MAX.
int64_t CountConfigurations(const SweepSpec& spec);
int64_t CountJobs(const SweepSpec& spec);

// The job of one configuration (`optimizer` with its grid values
// `params_json`, a GridPoint's) and `seed` of `spec`, as a worker is given
// it. For a network: every parameter of the optimizer (the catalog's
// defaults for the rest), and the spec's model, data set, batch size,
// budget, decay steps and dropout. For a program: the program, the grid
// values as they are, and the budget. Ids and the attempt are left 0.
// InvalidArgument for an unknown optimizer or parameter.
Status MakeJobSpec(const SweepSpec& spec, const std::string& optimizer,
                   const std::string& params_json, int64_t seed, JobSpec* job);

// The numbers and booleans (as 0/1) of a parameter object's JSON.
std::map<std::string, double> NumericParams(const std::string& params_json);

// Canonical JSON for a parameter map: sorted keys, booleans as true/false.
std::string ParamsToJson(const std::string& optimizer, const std::map<std::string, double>& params);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_SWEEP_SPEC_H_
