// The papers' tables and figures' data from a sweep's stored jobs: the best
// configuration per optimizer (PAL 2019 Table 3), the ablation of an
// optimizer's features (Table 1), epochs within the budget (Table 2), and
// loss or learning-rate curves resampled over seeds (Figures 2 and 5). The
// numbers come from the SQL in sql/; this layer only groups and labels them.
// Torch-free; works on any Database (the coordinator's or a read-only file).
#ifndef GRIDSEARCH_COORDINATOR_ANALYSIS_H_
#define GRIDSEARCH_COORDINATOR_ANALYSIS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "coordinator/ranking.h"

namespace gridsearch {

class Database;

// An ablation block of a spec: each feature is a parameter and the value
// that means "off" (momentum 0, loose_approximation 1, decay 1).
struct AblationSpec {
  std::string optimizer;
  // Each feature's parameter and its "off" value as JSON text (a number, a
  // boolean, or for a program a string).
  std::vector<std::pair<std::string, std::string>> features;
  bool present() const { return !optimizer.empty(); }
};

struct SweepInfo {
  int64_t id = 0;
  std::string name;
  double budget_seconds = 0;
  int64_t total = 0;
  int64_t unfinished = 0;   // queued or leased: tables are partial while > 0
  AblationSpec ablation;    // from the spec; empty when it has none
};

Status LoadSweepInfo(Database* db, int64_t sweep_id, SweepInfo* info);
// The newest sweep's id; NotFound when there is none.
Status LatestSweepId(Database* db, int64_t* sweep_id);

// Which of the features are on for a configuration's parameters (a
// parameter the grid does not set takes the catalog's default).
std::vector<bool> FeaturesOn(const AblationSpec& ablation, const std::string& optimizer,
                             const std::string& params_json);
// "momentum+loose_approximation+decay", or "none".
std::string FeatureLabel(const AblationSpec& ablation, const std::vector<bool>& on);

// PAL 2019 Table 3: per optimizer (the ablated optimizer split by which
// features are on) its best configuration by `metric`, with the global rank.
struct GroupBest {
  std::string group;       // "sgd", or "pal (momentum+decay)"
  std::string optimizer;
  int64_t configurations = 0;
  RankedConfigRow best;    // best.rank is the rank among all configurations
};
Status QueryBestPerGroup(Database* db, int64_t sweep_id, const std::string& metric,
                         const AblationSpec& split, std::vector<GroupBest>* rows);

// PAL 2019 Table 1: one row per feature group (2^k rows, all on first). For
// both metrics, the group's best configuration, its rank among the ablated
// optimizer's configurations and its mean. A group with no configuration in
// the grid has members == 0 and no best.
struct AblationRow {
  std::vector<bool> on;
  std::string label;
  int64_t members = 0;
  RankedConfigRow best_loss;       // by final_train_loss; rank 0 when none
  RankedConfigRow best_integral;   // by log_loss_integral; rank 0 when none
};
Status QueryAblation(Database* db, int64_t sweep_id, const AblationSpec& ablation,
                     std::vector<AblationRow>* rows);

// PAL 2019 Table 2: epochs within the budget per optimizer, over all its
// finished jobs and for its best configuration by `metric`.
struct EpochsRow {
  std::string optimizer;
  int64_t jobs = 0;
  double mean_epochs = 0;
  double mean_steps = 0;
  double mean_train_seconds = 0;
  double best_epochs = 0;          // mean over the best configuration's seeds
  std::string best_params_json;
};
Status QueryEpochs(Database* db, int64_t sweep_id, const std::string& metric,
                   std::vector<EpochsRow>* rows);

// A configuration's curve on a common time grid of `bins` bins over
// [0, budget_seconds]: per bin the mean, min and max over seeds of each
// seed's mean value in the bin. `column` is "loss" or "learning_rate".
struct CurveBin {
  double time_seconds = 0;   // the bin's centre
  double mean = 0, min = 0, max = 0;
  int64_t seeds = 0;
};
Status QueryCurve(Database* db, int64_t config_id, double budget_seconds, int bins,
                  const std::string& column, std::vector<CurveBin>* curve);

// Every stored point of a configuration's finished jobs, by seed and step.
struct RawCurvePoint {
  int64_t seed = 0;
  CurvePoint point;
};
Status QueryRawCurve(Database* db, int64_t config_id, std::vector<RawCurvePoint>* points);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_ANALYSIS_H_
