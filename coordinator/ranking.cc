#include "coordinator/ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "coordinator/database.h"
#include "sql/embedded_sql.h"

namespace gridsearch {
namespace {

// Means of the same losses summed in another order differ in the last bits;
// such scores are ties.
bool SameScore(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

// Competition ranking (1, 1, 3) along the SQL order. Rows with no finished
// seed get 0.
void AssignRanks(const std::vector<double>& scores, std::vector<RankedConfigRow>* rows) {
  for (size_t i = 0; i < rows->size(); ++i) {
    RankedConfigRow& r = (*rows)[i];
    if (r.seeds_done + r.diverged == 0) {
      r.rank = 0;
      continue;
    }
    const RankedConfigRow* prev = i > 0 ? &(*rows)[i - 1] : nullptr;
    bool tie = prev != nullptr && prev->rank > 0 && (prev->diverged > 0) == (r.diverged > 0) &&
               prev->diverged == r.diverged && SameScore(scores[i - 1], scores[i]);
    r.rank = tie ? prev->rank : static_cast<int64_t>(i + 1);
  }
  // Within a tie, a stable order: by configuration id.
  std::stable_sort(rows->begin(), rows->end(),
                   [](const RankedConfigRow& a, const RankedConfigRow& b) {
                     auto key = [](const RankedConfigRow& r) {
                       return std::make_pair(r.rank == 0 ? INT64_MAX : r.rank,
                                             r.rank == 0 ? 0 : r.config_id);
                     };
                     return key(a) < key(b);
                   });
}

}  // namespace

bool IsRankingMetric(const std::string& metric) {
  return metric == "final_train_loss" || metric == "log_loss_integral" ||
         metric == "test_accuracy";
}

const char* RankingMetricList() { return "final_train_loss, log_loss_integral, test_accuracy"; }

double MetricValue(const RankedConfigRow& row, const std::string& metric) {
  if (metric == "log_loss_integral") return row.mean_log_loss_integral;
  if (metric == "test_accuracy") return row.mean_test_accuracy;
  return row.mean_final_train_loss;
}

Status QueryRanking(Database* db, int64_t sweep_id, const std::string& metric,
                    std::vector<RankedConfigRow>* rows, const std::string& optimizer) {
  rows->clear();
  if (!IsRankingMetric(metric))
    return Status::InvalidArgument("unknown metric '" + metric + "' (known: " +
                                   RankingMetricList() + ")");
  Statement exists;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT 1 FROM sweeps WHERE id = ?1", &exists));
  exists.Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(exists.Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));

  const char* text = sql::Find("ranking.sql");
  if (text == nullptr) return Status::Internal("ranking.sql was not embedded");
  // The metric comes from the fixed list above, never from raw user text.
  std::string query = sql::Substitute(
      text, {{"metric", metric}, {"order", metric == "test_accuracy" ? "DESC" : "ASC"}});
  Statement st;
  std::vector<double> scores;
  GS_RETURN_IF_ERROR(db->Prepare(query, &st));
  st.Bind(1, sweep_id);
  if (optimizer.empty())
    st.BindNull(2);
  else
    st.Bind(2, optimizer);
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    RankedConfigRow r;
    r.config_id = st.Int(0);
    r.optimizer = st.Text(1);
    r.params_json = st.Text(2);
    r.seeds_total = st.Int(3);
    r.seeds_done = st.Int(4);
    r.diverged = st.Int(5);
    r.failed = st.Int(6);
    r.mean_final_train_loss = st.Double(7);
    r.mean_log_loss_integral = st.Double(8);
    r.mean_test_accuracy = st.Double(9);
    r.mean_epochs = st.Double(10);
    r.incomplete = st.Int(11) != 0;
    scores.push_back(st.Double(12));
    rows->push_back(std::move(r));
  }
  AssignRanks(scores, rows);
  return Status::OK();
}

}  // namespace gridsearch
