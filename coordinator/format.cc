#include "coordinator/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/text_escape.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

json NumberOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string Num(double v, int precision = 4) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
  return buf;
}

// {"lr":0.1,"momentum":0.9} -> "lr=0.1 momentum=0.9"
std::string ParamsText(const std::string& params_json) {
  json p = json::parse(params_json, nullptr, false);
  if (!p.is_object()) return params_json;
  std::string out;
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (!out.empty()) out += " ";
    out += it.key() + "=";
    if (it->is_number())
      out += Num(it->get<double>(), 6);
    else
      out += it->dump();
  }
  return out;
}

std::string CsvField(const std::string& raw) {
  // No control character reaches the file (nor the terminal that shows it).
  const std::string s = EscapeControl(raw);
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Notes(const RankedConfigRow& r) {
  std::vector<std::string> notes;
  if (r.diverged > 0) notes.push_back("diverged " + std::to_string(r.diverged));
  if (r.failed > 0) notes.push_back("failed " + std::to_string(r.failed));
  if (r.incomplete) notes.push_back("incomplete");
  std::string out;
  for (const auto& n : notes) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A cell as the table prints it: control characters written out, and in
// markdown a '|' that would end the cell escaped.
std::string Cell(const std::string& text, bool markdown) {
  std::string s = EscapeControl(text);
  if (!markdown || s.find('|') == std::string::npos) return s;
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string RenderTable(const std::vector<std::vector<std::string>>& raw_rows, bool markdown) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw_rows.size());
  for (const auto& r : raw_rows) {
    std::vector<std::string> cells;
    for (const auto& c : r) cells.push_back(Cell(c, markdown));
    rows.push_back(std::move(cells));
  }
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::ostringstream os;
  for (size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    if (markdown) os << "| ";
    for (size_t i = 0; i < r.size(); ++i) {
      os << r[i] << std::string(width[i] - r[i].size(), ' ');
      if (i + 1 < r.size()) os << (markdown ? " | " : "  ");
    }
    if (markdown) os << " |";
    os << "\n";
    if (k == 0) {
      if (markdown) {
        os << "|";
        for (size_t i = 0; i < r.size(); ++i) os << std::string(width[i] + 2, '-') << "|";
      } else {
        size_t total = 0;
        for (size_t i = 0; i < width.size(); ++i) total += width[i] + (i + 1 < width.size() ? 2 : 0);
        os << std::string(total, '-');
      }
      os << "\n";
    }
  }
  return os.str();
}

}  // namespace

std::string FormatNumber(double v, int precision) { return Num(v, precision); }
std::string FormatParams(const std::string& params_json) { return ParamsText(params_json); }
std::string FormatCsvField(const std::string& s) { return CsvField(s); }
std::string RenderTextTable(const std::vector<std::vector<std::string>>& rows, bool markdown) {
  return RenderTable(rows, markdown);
}

bool IsOutputFormat(const std::string& f) {
  return f == "table" || f == "csv" || f == "json" || f == "markdown";
}

std::string FormatRanking(const std::vector<RankedConfigRow>& all, const std::string& format,
                          size_t top, const std::string& metric) {
  std::vector<RankedConfigRow> rows = all;
  if (top > 0 && rows.size() > top) rows.resize(top);
  if (format == "json") {
    json arr = json::array();
    for (const auto& r : rows) {
      json params = json::parse(r.params_json, nullptr, false);
      if (params.is_discarded()) params = json::object();
      arr.push_back({{"rank", r.rank == 0 ? json(nullptr) : json(r.rank)},
                     {"config_id", r.config_id},
                     {"optimizer", r.optimizer},
                     {"params", params},
                     {"mean_final_train_loss", NumberOrNull(r.mean_final_train_loss)},
                     {"mean_log_loss_integral", NumberOrNull(r.mean_log_loss_integral)},
                     {"mean_test_accuracy", NumberOrNull(r.mean_test_accuracy)},
                     {"mean_epochs", NumberOrNull(r.mean_epochs)},
                     {"seeds_done", r.seeds_done},
                     {"seeds_total", r.seeds_total},
                     {"diverged", r.diverged},
                     {"failed", r.failed},
                     {"incomplete", r.incomplete}});
    }
    return arr.dump(2) + "\n";
  }
  if (format == "csv") {
    std::ostringstream os;
    os << "rank,optimizer,params,mean_final_train_loss,mean_log_loss_integral,"
          "mean_test_accuracy,mean_epochs,seeds_done,seeds_total,diverged,failed,incomplete\n";
    auto csv_num = [](double v) { return std::isfinite(v) ? Num(v, 10) : std::string(); };
    for (const auto& r : rows) {
      os << (r.rank == 0 ? std::string() : std::to_string(r.rank)) << "," << r.optimizer << ","
         << CsvField(r.params_json) << "," << csv_num(r.mean_final_train_loss) << ","
         << csv_num(r.mean_log_loss_integral) << "," << csv_num(r.mean_test_accuracy) << ","
         << csv_num(r.mean_epochs) << "," << r.seeds_done << "," << r.seeds_total << ","
         << r.diverged << "," << r.failed << "," << (r.incomplete ? "true" : "false") << "\n";
    }
    return os.str();
  }
  bool markdown = format == "markdown";
  std::vector<std::vector<std::string>> table;
  table.push_back({"rank", "optimizer", "parameters", "final train loss", "log-loss integral",
                   "test acc", "seeds", "notes"});
  for (const auto& r : rows) {
    table.push_back({r.rank == 0 ? "-" : std::to_string(r.rank), r.optimizer,
                     ParamsText(r.params_json), Num(r.mean_final_train_loss),
                     Num(r.mean_log_loss_integral), Num(r.mean_test_accuracy, 3),
                     std::to_string(r.seeds_done) + "/" + std::to_string(r.seeds_total), Notes(r)});
  }
  std::string out = RenderTable(table, markdown);
  if (top > 0 && all.size() > top)
    out += "(" + std::to_string(all.size() - top) + " more configurations; --top 0 shows all)\n";
  out += "ranked by mean " + metric + " over seeds; diverged configurations rank last\n";
  return out;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%lds", s);
  return buf;
}

json JsonNumberOrNull(double v) { return NumberOrNull(v); }

json SweepSummaryJson(const SweepSummary& s) {
  return {{"sweep_id", s.id},
          {"name", s.name},
          {"state", s.state},
          {"model", s.model},
          {"dataset", s.dataset},
          {"total", s.total},
          {"queued", s.queued},
          {"running", s.leased},
          {"done", s.done},
          {"failed", s.failed},
          {"diverged", s.diverged},
          {"cancelled", s.cancelled},
          {"jobs_per_minute", s.jobs_per_minute},
          {"eta_seconds", s.eta_seconds < 0 ? json(nullptr) : json(s.eta_seconds)},
          {"active_workers", s.active_workers},
          {"budget_seconds", s.budget_seconds},
          {"created_at", s.created_at}};
}

std::string FormatSweepSummary(const SweepSummary& s, const std::string& format) {
  if (format == "json") return SweepSummaryJson(s).dump(2) + "\n";
  std::ostringstream os;
  int64_t finished = s.done + s.failed + s.diverged + s.cancelled;
  os << "sweep " << s.id << " \"" << EscapeControl(s.name) << "\": " << s.state << ", "
     << EscapeControl(s.model) << " on " << EscapeControl(s.dataset) << ", budget " << FormatDuration(s.budget_seconds) << " per job\n";
  os << "  jobs: " << finished << "/" << s.total << " finished (done " << s.done << ", diverged "
     << s.diverged << ", failed " << s.failed << ", cancelled " << s.cancelled << "), running "
     << s.leased << ", queued " << s.queued << "\n";
  char rate[64];
  std::snprintf(rate, sizeof(rate), "%.1f", s.jobs_per_minute);
  os << "  throughput: " << rate << " jobs/min on " << s.active_workers << " active worker(s)";
  if (s.state == "running")
    os << ", ETA " << (s.eta_seconds < 0 ? std::string("unknown") : FormatDuration(s.eta_seconds));
  os << "\n";
  return os.str();
}

std::string FormatSweepList(const std::vector<SweepSummary>& sweeps, const std::string& format) {
  if (format == "json") {
    json arr = json::array();
    for (const auto& s : sweeps) arr.push_back(SweepSummaryJson(s));
    return arr.dump(2) + "\n";
  }
  if (sweeps.empty()) return "no sweeps\n";
  std::vector<std::vector<std::string>> table;
  table.push_back({"id", "name", "state", "done", "diverged", "failed", "running", "queued",
                   "total", "ETA"});
  for (const auto& s : sweeps) {
    table.push_back({std::to_string(s.id), s.name, s.state, std::to_string(s.done),
                     std::to_string(s.diverged), std::to_string(s.failed),
                     std::to_string(s.leased), std::to_string(s.queued), std::to_string(s.total),
                     s.state == "running" ? FormatDuration(s.eta_seconds) : "-"});
  }
  return RenderTable(table, format == "markdown");
}

}  // namespace gridsearch
