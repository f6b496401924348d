#include "common/sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "common/catalog.h"
#include "common/json_fields.h"
#include "common/program_spec.h"
#include "common/text_escape.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

using spec_fields::Invalid;
using spec_fields::TypeName;
using spec_fields::WrongType;

// Every key of `obj` that is not in `allowed` is a problem, with the
// closest allowed name suggested.
void CollectUnknownKeys(const json& obj, const std::string& where,
                        const std::vector<std::string>& allowed, std::vector<Status>* problems) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    std::string field = where.empty() ? it.key() : where + "." + it.key();
    std::string msg = "unknown field";
    std::string near = ClosestName(it.key(), allowed);
    if (!near.empty()) msg += " (did you mean '" + near + "'?)";
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    problems->push_back(Invalid(field, msg + "; allowed: " + list));
  }
}

// The first unknown key of `obj`, as a status.
Status CheckKeys(const json& obj, const std::string& where, const std::vector<std::string>& allowed) {
  std::vector<Status> problems;
  CollectUnknownKeys(obj, where, allowed, &problems);
  return problems.empty() ? Status::OK() : problems.front();
}

Status GetString(const json& obj, const std::string& key, const std::string& field, bool required,
                 std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return Invalid(field, "missing (required)");
    return Status::OK();
  }
  if (!it->is_string()) return WrongType(field, "a string", *it);
  *out = it->get<std::string>();
  if (required && out->empty()) return Invalid(field, "must not be empty");
  if (out->find('\0') != std::string::npos) return Invalid(field, "contains a NUL character");
  if (out->size() > 4096) return Invalid(field, "longer than 4096 characters");
  return Status::OK();
}

// A positive integer that fits in int64; `max` bounds it from above.
Status GetPositiveInt(const json& j, const std::string& field, int64_t max, int64_t* out) {
  if (!j.is_number_integer()) {
    if (j.is_number_float()) {
      double d = j.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) {
        *out = static_cast<int64_t>(d);
      } else {
        return WrongType(field, "an integer", j);
      }
    } else {
      return WrongType(field, "an integer", j);
    }
  } else if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) return Invalid(field, "must be at most " + std::to_string(max));
    *out = static_cast<int64_t>(u);
  } else {
    *out = j.get<int64_t>();
  }
  if (*out <= 0) return Invalid(field, "must be positive, got " + std::to_string(*out));
  if (*out > max) return Invalid(field, "must be at most " + std::to_string(max));
  return Status::OK();
}

std::vector<std::string> Names(const std::vector<OptimizerInfo>& v) {
  std::vector<std::string> n;
  for (const auto& o : v) n.push_back(o.name);
  return n;
}

std::string UnknownName(const std::string& kind, const std::string& name,
                        const std::vector<std::string>& known) {
  std::string msg = "unknown " + kind + " '" + name + "'";
  std::string near = ClosestName(name, known);
  if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return msg + "; known: " + list;
}

Status ParseDataset(const json& j, SweepSpec* spec) {
  if (j.is_string()) {
    spec->dataset.name = j.get<std::string>();
  } else if (j.is_object()) {
    GS_RETURN_IF_ERROR(CheckKeys(j, "dataset", {"name", "path", "train_size", "augment"}));
    GS_RETURN_IF_ERROR(GetString(j, "name", "dataset.name", true, &spec->dataset.name));
    GS_RETURN_IF_ERROR(GetString(j, "path", "dataset.path", false, &spec->dataset.path));
    if (j.contains("train_size")) {
      GS_RETURN_IF_ERROR(GetPositiveInt(j["train_size"], "dataset.train_size", 1LL << 40,
                                        &spec->dataset.train_size));
    }
    if (j.contains("augment")) {
      if (!j["augment"].is_boolean()) return WrongType("dataset.augment", "true or false", j["augment"]);
      spec->dataset.augment = j["augment"].get<bool>();
    }
  } else {
    return WrongType("dataset", "an object or a data set name", j);
  }
  const DatasetInfo* info = FindDataset(spec->dataset.name);
  if (info == nullptr) {
    std::vector<std::string> known;
    for (const auto& d : Datasets()) known.push_back(d.name);
    return Invalid("dataset.name", UnknownName("data set", spec->dataset.name, known));
  }
  if (info->needs_files && info->default_path.empty() && spec->dataset.path.empty())
    return Invalid("dataset.path", "required for " + spec->dataset.name +
                                       " (the folder that holds its files)");
  return Status::OK();
}

Status ParseSeeds(const json& j, SweepSpec* spec) {
  if (!j.is_array()) return WrongType("seeds", "an array of integers", j);
  if (j.empty()) return Invalid("seeds", "must list at least one seed");
  std::set<int64_t> seen;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string field = "seeds[" + std::to_string(i) + "]";
    const json& s = j[i];
    if (!s.is_number_integer()) return WrongType(field, "an integer", s);
    if (s.is_number_unsigned() && s.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return Invalid(field, "too large");
    int64_t v = s.get<int64_t>();
    if (v < 0) return Invalid(field, "must be non-negative, got " + std::to_string(v));
    if (!seen.insert(v).second) return Invalid(field, "duplicate seed " + std::to_string(v));
    spec->seeds.push_back(v);
  }
  return Status::OK();
}

Status ParseValue(const OptimizerInfo& opt, const ParamInfo& p, const ParamAlias* alias,
                  const json& v, const std::string& field, double* out) {
  if (v.is_boolean()) {
    if (!p.boolean) return WrongType(field, "a number", v);
    *out = v.get<bool>() ? 1 : 0;
  } else if (v.is_number()) {
    *out = v.get<double>();
    if (alias != nullptr && alias->reciprocal) {
      // Judge the value as written, not its reciprocal.
      if (!(*out > 0) || !std::isfinite(*out))
        return Invalid(field, "must be a positive number (it sets " + p.name + " = 1/value)");
      *out = 1.0 / *out;
    }
  } else {
    return WrongType(field, p.boolean ? "true or false" : "a number", v);
  }
  Status s = CheckParamValue(opt, p, *out);
  if (!s.ok()) return Invalid(field, s.message().substr(s.message().find(": ") + 2));
  return Status::OK();
}

// Every problem of one optimizer's grid goes to `problems`, one per
// parameter at most.
void ParseGrid(const std::string& name, const json& j, OptimizerGrid* grid,
               std::vector<Status>* problems) {
  const std::string where = "optimizers." + name;
  const OptimizerInfo* opt = FindOptimizer(name);
  if (opt == nullptr) {
    problems->push_back(Invalid(where, UnknownName("optimizer", name, Names(Optimizers()))));
    return;
  }
  if (!j.is_object()) {
    problems->push_back(WrongType(where, "an object of parameter lists", j));
    return;
  }
  grid->optimizer = name;
  std::map<std::string, std::vector<double>> values;
  std::vector<std::string> allowed;
  for (const auto& p : opt->params) allowed.push_back(p.name);
  for (const auto& a : opt->aliases) allowed.push_back(a.alias);
  // One parameter's values; the first problem in them is returned.
  auto parse_param = [&](json::const_iterator it) -> Status {
    const std::string field = where + "." + it.key();
    const ParamInfo* p = opt->FindParam(it.key());
    const ParamAlias* alias = nullptr;
    if (p == nullptr) {
      for (const auto& a : opt->aliases)
        if (a.alias == it.key()) alias = &a;
      if (alias != nullptr) p = opt->FindParam(alias->canonical);
    }
    if (p == nullptr) {
      std::string msg = "unknown parameter of " + name;
      std::string near = ClosestName(it.key(), allowed);
      if (!near.empty()) msg += " (did you mean '" + near + "'?)";
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Invalid(field, msg + "; known: " + list);
    }
    if (values.count(p->name))
      return Invalid(field, "given twice (also as '" + p->name + "' or an alias of it)");
    std::vector<double>& list = values[p->name];
    if (it->is_array()) {
      if (it->empty()) return Invalid(field, "empty list: give at least one value");
      for (size_t i = 0; i < it->size(); ++i) {
        double v;
        GS_RETURN_IF_ERROR(
            ParseValue(*opt, *p, alias, (*it)[i], field + "[" + std::to_string(i) + "]", &v));
        if (std::find(list.begin(), list.end(), v) != list.end())
          return Invalid(field + "[" + std::to_string(i) + "]", "duplicate value");
        list.push_back(v);
      }
    } else {
      double v;
      GS_RETURN_IF_ERROR(ParseValue(*opt, *p, alias, *it, field, &v));
      list.push_back(v);
    }
    return Status::OK();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    Status s = parse_param(it);
    if (!s.ok()) problems->push_back(s);
  }
  for (const auto& p : opt->params) {
    auto it = values.find(p.name);
    if (it != values.end()) grid->axes.emplace_back(p.name, it->second);
  }
  // Nesterov momentum is undefined without momentum: refuse grids that would
  // pair them rather than jobs that fail on every worker.
  auto nesterov = values.find("nesterov");
  if (nesterov != values.end() &&
      std::find(nesterov->second.begin(), nesterov->second.end(), 1.0) != nesterov->second.end()) {
    auto momentum = values.find("momentum");
    bool zero = momentum == values.end() ||
                std::find(momentum->second.begin(), momentum->second.end(), 0.0) !=
                    momentum->second.end();
    if (zero)
      problems->push_back(Invalid(where + ".nesterov",
                                  "nesterov=true needs momentum > 0, but the grid also has momentum 0"));
  }
}

Status ParseAblation(const json& j, const SweepSpec& spec) {
  if (!j.is_object()) return WrongType("ablation", "an object", j);
  GS_RETURN_IF_ERROR(CheckKeys(j, "ablation", {"optimizer", "features"}));
  std::string optimizer;
  GS_RETURN_IF_ERROR(GetString(j, "optimizer", "ablation.optimizer", true, &optimizer));
  const OptimizerGrid* grid = nullptr;
  for (const auto& g : spec.grids)
    if (g.optimizer == optimizer) grid = &g;
  if (grid == nullptr)
    return Invalid("ablation.optimizer", "'" + optimizer + "' is not among the sweep's optimizers");
  auto f = j.find("features");
  if (f == j.end()) return Invalid("ablation.features", "missing (required)");
  if (!f->is_object() || f->empty())
    return Invalid("ablation.features", "expected a non-empty object of parameter: off value");
  for (auto it = f->begin(); it != f->end(); ++it) {
    std::string field = "ablation.features." + it.key();
    bool in_grid = false;
    for (const auto& axis : grid->axes)
      if (axis.first == it.key()) in_grid = true;
    for (const auto& axis : grid->program_axes)
      if (axis.first == it.key()) in_grid = true;
    if (!in_grid) return Invalid(field, "not a parameter of the " + optimizer + " grid");
    if (spec.program.present()) {
      // A program's parameters may also be strings.
      if (!it->is_number() && !it->is_boolean() && !it->is_string())
        return WrongType(field, "a number, a string or a boolean", *it);
    } else if (!it->is_number() && !it->is_boolean()) {
      return WrongType(field, "a number", *it);
    }
  }
  return Status::OK();
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > INT64_MAX / b) return INT64_MAX;
  return a * b;
}

json ParamsObject(const std::string& optimizer, const std::map<std::string, double>& params) {
  const OptimizerInfo* opt = FindOptimizer(optimizer);
  json o = json::object();
  for (const auto& [k, v] : params) {
    const ParamInfo* p = opt ? opt->FindParam(k) : nullptr;
    if (p != nullptr && p->boolean)
      o[k] = v != 0;
    else
      o[k] = v;
  }
  return o;
}

}  // namespace

void CollectSweepSpec(const std::string& text, const SpecLimits& limits, SweepSpec* spec,
                      std::vector<Status>* problems) {
  *spec = SweepSpec();
  // A problem in one field does not stop the checks of the others.
  auto check = [problems](const Status& s) {
    if (!s.ok()) problems->push_back(s);
    return s.ok();
  };
  if (text.size() > limits.max_spec_bytes) {
    check(Status::InvalidArgument("spec is " + std::to_string(text.size()) +
                                  " bytes, more than the limit of " +
                                  std::to_string(limits.max_spec_bytes)));
    return;
  }
  json j;
  Status parsed = ParseJsonNoDuplicateKeys(text, &j);
  if (!parsed.ok()) {
    check(parsed.message().rfind("not valid JSON", 0) == 0
              ? Status::InvalidArgument("spec is " + parsed.message())
              : parsed);
    return;
  }
  if (!j.is_object()) {
    check(Status::InvalidArgument(std::string("spec: expected a JSON object, got ") + TypeName(j)));
    return;
  }
  CollectUnknownKeys(j, "", {"name", "program", "model", "dataset", "batch_size",
                             "budget_seconds", "seeds", "decay_steps", "dropout", "optimizers",
                             "ablation"},
                     problems);
  if (check(GetString(j, "name", "name", true, &spec->name))) {
    // A name is printed on the operator's terminal by status and run.
    const std::string control = FirstControl(spec->name);
    if (!control.empty())
      check(Invalid("name", "contains a control character (" + control +
                                "); a sweep's name is one line of printable text"));
  }
  const bool program = j.contains("program");
  if (program) {
    // The program brings its own model and data: the fields of the built-in
    // networks would be silently ignored, so they are refused.
    for (const char* key : {"model", "dataset", "batch_size", "decay_steps", "dropout"})
      if (j.contains(key))
        check(Invalid(key, "not used by a program sweep (the program chooses its own); pass it "
                           "in program.command or as a parameter of the grid"));
    ParseProgramBlock(j["program"], &spec->program, problems);
  }
  if (program) {
    // Checked above.
  } else if (check(GetString(j, "model", "model", true, &spec->model)) &&
      FindModel(spec->model) == nullptr) {
    std::vector<std::string> known;
    for (const auto& m : Models()) known.push_back(m.name);
    check(Invalid("model", UnknownName("model", spec->model, known)));
  }
  if (program) {
    // No data set and no batch size: the program's own.
  } else if (!j.contains("dataset")) {
    check(Invalid("dataset", "missing (required)"));
  } else {
    check(ParseDataset(j["dataset"], spec));
  }

  if (program) {
  } else if (!j.contains("batch_size")) {
    check(Invalid("batch_size", "missing (required)"));
  } else {
    check(GetPositiveInt(j["batch_size"], "batch_size", 1 << 20, &spec->batch_size));
  }

  if (!j.contains("budget_seconds")) {
    check(Invalid("budget_seconds", "missing (required)"));
  } else if (!j["budget_seconds"].is_number()) {
    check(WrongType("budget_seconds", "a number", j["budget_seconds"]));
  } else {
    spec->budget_seconds = j["budget_seconds"].get<double>();
    if (!std::isfinite(spec->budget_seconds) || spec->budget_seconds <= 0)
      check(Invalid("budget_seconds", "must be a positive number of seconds"));
    else if (spec->budget_seconds > 30 * 24 * 3600.0)
      check(Invalid("budget_seconds", "more than 30 days"));
  }

  if (!j.contains("seeds"))
    check(Invalid("seeds", "missing (required)"));
  else
    check(ParseSeeds(j["seeds"], spec));

  if (j.contains("decay_steps")) {
    const json& d = j["decay_steps"];
    if (d.is_string()) {
      if (d.get<std::string>() != "epoch")
        check(Invalid("decay_steps", "expected \"epoch\" or a positive integer, got \"" +
                                         d.get<std::string>() + "\""));
    } else {
      check(GetPositiveInt(d, "decay_steps", INT64_MAX, &spec->decay_steps));
    }
  }

  if (j.contains("dropout")) {
    const json& d = j["dropout"];
    if (!d.is_number()) {
      check(WrongType("dropout", "a number", d));
    } else {
      spec->dropout = d.get<double>();
      if (!(spec->dropout >= 0 && spec->dropout < 1)) check(Invalid("dropout", "must be in [0, 1)"));
    }
  }

  const size_t before_grids = problems->size();
  if (!j.contains("optimizers")) {
    check(Invalid("optimizers", "missing (required)"));
  } else if (!j["optimizers"].is_object()) {
    check(WrongType("optimizers", "an object of optimizer grids", j["optimizers"]));
  } else if (j["optimizers"].empty()) {
    check(Invalid("optimizers", "must name at least one optimizer"));
  } else {
    const json& opts = j["optimizers"];
    for (auto it = opts.begin(); it != opts.end(); ++it) {  // nlohmann sorts keys
      OptimizerGrid grid;
      const size_t before = problems->size();
      if (program)
        ParseProgramGrid(it.key(), *it, &grid, problems);
      else
        ParseGrid(it.key(), *it, &grid, problems);
      if (problems->size() == before) spec->grids.push_back(std::move(grid));
    }
  }
  // The ablation and the size refer to the grids: checked once they are sound.
  if (problems->size() > before_grids) return;

  if (j.contains("ablation") && check(ParseAblation(j["ablation"], *spec)))
    spec->ablation_json = j["ablation"].dump();

  int64_t jobs = CountJobs(*spec);
  if (jobs > limits.max_jobs)
    check(Status::ResourceExhausted("the grid expands to " +
                                    (jobs == INT64_MAX ? std::string("more than 9e18")
                                                       : std::to_string(jobs)) +
                                    " jobs, more than the limit of " +
                                    std::to_string(limits.max_jobs)));
  if (!problems->empty()) return;

  json canonical = j;
  json grids = json::object();
  if (program) {
    for (const auto& g : spec->grids) grids[g.optimizer] = ProgramGridToJson(g);
    canonical["optimizers"] = grids;
    canonical["program"] = ProgramToJson(spec->program);
    try {
      spec->canonical_json = canonical.dump();
    } catch (const json::exception& e) {
      check(Status::InvalidArgument(std::string("spec: ") + e.what()));
    }
    return;
  }
  for (const auto& g : spec->grids) {
    json axes = json::object();
    const OptimizerInfo* opt = FindOptimizer(g.optimizer);
    for (const auto& [name, values] : g.axes) {
      json list = json::array();
      bool boolean = opt->FindParam(name)->boolean;
      for (double v : values) list.push_back(boolean ? json(v != 0) : json(v));
      axes[name] = list;
    }
    grids[g.optimizer] = axes;
  }
  canonical["optimizers"] = grids;
  canonical["dataset"] = {{"name", spec->dataset.name}};
  if (!spec->dataset.path.empty()) canonical["dataset"]["path"] = spec->dataset.path;
  if (spec->dataset.train_size > 0) canonical["dataset"]["train_size"] = spec->dataset.train_size;
  if (spec->dataset.augment) canonical["dataset"]["augment"] = true;
  if (spec->decay_steps == 0)
    canonical["decay_steps"] = "epoch";
  else
    canonical["decay_steps"] = spec->decay_steps;
  try {
    spec->canonical_json = canonical.dump();
  } catch (const json::exception& e) {
    check(Status::InvalidArgument(std::string("spec: ") + e.what()));
  }
}

Status ParseSweepSpec(const std::string& text, const SpecLimits& limits, SweepSpec* spec) {
  std::vector<Status> problems;
  CollectSweepSpec(text, limits, spec, &problems);
  return problems.empty() ? Status::OK() : problems.front();
}

namespace {

// A program's configurations: the same odometer over its axes of JSON values.
void ExpandProgramGrid(const OptimizerGrid& g, std::vector<GridPoint>* out) {
  const auto& axes = g.program_axes;
  std::vector<size_t> idx(axes.size(), 0);
  while (true) {
    json params = json::object();
    for (size_t a = 0; a < axes.size(); ++a)
      params[axes[a].first] = json::parse(axes[a].second[idx[a]]);
    GridPoint p;
    p.optimizer = g.optimizer;
    for (auto it = params.begin(); it != params.end(); ++it) {
      if (it->is_boolean())
        p.params[it.key()] = it->get<bool>() ? 1 : 0;
      else if (it->is_number())
        p.params[it.key()] = it->get<double>();
    }
    p.params_json = params.dump();
    out->push_back(std::move(p));
    size_t a = axes.size();
    bool wrapped = true;
    while (a > 0) {
      --a;
      if (++idx[a] < axes[a].second.size()) {
        wrapped = false;
        break;
      }
      idx[a] = 0;
    }
    if (wrapped) break;
  }
}

}  // namespace

std::vector<GridPoint> ExpandGrid(const SweepSpec& spec) {
  std::vector<GridPoint> out;
  for (const auto& g : spec.grids) {
    if (spec.program.present()) {
      ExpandProgramGrid(g, &out);
      continue;
    }
    std::vector<size_t> idx(g.axes.size(), 0);
    while (true) {
      GridPoint p;
      p.optimizer = g.optimizer;
      for (size_t a = 0; a < g.axes.size(); ++a) p.params[g.axes[a].first] = g.axes[a].second[idx[a]];
      p.params_json = ParamsToJson(g.optimizer, p.params);
      out.push_back(std::move(p));
      // Odometer increment, last axis fastest.
      size_t a = g.axes.size();
      while (a > 0) {
        --a;
        if (++idx[a] < g.axes[a].second.size()) break;
        idx[a] = 0;
        if (a == 0) { a = SIZE_MAX; break; }
      }
      if (g.axes.empty() || a == SIZE_MAX) break;
    }
  }
  return out;
}

int64_t CountConfigurations(const SweepSpec& spec) {
  int64_t total = 0;
  for (const auto& g : spec.grids) {
    int64_t n = 1;
    for (const auto& axis : g.axes) n = SaturatingMul(n, static_cast<int64_t>(axis.second.size()));
    for (const auto& axis : g.program_axes)
      n = SaturatingMul(n, static_cast<int64_t>(axis.second.size()));
    total = (total > INT64_MAX - n) ? INT64_MAX : total + n;
  }
  return total;
}

int64_t CountJobs(const SweepSpec& spec) {
  return SaturatingMul(CountConfigurations(spec), static_cast<int64_t>(spec.seeds.size()));
}

std::string ParamsToJson(const std::string& optimizer, const std::map<std::string, double>& params) {
  return ParamsObject(optimizer, params).dump();
}

std::map<std::string, double> NumericParams(const std::string& params_json) {
  std::map<std::string, double> out;
  json j = json::parse(params_json, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_boolean())
      out[it.key()] = it->get<bool>() ? 1 : 0;
    else if (it->is_number())
      out[it.key()] = it->get<double>();
  }
  return out;
}

std::string SweepModelLabel(const SweepSpec& spec) {
  return spec.program.present() ? "program" : spec.model;
}

std::string SweepDatasetLabel(const SweepSpec& spec) {
  if (!spec.program.present()) return spec.dataset.name;
  // "python3 train.py": the interpreter and the script, without folders.
  std::string label;
  for (size_t i = 0; i < spec.program.command.size() && i < 2; ++i) {
    std::string word = spec.program.command[i];
    if (i == 1 && !word.empty() && word[0] == '-') break;
    const size_t slash = word.find_last_of('/');
    if (slash != std::string::npos && slash + 1 < word.size()) word = word.substr(slash + 1);
    label += (label.empty() ? "" : " ") + word;
  }
  return label;
}

Status MakeJobSpec(const SweepSpec& spec, const std::string& optimizer,
                   const std::string& params_json, int64_t seed, JobSpec* job) {
  *job = JobSpec();
  job->optimizer = optimizer;
  job->seed = seed;
  job->budget_seconds = spec.budget_seconds;
  job->params_json = params_json;
  if (spec.program.present()) {
    job->program = spec.program;
    return Status::OK();
  }
  GS_RETURN_IF_ERROR(ResolveParams(optimizer, NumericParams(params_json), &job->params));
  job->model = spec.model;
  job->dataset = spec.dataset;
  job->batch_size = spec.batch_size;
  job->decay_steps = spec.decay_steps;
  job->dropout = spec.dropout;
  return Status::OK();
}

}  // namespace gridsearch
