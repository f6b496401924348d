#include "coordinator/tables.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/text_escape.h"
#include "coordinator/analysis.h"
#include "coordinator/database.h"
#include "coordinator/format.h"
#include "coordinator/ranking.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

json NumberOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json ParamsJson(const std::string& text) {
  json p = json::parse(text, nullptr, false);
  return p.is_discarded() ? json::object() : p;
}

// The same rows as a text table would show, as CSV (the header first).
std::string RenderCsv(const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream os;
  for (const auto& line : rows) {
    for (size_t i = 0; i < line.size(); ++i) os << (i ? "," : "") << FormatCsvField(line[i]);
    os << "\n";
  }
  return os.str();
}

// A footer for text tables of a sweep that is still running.
std::string PartialNote(const SweepInfo& info) {
  if (info.unfinished == 0) return "";
  return "partial: " + std::to_string(info.unfinished) + " of " + std::to_string(info.total) +
         " jobs are still queued or running\n";
}

std::string MetricTitle(const std::string& metric) {
  if (metric == "log_loss_integral") return "log-loss integral";
  if (metric == "test_accuracy") return "test accuracy";
  return "final train loss";
}

AblationSpec SplitSpec(const SweepInfo& info, const std::string& split) {
  AblationSpec a;
  if (split.empty() || !info.ablation.present()) return a;
  a.optimizer = info.ablation.optimizer;
  for (const auto& f : info.ablation.features) {
    if (split == "all" || ("," + split + ",").find("," + f.first + ",") != std::string::npos)
      a.features.push_back(f);
  }
  if (a.features.empty()) a.optimizer.clear();
  return a;
}

Status Best(Database* db, const SweepInfo& info, const TableRequest& req, std::string* out) {
  std::vector<GroupBest> rows;
  GS_RETURN_IF_ERROR(QueryBestPerGroup(db, info.id, req.metric, SplitSpec(info, req.split), &rows));
  if (req.format == "json") {
    json arr = json::array();
    for (const auto& g : rows) {
      arr.push_back({{"group", g.group},
                     {"optimizer", g.optimizer},
                     {"configurations", g.configurations},
                     {"rank", g.best.rank == 0 ? json(nullptr) : json(g.best.rank)},
                     {"config_id", g.best.config_id == 0 ? json(nullptr) : json(g.best.config_id)},
                     {"params", ParamsJson(g.best.params_json)},
                     {"mean_final_train_loss", NumberOrNull(g.best.mean_final_train_loss)},
                     {"mean_log_loss_integral", NumberOrNull(g.best.mean_log_loss_integral)},
                     {"mean_test_accuracy", NumberOrNull(g.best.mean_test_accuracy)},
                     {"seeds_done", g.best.seeds_done},
                     {"seeds_total", g.best.seeds_total},
                     {"diverged", g.best.diverged},
                     {"incomplete", g.best.incomplete}});
    }
    *out = arr.dump(2) + "\n";
    return Status::OK();
  }
  if (req.format == "csv") {
    std::ostringstream os;
    os << "group,rank,configurations,mean_" << req.metric << ",seeds_done,seeds_total,params\n";
    for (const auto& g : rows)
      os << FormatCsvField(g.group) << "," << g.best.rank << "," << g.configurations << ","
         << FormatNumber(MetricValue(g.best, req.metric), 10) << "," << g.best.seeds_done << ","
         << g.best.seeds_total << "," << FormatCsvField(g.best.params_json) << "\n";
    *out = os.str();
    return Status::OK();
  }
  std::vector<std::vector<std::string>> t = {
      {"optimizer", "rank", MetricTitle(req.metric), "seeds", "of configs", "best parameters"}};
  for (const auto& g : rows) {
    std::string seeds = std::to_string(g.best.seeds_done) + "/" + std::to_string(g.best.seeds_total);
    if (g.best.diverged > 0) seeds += " (" + std::to_string(g.best.diverged) + " diverged)";
    t.push_back({g.group, g.best.rank == 0 ? "-" : std::to_string(g.best.rank),
                 FormatNumber(MetricValue(g.best, req.metric)), seeds,
                 std::to_string(g.configurations), FormatParams(g.best.params_json)});
  }
  *out = RenderTextTable(t, req.format == "markdown") +
         "rank: among all configurations of the sweep by mean " + req.metric + " over seeds\n" +
         PartialNote(info);
  return Status::OK();
}

Status Ablation(Database* db, const SweepInfo& info, const TableRequest& req, std::string* out) {
  std::vector<AblationRow> rows;
  GS_RETURN_IF_ERROR(QueryAblation(db, info.id, info.ablation, &rows));
  const auto& features = info.ablation.features;
  if (req.format == "json") {
    json arr = json::array();
    for (const auto& r : rows) {
      json marks = json::object();
      for (size_t i = 0; i < features.size(); ++i) marks[features[i].first] = bool(r.on[i]);
      auto best = [](const RankedConfigRow& b, double value) -> json {
        if (b.config_id == 0) return nullptr;
        return {{"rank", b.rank}, {"value", NumberOrNull(value)}, {"params", ParamsJson(b.params_json)},
                {"diverged", b.diverged}, {"incomplete", b.incomplete}};
      };
      arr.push_back({{"features", marks},
                     {"configurations", r.members},
                     {"final_train_loss", best(r.best_loss, r.best_loss.mean_final_train_loss)},
                     {"log_loss_integral",
                      best(r.best_integral, r.best_integral.mean_log_loss_integral)}});
    }
    json doc = {{"sweep_id", info.id},
                {"optimizer", info.ablation.optimizer},
                {"partial", info.unfinished > 0},
                {"rows", arr}};
    *out = doc.dump(2) + "\n";
    return Status::OK();
  }
  std::vector<std::vector<std::string>> t;
  std::vector<std::string> header;
  for (const auto& f : features) header.push_back(f.first);
  for (const char* h : {"configs", "rank (loss)", "final train loss", "rank (integral)",
                        "log-loss integral"})
    header.push_back(h);
  t.push_back(header);
  for (const auto& r : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < features.size(); ++i) line.push_back(r.on[i] ? "x" : "-");
    line.push_back(std::to_string(r.members));
    auto rank = [](const RankedConfigRow& b) {
      if (b.config_id == 0) return std::string("-");
      return std::to_string(b.rank) + (b.diverged > 0 ? " (diverged)" : "");
    };
    line.push_back(rank(r.best_loss));
    line.push_back(r.best_loss.config_id ? FormatNumber(r.best_loss.mean_final_train_loss) : "-");
    line.push_back(rank(r.best_integral));
    line.push_back(r.best_integral.config_id
                       ? FormatNumber(r.best_integral.mean_log_loss_integral)
                       : "-");
    t.push_back(line);
  }
  if (req.format == "csv") {
    *out = RenderCsv(t);
    return Status::OK();
  }
  *out = RenderTextTable(t, req.format == "markdown") + "ablation of " + info.ablation.optimizer +
         ": x = feature on; ranks among its " + std::to_string([&] {
           int64_t n = 0;
           for (const auto& r : rows) n += r.members;
           return n;
         }()) + " configurations; '-' = no configuration in the grid\n" + PartialNote(info);
  return Status::OK();
}

Status Epochs(Database* db, const SweepInfo& info, const TableRequest& req, std::string* out) {
  std::vector<EpochsRow> rows;
  GS_RETURN_IF_ERROR(QueryEpochs(db, info.id, req.metric, &rows));
  if (req.format == "json") {
    json arr = json::array();
    for (const auto& r : rows)
      arr.push_back({{"optimizer", r.optimizer},
                     {"jobs", r.jobs},
                     {"mean_epochs", NumberOrNull(r.mean_epochs)},
                     {"mean_steps", NumberOrNull(r.mean_steps)},
                     {"mean_train_seconds", NumberOrNull(r.mean_train_seconds)},
                     {"best_config_epochs", NumberOrNull(r.best_epochs)},
                     {"best_config_params", ParamsJson(r.best_params_json)}});
    *out = json({{"sweep_id", info.id}, {"partial", info.unfinished > 0}, {"rows", arr}}).dump(2) + "\n";
    return Status::OK();
  }
  std::vector<std::vector<std::string>> t = {{"optimizer", "jobs", "mean epochs", "mean steps",
                                              "best config epochs", "best config"}};
  for (const auto& r : rows)
    t.push_back({r.optimizer, std::to_string(r.jobs), FormatNumber(r.mean_epochs, 3),
                 FormatNumber(r.mean_steps, 5), FormatNumber(r.best_epochs, 3),
                 FormatParams(r.best_params_json)});
  if (req.format == "csv") {
    *out = RenderCsv(t);
    return Status::OK();
  }
  *out = RenderTextTable(t, req.format == "markdown") + "epochs trained within the " +
         FormatDuration(info.budget_seconds) + " budget (finished jobs)\n" + PartialNote(info);
  return Status::OK();
}

// The request was checked by RenderTable (format, column, bins).
Status Curves(Database* db, const SweepInfo& info, const TableRequest& req, std::string* out) {
  struct Target {
    int64_t config_id;
    std::string optimizer, params_json;
  };
  std::vector<Target> targets;
  if (req.config_ids.empty()) {
    std::vector<GroupBest> best;
    GS_RETURN_IF_ERROR(QueryBestPerGroup(db, info.id, req.metric, AblationSpec(), &best));
    for (const auto& g : best)
      if (g.best.rank > 0) targets.push_back({g.best.config_id, g.optimizer, g.best.params_json});
  } else {
    // Named configurations are looked up one by one: no ranking of the
    // whole sweep for a few curves.
    Statement st;
    GS_RETURN_IF_ERROR(db->Prepare(
        "SELECT optimizer, params_json FROM configs WHERE id = ?1 AND sweep_id = ?2", &st));
    for (int64_t id : req.config_ids) {
      st.Reset();
      st.Bind(1, id).Bind(2, info.id);
      bool found = false;
      GS_RETURN_IF_ERROR(st.Step(&found));
      if (!found)
        return Status::NotFound("sweep " + std::to_string(info.id) + " has no configuration " +
                                std::to_string(id));
      targets.push_back({id, st.Text(0), st.Text(1)});
    }
  }
  std::ostringstream csv;
  json arr = json::array();
  if (req.raw)
    csv << "config_id,optimizer,seed,step,elapsed_seconds,epoch,loss,learning_rate\n";
  else
    csv << "config_id,optimizer,time_seconds," << req.column << "_mean," << req.column << "_min,"
        << req.column << "_max,seeds\n";
  for (const auto& t : targets) {
    json series = {{"config_id", t.config_id}, {"optimizer", t.optimizer},
                   {"params", ParamsJson(t.params_json)}};
    if (req.raw) {
      std::vector<RawCurvePoint> points;
      GS_RETURN_IF_ERROR(QueryRawCurve(db, t.config_id, &points));
      json pts = json::array();
      for (const auto& p : points) {
        csv << t.config_id << "," << t.optimizer << "," << p.seed << "," << p.point.step << ","
            << FormatNumber(p.point.elapsed_seconds, 10) << "," << FormatNumber(p.point.epoch, 10)
            << "," << FormatNumber(p.point.loss, 10) << ","
            << FormatNumber(p.point.learning_rate, 10) << "\n";
        pts.push_back({{"seed", p.seed}, {"step", p.point.step},
                       {"elapsed_seconds", p.point.elapsed_seconds}, {"epoch", p.point.epoch},
                       {"loss", NumberOrNull(p.point.loss)},
                       {"learning_rate", NumberOrNull(p.point.learning_rate)}});
      }
      series["points"] = pts;
    } else {
      std::vector<CurveBin> bins;
      GS_RETURN_IF_ERROR(
          QueryCurve(db, t.config_id, info.budget_seconds, req.bins, req.column, &bins));
      json b = json::array();
      for (const auto& c : bins) {
        csv << t.config_id << "," << t.optimizer << "," << FormatNumber(c.time_seconds, 10) << ","
            << FormatNumber(c.mean, 10) << "," << FormatNumber(c.min, 10) << ","
            << FormatNumber(c.max, 10) << "," << c.seeds << "\n";
        b.push_back({{"time_seconds", c.time_seconds}, {"mean", NumberOrNull(c.mean)},
                     {"min", NumberOrNull(c.min)}, {"max", NumberOrNull(c.max)}, {"seeds", c.seeds}});
      }
      series["column"] = req.column;
      series["bins"] = b;
    }
    arr.push_back(series);
  }
  if (req.format == "json") {
    *out = json({{"sweep_id", info.id},
                 {"budget_seconds", info.budget_seconds},
                 {"partial", info.unfinished > 0},
                 {"curves", arr}})
               .dump(2) +
           "\n";
  } else {
    *out = csv.str();
  }
  return Status::OK();
}

}  // namespace

Status RenderTable(Database* db, const TableRequest& request, std::string* out) {
  TableRequest req = request;
  if (!IsOutputFormat(req.format))
    return Status::InvalidArgument("unknown format '" + req.format +
                                   "' (known: table, markdown, csv, json)");
  if (!IsRankingMetric(req.metric))
    return Status::InvalidArgument("unknown metric '" + req.metric + "' (known: " +
                                   RankingMetricList() + ")");
  // Everything the request says is checked before the database is read, so
  // a bad request is refused alike whether or not the sweep has data.
  static const char* const kKinds[] = {"results", "best", "ablation", "epochs", "curves"};
  if (std::find(std::begin(kKinds), std::end(kKinds), req.kind) == std::end(kKinds))
    return Status::InvalidArgument("unknown table '" + req.kind +
                                   "' (known: results, best, ablation, epochs, curves)");
  if (req.kind == "curves") {
    if (req.column != "loss" && req.column != "learning_rate")
      return Status::InvalidArgument("unknown curve column '" + EscapeControl(req.column) +
                                     "' (known: loss, learning_rate)");
    if (req.bins < 1 || req.bins > 100000)
      return Status::InvalidArgument("bins must be in 1..100000, got " + std::to_string(req.bins));
    if (req.format != "csv" && req.format != "json")
      return Status::InvalidArgument("curves are data: use --format csv or json");
  }
  if (req.sweep_id == 0) GS_RETURN_IF_ERROR(LatestSweepId(db, &req.sweep_id));
  SweepInfo info;
  GS_RETURN_IF_ERROR(LoadSweepInfo(db, req.sweep_id, &info));
  if (req.kind == "results") {
    std::vector<RankedConfigRow> rows;
    GS_RETURN_IF_ERROR(QueryRanking(db, info.id, req.metric, &rows));
    *out = FormatRanking(rows, req.format, req.top, req.metric);
    if (req.format == "table" || req.format == "markdown") *out += PartialNote(info);
    return Status::OK();
  }
  if (req.kind == "best") return Best(db, info, req, out);
  if (req.kind == "ablation") return Ablation(db, info, req, out);
  if (req.kind == "epochs") return Epochs(db, info, req, out);
  if (req.kind == "curves") return Curves(db, info, req, out);
  return Status::InvalidArgument("unknown table '" + req.kind +
                                 "' (known: results, best, ablation, epochs, curves)");
}

}  // namespace gridsearch
