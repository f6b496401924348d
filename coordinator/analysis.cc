#include "coordinator/analysis.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "common/catalog.h"
#include "coordinator/database.h"
#include "sql/embedded_sql.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

Status EmbeddedQuery(Database* db, const char* file, Statement* st,
                     const std::string& column = "") {
  const char* text = sql::Find(file);
  if (text == nullptr) return Status::Internal(std::string(file) + " was not embedded");
  return db->Prepare(sql::Substitute(text, {{"column", column}}), st);
}

AblationSpec ParseAblation(const std::string& spec_json) {
  AblationSpec a;
  json spec = json::parse(spec_json, nullptr, false);
  if (!spec.is_object() || !spec.contains("ablation")) return a;
  const json& block = spec["ablation"];
  if (!block.is_object() || !block.contains("optimizer") || !block["optimizer"].is_string())
    return a;
  a.optimizer = block["optimizer"].get<std::string>();
  if (block.contains("features") && block["features"].is_object()) {
    for (auto it = block["features"].begin(); it != block["features"].end(); ++it) {
      a.features.emplace_back(it.key(), it->dump());
    }
  }
  return a;
}

}  // namespace

Status LatestSweepId(Database* db, int64_t* sweep_id) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT MAX(id) FROM sweeps", &st));
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row || st.IsNull(0)) return Status::NotFound("the database holds no sweeps");
  *sweep_id = st.Int(0);
  return Status::OK();
}

Status LoadSweepInfo(Database* db, int64_t sweep_id, SweepInfo* info) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT name, budget_seconds, total_jobs, spec_json, "
      "(SELECT COUNT(*) FROM jobs WHERE sweep_id = ?1 AND state IN ('queued', 'leased')) "
      "FROM sweeps WHERE id = ?1",
      &st));
  st.Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
  info->id = sweep_id;
  info->name = st.Text(0);
  info->budget_seconds = st.Double(1);
  info->total = st.Int(2);
  info->ablation = ParseAblation(st.Text(3));
  info->unfinished = st.Int(4);
  return Status::OK();
}

namespace {

// A number or a boolean (as 0/1) compares by value, anything else as JSON.
bool SameValue(const json& a, const json& b) {
  auto numeric = [](const json& v, double* out) {
    if (v.is_boolean()) *out = v.get<bool>() ? 1 : 0;
    else if (v.is_number()) *out = v.get<double>();
    else return false;
    return true;
  };
  double x = 0, y = 0;
  if (numeric(a, &x) && numeric(b, &y)) return x == y;
  return a == b;
}

}  // namespace

std::vector<bool> FeaturesOn(const AblationSpec& ablation, const std::string& optimizer,
                             const std::string& params_json) {
  std::vector<bool> on;
  json params = json::parse(params_json, nullptr, false);
  const OptimizerInfo* info = FindOptimizer(optimizer);
  for (const auto& [name, off_text] : ablation.features) {
    const json off = json::parse(off_text, nullptr, false);
    json value = 0;
    if (params.is_object() && params.contains(name)) {
      value = params[name];
    } else if (info != nullptr && info->FindParam(name) != nullptr) {
      value = info->FindParam(name)->default_value;
    }
    on.push_back(!SameValue(value, off));
  }
  return on;
}

std::string FeatureLabel(const AblationSpec& ablation, const std::vector<bool>& on) {
  std::string label;
  for (size_t i = 0; i < on.size() && i < ablation.features.size(); ++i)
    if (on[i]) label += (label.empty() ? "" : "+") + ablation.features[i].first;
  return label.empty() ? "none" : label;
}

Status QueryBestPerGroup(Database* db, int64_t sweep_id, const std::string& metric,
                         const AblationSpec& split, std::vector<GroupBest>* rows) {
  rows->clear();
  std::vector<RankedConfigRow> ranking;
  GS_RETURN_IF_ERROR(QueryRanking(db, sweep_id, metric, &ranking));
  std::map<std::string, size_t> index;  // group -> position in rows
  for (const auto& r : ranking) {
    std::string group = r.optimizer;
    if (split.present() && r.optimizer == split.optimizer)
      group += " (" + FeatureLabel(split, FeaturesOn(split, r.optimizer, r.params_json)) + ")";
    auto it = index.find(group);
    if (it == index.end()) {
      // Rows are best first: the first row of a group is its best.
      GroupBest g;
      g.group = group;
      g.optimizer = r.optimizer;
      g.best = r;
      index[group] = rows->size();
      rows->push_back(g);
      it = index.find(group);
    }
    ++(*rows)[it->second].configurations;
  }
  // Best group first; groups with nothing finished last.
  std::stable_sort(rows->begin(), rows->end(), [](const GroupBest& a, const GroupBest& b) {
    auto key = [](const GroupBest& g) { return g.best.rank == 0 ? INT64_MAX : g.best.rank; };
    return key(a) < key(b);
  });
  return Status::OK();
}

Status QueryAblation(Database* db, int64_t sweep_id, const AblationSpec& ablation,
                     std::vector<AblationRow>* rows) {
  rows->clear();
  if (!ablation.present())
    return Status::FailedPrecondition("the sweep's spec has no \"ablation\" block");
  const size_t k = ablation.features.size();
  if (k > 10) return Status::InvalidArgument("more than 10 ablation features");
  // Rows: every combination, the most features on first (PAL 2019 Table 1).
  std::vector<uint32_t> masks;
  for (uint32_t m = 0; m < (1u << k); ++m) masks.push_back(m);
  std::stable_sort(masks.begin(), masks.end(), [](uint32_t a, uint32_t b) {
    return __builtin_popcount(a) > __builtin_popcount(b);
  });
  std::map<uint32_t, size_t> index;
  for (uint32_t m : masks) {
    AblationRow r;
    for (size_t i = 0; i < k; ++i) r.on.push_back((m >> (k - 1 - i)) & 1u);
    r.label = FeatureLabel(ablation, r.on);
    index[m] = rows->size();
    rows->push_back(r);
  }
  auto mask_of = [&](const RankedConfigRow& r) {
    std::vector<bool> on = FeaturesOn(ablation, r.optimizer, r.params_json);
    uint32_t m = 0;
    for (size_t i = 0; i < k; ++i) m = (m << 1) | (on[i] ? 1u : 0u);
    return m;
  };
  for (const char* metric : {"final_train_loss", "log_loss_integral"}) {
    std::vector<RankedConfigRow> ranking;  // ranks among the ablated optimizer's configurations
    GS_RETURN_IF_ERROR(QueryRanking(db, sweep_id, metric, &ranking, ablation.optimizer));
    const bool by_loss = std::string(metric) == "final_train_loss";
    for (const auto& r : ranking) {
      AblationRow& row = (*rows)[index[mask_of(r)]];
      if (by_loss) ++row.members;
      RankedConfigRow& best = by_loss ? row.best_loss : row.best_integral;
      if (best.config_id == 0 && r.rank > 0) best = r;  // best first
    }
  }
  return Status::OK();
}

Status QueryEpochs(Database* db, int64_t sweep_id, const std::string& metric,
                   std::vector<EpochsRow>* rows) {
  rows->clear();
  std::vector<GroupBest> best;
  GS_RETURN_IF_ERROR(QueryBestPerGroup(db, sweep_id, metric, AblationSpec(), &best));
  Statement st;
  GS_RETURN_IF_ERROR(EmbeddedQuery(db, "epochs.sql", &st));
  st.Bind(1, sweep_id);
  bool row = false;
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    EpochsRow r;
    r.optimizer = st.Text(0);
    r.jobs = st.Int(1);
    r.mean_epochs = st.Double(2);
    r.mean_steps = st.Double(3);
    r.mean_train_seconds = st.Double(4);
    r.best_epochs = std::nan("");
    for (const auto& g : best) {
      if (g.optimizer == r.optimizer && g.best.rank > 0) {
        r.best_epochs = g.best.mean_epochs;
        r.best_params_json = g.best.params_json;
      }
    }
    rows->push_back(r);
  }
  return Status::OK();
}

Status QueryCurve(Database* db, int64_t config_id, double budget_seconds, int bins,
                  const std::string& column, std::vector<CurveBin>* curve) {
  curve->clear();
  if (column != "loss" && column != "learning_rate")
    return Status::InvalidArgument("curve column must be loss or learning_rate");
  if (bins < 1 || bins > 100000) return Status::InvalidArgument("bins must be in 1..100000");
  if (!(budget_seconds > 0)) return Status::InvalidArgument("budget must be positive");
  Statement st;
  GS_RETURN_IF_ERROR(EmbeddedQuery(db, "curve_bins.sql", &st, column));
  const double width = budget_seconds / bins;
  st.Bind(1, config_id).Bind(2, width).Bind(3, static_cast<int64_t>(bins));
  bool row = false;
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    CurveBin b;
    b.time_seconds = (st.Int(0) + 0.5) * width;
    b.mean = st.Double(1);
    b.min = st.Double(2);
    b.max = st.Double(3);
    b.seeds = st.Int(4);
    curve->push_back(b);
  }
  return Status::OK();
}

Status QueryRawCurve(Database* db, int64_t config_id, std::vector<RawCurvePoint>* points) {
  points->clear();
  Statement st;
  GS_RETURN_IF_ERROR(EmbeddedQuery(db, "curve_raw.sql", &st));
  st.Bind(1, config_id);
  bool row = false;
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    RawCurvePoint p;
    p.seed = st.Int(0);
    p.point.step = st.Int(1);
    p.point.elapsed_seconds = st.Double(2);
    p.point.epoch = st.Double(3);
    p.point.loss = st.Double(4);
    p.point.learning_rate = st.Double(5);
    points->push_back(p);
  }
  return Status::OK();
}

}  // namespace gridsearch
