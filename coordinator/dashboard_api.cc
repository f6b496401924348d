#include "coordinator/dashboard_api.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/text_escape.h"
#include "coordinator/analysis.h"
#include "coordinator/database.h"
#include "coordinator/format.h"
#include "coordinator/job_list.h"
#include "coordinator/job_store.h"
#include "coordinator/tables.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

constexpr int64_t kDefaultJobPage = 100;
constexpr int64_t kMaxJobPage = 1000;
// Curves are for a chart: more bins than this add nothing on a screen.
constexpr int64_t kMaxCurveBins = 5000;
// Table bodies kept for answering unchanged tables again (a page polls them).
constexpr size_t kMaxCachedTables = 64;

// JSON text; bytes of stored text that are not UTF-8 are replaced, not
// thrown about.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json ParseOr(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// Refuses parameters the endpoint does not know, so that a typo
// ("metrc=...") is not silently ignored.
Status CheckParams(const QueryParams& query, std::initializer_list<const char*> known) {
  for (const auto& kv : query) {
    bool ok = false;
    std::string list;
    for (const char* k : known) {
      ok = ok || kv.first == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!ok)
      return Status::InvalidArgument("unknown query parameter '" + EscapeControl(kv.first) +
                                     "'" + (list.empty() ? " (this endpoint takes none)"
                                                         : " (known: " + list + ")"));
  }
  return Status::OK();
}

// The last value given for `name`, or `fallback`.
std::string Param(const QueryParams& query, const char* name, const std::string& fallback) {
  std::string value = fallback;
  auto range = query.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) value = it->second;
  return value;
}

// An integer written in digits alone (no sign, no spaces) within [min, max].
Status ParseInt(const std::string& name, const std::string& text, int64_t min, int64_t max,
                int64_t* out) {
  errno = 0;
  const bool digits =
      !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
  long long v = digits ? std::strtoll(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno != 0 || v < min || v > max)
    return Status::InvalidArgument(name + " must be an integer in " + std::to_string(min) + ".." +
                                   std::to_string(max) + ", got '" + EscapeControl(text) + "'");
  *out = v;
  return Status::OK();
}

json JobJson(const JobListRow& r) {
  return {{"job_id", r.job_id},
          {"sweep_id", r.sweep_id},
          {"config_id", r.config_id},
          {"optimizer", r.optimizer},
          {"params", ParseOr(r.params_json, json::object())},
          {"seed", r.seed},
          {"state", r.state},
          {"attempts", r.attempts},
          {"worker_id", r.worker_id.empty() ? json(nullptr) : json(r.worker_id)},
          {"device", r.device.empty() ? json(nullptr) : json(r.device)},
          {"error", r.error.empty() ? json(nullptr) : json(r.error)},
          {"final_train_loss", JsonNumberOrNull(r.final_train_loss)},
          {"steps", r.steps < 0 ? json(nullptr) : json(r.steps)},
          {"train_seconds", JsonNumberOrNull(r.train_seconds)}};
}

// Jobs per state of the sweep, as text: it changes whenever a job's state
// does. (Kept per sweep by triggers: a few rows whatever the sweep's size.)
Status SweepStamp(Database* db, int64_t sweep_id, std::string* stamp) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT state, jobs FROM sweep_job_counts WHERE sweep_id = ?1 ORDER BY state", &st));
  st.Bind(1, sweep_id);
  stamp->clear();
  bool row = false;
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    *stamp += st.Text(0) + "=" + std::to_string(st.Int(1)) + ";";
  }
  return Status::OK();
}

Status StoredSpec(Database* db, int64_t sweep_id, std::string* spec_json) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT spec_json FROM sweeps WHERE id = ?1", &st));
  st.Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
  *spec_json = st.Text(0);
  return Status::OK();
}

}  // namespace

Status DashboardApi::Read(const std::function<Status(Database*)>& fn) {
  {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return readers_ < max_readers_; });
    ++readers_;
  }
  Status s;
  try {
    s = store_->Read(fn);
  } catch (const std::exception& e) {
    s = Status::Internal(std::string("reading the store: ") + e.what());
  }
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    --readers_;
  }
  readers_cv_.notify_one();
  return s;
}

Status DashboardApi::Sweeps(const QueryParams& query, std::string* body) {
  GS_RETURN_IF_ERROR(CheckParams(query, {}));
  const double now = store_->Now();
  return Read([&](Database* db) -> Status {
    std::vector<SweepSummary> sweeps;
    GS_RETURN_IF_ERROR(LoadSweepSummaries(db, now, &sweeps));
    json arr = json::array();
    for (auto it = sweeps.rbegin(); it != sweeps.rend(); ++it) arr.push_back(SweepSummaryJson(*it));
    *body = Dump(json{{"now", now}, {"sweeps", arr}});
    return Status::OK();
  });
}

Status DashboardApi::Sweep(int64_t sweep_id, const QueryParams& query, std::string* body) {
  GS_RETURN_IF_ERROR(CheckParams(query, {}));
  const double now = store_->Now();
  return Read([&](Database* db) -> Status {
    SweepSummary summary;
    GS_RETURN_IF_ERROR(LoadSweepSummary(db, sweep_id, now, &summary));
    SweepInfo info;
    GS_RETURN_IF_ERROR(LoadSweepInfo(db, sweep_id, &info));
    std::string spec_text;
    GS_RETURN_IF_ERROR(StoredSpec(db, sweep_id, &spec_text));
    json spec = ParseOr(spec_text, json::object());

    Statement configs;
    GS_RETURN_IF_ERROR(db->Prepare(
        "SELECT optimizer, COUNT(*) FROM configs WHERE sweep_id = ?1 GROUP BY optimizer "
        "ORDER BY optimizer",
        &configs));
    configs.Bind(1, sweep_id);
    json optimizers = json::array();
    int64_t configurations = 0;
    bool row = false;
    while (true) {
      GS_RETURN_IF_ERROR(configs.Step(&row));
      if (!row) break;
      optimizers.push_back(configs.Text(0));
      configurations += configs.Int(1);
    }
    json ablation = nullptr;
    if (info.ablation.present()) {
      json features = json::object();
      for (const auto& f : info.ablation.features) features[f.first] = ParseOr(f.second, f.second);
      ablation = {{"optimizer", info.ablation.optimizer}, {"features", features}};
    }
    *body = Dump(json{{"summary", SweepSummaryJson(summary)},
                  {"spec", spec},
                  {"seeds", spec.value("seeds", json::array())},
                  {"configurations", configurations},
                  {"optimizers", optimizers},
                  {"ablation", ablation},
                  {"program", spec.contains("program") ? spec["program"] : json(nullptr)},
                  {"partial", info.unfinished > 0}});
    return Status::OK();
  });
}

Status DashboardApi::Spec(int64_t sweep_id, const QueryParams& query, std::string* body) {
  GS_RETURN_IF_ERROR(CheckParams(query, {"download"}));
  return Read([&](Database* db) -> Status {
    std::string text;
    GS_RETURN_IF_ERROR(StoredSpec(db, sweep_id, &text));
    json spec = json::parse(text, nullptr, false);
    *body = spec.is_discarded() ? ToValidUtf8(text)
                                : spec.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    return Status::OK();
  });
}

Status DashboardApi::Table(int64_t sweep_id, const std::string& kind, const QueryParams& query,
                           std::string* body) {
  TableRequest req;
  req.kind = kind;
  req.sweep_id = sweep_id;
  req.format = "json";
  req.top = 0;
  if (kind == "results" || kind == "epochs") {
    GS_RETURN_IF_ERROR(CheckParams(query, {"metric"}));
  } else if (kind == "best") {
    GS_RETURN_IF_ERROR(CheckParams(query, {"metric", "split"}));
    // As `results --best-per-optimizer --split`: every feature by default,
    // "none" for one row per optimizer.
    req.split = Param(query, "split", "all");
    if (req.split == "none") req.split.clear();
  } else if (kind == "ablation") {
    GS_RETURN_IF_ERROR(CheckParams(query, {}));
  } else if (kind == "curves") {
    GS_RETURN_IF_ERROR(CheckParams(query, {"metric", "config", "bins", "column"}));
    int64_t bins = 100;
    GS_RETURN_IF_ERROR(ParseInt("bins", Param(query, "bins", "100"), 1, kMaxCurveBins, &bins));
    req.bins = static_cast<int>(bins);
    req.column = Param(query, "column", "loss");
    auto range = query.equal_range("config");
    for (auto it = range.first; it != range.second; ++it) {
      size_t start = 0;
      const std::string& list = it->second;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        int64_t id = 0;
        GS_RETURN_IF_ERROR(ParseInt("config", list.substr(start, comma - start), 1, INT64_MAX, &id));
        req.config_ids.push_back(id);
        start = comma + 1;
      }
    }
    if (req.config_ids.size() > 100)
      return Status::InvalidArgument("at most 100 configurations per curves request, got " +
                                     std::to_string(req.config_ids.size()));
  } else {
    return Status::NotFound("no table '" + EscapeControl(kind) +
                            "' (known: results, best, ablation, epochs, curves)");
  }
  req.metric = Param(query, "metric", req.metric);
  return Read([&](Database* db) -> Status {
    SweepInfo info;
    GS_RETURN_IF_ERROR(LoadSweepInfo(db, sweep_id, &info));
    if (kind == "ablation" && !info.ablation.present())
      return Status::NotFound("sweep " + std::to_string(sweep_id) +
                              " has no ablation block in its spec");
    if (kind == "best" && !req.split.empty() && req.split != "all") {
      // Each feature named must be one of the spec's ablation features.
      size_t start = 0;
      while (start <= req.split.size()) {
        size_t comma = req.split.find(',', start);
        if (comma == std::string::npos) comma = req.split.size();
        const std::string name = req.split.substr(start, comma - start);
        bool known = false;
        std::string list;
        for (const auto& f : info.ablation.features) {
          known = known || f.first == name;
          list += (list.empty() ? "" : ", ") + f.first;
        }
        if (!known)
          return Status::InvalidArgument(
              "split: '" + EscapeControl(name) + "' is not an ablation feature of sweep " +
              std::to_string(sweep_id) + " (known: " + (list.empty() ? "none" : list) +
              "; or all, none)");
        start = comma + 1;
      }
    }
    // A table changes only when a job of the sweep changes state (a result
    // is stored with its job's state): the counts per state stamp it.
    std::string stamp, key;
    GS_RETURN_IF_ERROR(SweepStamp(db, sweep_id, &stamp));
    key = kind + "/" + std::to_string(sweep_id) + "?" + req.metric + "&" + req.split + "&" +
          std::to_string(req.bins) + "&" + req.column;
    for (int64_t id : req.config_ids) key += "," + std::to_string(id);
    if (FindCached(key, stamp, body)) return Status::OK();
    std::string text;
    GS_RETURN_IF_ERROR(RenderTable(db, req, &text));
    json table = json::parse(text, nullptr, false);
    if (table.is_discarded()) return Status::Internal("table " + kind + " is not valid JSON");
    if (table.is_array())   // results and best are bare arrays in the CLI's form
      table = {{"sweep_id", info.id}, {"partial", info.unfinished > 0}, {"rows", table}};
    if (kind != "ablation") table["metric"] = req.metric;
    *body = Dump(table);
    Remember(key, stamp, *body);
    return Status::OK();
  });
}

bool DashboardApi::FindCached(const std::string& key, const std::string& stamp, std::string* body) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end() || it->second.stamp != stamp) return false;
  *body = it->second.body;
  return true;
}

void DashboardApi::Remember(const std::string& key, const std::string& stamp,
                            const std::string& body) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= kMaxCachedTables && cache_.find(key) == cache_.end())
    cache_.erase(cache_.begin());
  cache_[key] = {stamp, body};
}

Status DashboardApi::Jobs(int64_t sweep_id, const QueryParams& query, std::string* body) {
  GS_RETURN_IF_ERROR(CheckParams(query, {"state", "limit", "offset"}));
  std::string state = Param(query, "state", "");
  if (state == "all") state.clear();
  if (!state.empty() && !IsJobState(state))
    return Status::InvalidArgument("unknown job state '" + EscapeControl(state) +
                                   "' (known: queued, leased, done, failed, diverged, cancelled)");
  int64_t limit = kDefaultJobPage, offset = 0;
  GS_RETURN_IF_ERROR(ParseInt("limit", Param(query, "limit", std::to_string(kDefaultJobPage)), 1,
                              kMaxJobPage, &limit));
  GS_RETURN_IF_ERROR(ParseInt("offset", Param(query, "offset", "0"), 0, INT64_MAX / 2, &offset));
  return Read([&](Database* db) -> Status {
    std::vector<JobListRow> rows;
    int64_t total = 0;
    GS_RETURN_IF_ERROR(QueryJobList(db, sweep_id, state, limit, offset, &rows, &total));
    json arr = json::array();
    for (const auto& r : rows) arr.push_back(JobJson(r));
    *body = Dump(json{{"sweep_id", sweep_id}, {"total", total}, {"offset", offset}, {"rows", arr}});
    return Status::OK();
  });
}

Status DashboardApi::Job(int64_t job_id, const QueryParams& query, std::string* body) {
  GS_RETURN_IF_ERROR(CheckParams(query, {}));
  return Read([&](Database* db) -> Status {
    JobListRow row;
    GS_RETURN_IF_ERROR(QueryJobListRow(db, job_id, &row));
    *body = Dump(JobJson(row));
    return Status::OK();
  });
}

Status DashboardApi::Cancel(int64_t sweep_id, std::string* body) {
  int64_t cancelled = 0;
  GS_RETURN_IF_ERROR(store_->CancelSweep(sweep_id, &cancelled));
  *body = Dump(json{{"sweep_id", sweep_id}, {"cancelled", cancelled}});
  return Status::OK();
}

Status DashboardApi::Retry(int64_t sweep_id, std::string* body) {
  int64_t requeued = 0;
  GS_RETURN_IF_ERROR(store_->RetrySweep(sweep_id, &requeued));
  *body = Dump(json{{"sweep_id", sweep_id}, {"requeued", requeued}});
  return Status::OK();
}

}  // namespace gridsearch
