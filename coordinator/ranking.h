// The ranking of a sweep's configurations (DESIGN.md "Ranking"), computed by
// sql/ranking.sql over the stored jobs. Used by the coordinator's
// QueryRanking and by `gridsearch results --db FILE`.
#ifndef GRIDSEARCH_COORDINATOR_RANKING_H_
#define GRIDSEARCH_COORDINATOR_RANKING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

class Database;

struct RankedConfigRow {
  int64_t rank = 0;            // 1-based, ties share; 0 when no seed finished
  int64_t config_id = 0;
  std::string optimizer;
  std::string params_json;
  double mean_final_train_loss = 0;   // NaN when unknown
  double mean_log_loss_integral = 0;  // NaN when unknown
  double mean_test_accuracy = 0;      // NaN when unknown
  double mean_epochs = 0;             // NaN when unknown
  int64_t seeds_done = 0;
  int64_t seeds_total = 0;
  int64_t diverged = 0;
  int64_t failed = 0;
  bool incomplete = false;     // some seed is neither done nor diverged
};

// Metrics a ranking may use: final_train_loss and log_loss_integral (lower
// is better), test_accuracy (higher is better).
bool IsRankingMetric(const std::string& metric);
const char* RankingMetricList();

// The mean of `metric` in `row`.
double MetricValue(const RankedConfigRow& row, const std::string& metric);

// Best first. `optimizer`, when not empty, keeps only that optimizer's
// configurations (ranks then run among them). NotFound when the sweep does
// not exist.
Status QueryRanking(Database* db, int64_t sweep_id, const std::string& metric,
                    std::vector<RankedConfigRow>* rows, const std::string& optimizer = "");

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_RANKING_H_
