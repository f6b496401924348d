#include "common/program_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/catalog.h"
#include "common/json_fields.h"
#include "common/text_escape.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using spec_fields::Invalid;
using spec_fields::WrongType;

// Optimizer and parameter names: what a command line or a column header can
// carry unquoted.
bool IsPlainName(const std::string& s) {
  if (s.empty() || s.size() > ProgramLimits::kMaxNameChars) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

bool IsEnvName(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// A string that becomes an argument, a path or an environment value: NUL
// cannot reach the program, and a megabyte of it is a mistake.
Status CheckText(const json& v, const std::string& field, bool allow_empty, std::string* out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  *out = v.get<std::string>();
  if (!allow_empty && out->empty()) return Invalid(field, "must not be empty");
  if (out->find('\0') != std::string::npos) return Invalid(field, "contains a NUL character");
  if (out->size() > 4096) return Invalid(field, "longer than 4096 characters");
  return Status::OK();
}

Status ParseTimeout(const json& v, const std::string& field, double* out) {
  if (!v.is_number()) return WrongType(field, "a number of seconds", v);
  *out = v.get<double>();
  if (!std::isfinite(*out) || *out <= 0) return Invalid(field, "must be a positive number of seconds");
  if (*out > ProgramLimits::kMaxTimeoutSeconds) return Invalid(field, "more than 30 days");
  return Status::OK();
}

// One value of a program's parameter: a number, a string or a boolean.
Status CheckValue(const json& v, const std::string& field) {
  if (v.is_number() || v.is_boolean()) return Status::OK();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.size() > ProgramLimits::kMaxStringValueChars)
      return Invalid(field, "longer than " + std::to_string(ProgramLimits::kMaxStringValueChars) +
                                " characters");
    const std::string control = FirstControl(s);
    if (!control.empty()) return Invalid(field, "contains a control character (" + control + ")");
    return Status::OK();
  }
  return WrongType(field, "a number, a string or a boolean", v);
}

}  // namespace

void ParseProgramBlock(const json& j, ProgramSpec* out, std::vector<Status>* problems) {
  *out = ProgramSpec();
  auto check = [problems](const Status& s) {
    if (!s.ok()) problems->push_back(s);
    return s.ok();
  };
  if (!j.is_object()) {
    check(WrongType("program", "an object with a command", j));
    return;
  }
  static const std::vector<std::string> kKeys = {"command", "workdir", "env",
                                                 "setup_timeout_seconds", "eval_timeout_seconds"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(kKeys.begin(), kKeys.end(), it.key()) != kKeys.end()) continue;
    std::string near = ClosestName(it.key(), kKeys);
    check(Invalid("program." + it.key(),
                  "unknown field" + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                      "; allowed: command, workdir, env, setup_timeout_seconds, "
                      "eval_timeout_seconds"));
  }
  auto command = j.find("command");
  if (command == j.end()) {
    check(Invalid("program.command", "missing (required): the program and its arguments, e.g. "
                                     "[\"python3\", \"train.py\"]"));
  } else if (!command->is_array()) {
    check(WrongType("program.command", "an array of strings", *command));
  } else if (command->empty()) {
    check(Invalid("program.command", "must name the program to run"));
  } else if (command->size() > ProgramLimits::kMaxCommandWords) {
    check(Invalid("program.command", "more than " +
                                         std::to_string(ProgramLimits::kMaxCommandWords) + " words"));
  } else {
    for (size_t i = 0; i < command->size(); ++i) {
      std::string word;
      // Only the program's name must be non-empty; an argument may be "".
      if (check(CheckText((*command)[i], "program.command[" + std::to_string(i) + "]", i > 0, &word)))
        out->command.push_back(word);
    }
    if (out->command.size() != command->size()) out->command.clear();
  }
  if (j.contains("workdir")) check(CheckText(j["workdir"], "program.workdir", false, &out->workdir));
  if (j.contains("env")) {
    const json& env = j["env"];
    if (!env.is_object()) {
      check(WrongType("program.env", "an object of NAME: value strings", env));
    } else if (env.size() > ProgramLimits::kMaxEnv) {
      check(Invalid("program.env", "more than " + std::to_string(ProgramLimits::kMaxEnv) +
                                       " variables"));
    } else {
      for (auto it = env.begin(); it != env.end(); ++it) {
        const std::string field = "program.env." + it.key();
        if (!IsEnvName(it.key())) {
          check(Invalid(field, "not a variable name (letters, digits and _, not starting with a "
                               "digit)"));
          continue;
        }
        if (it.key().rfind("GRIDSEARCH_", 0) == 0 || it.key() == "CUDA_VISIBLE_DEVICES") {
          check(Invalid(field, "set by the worker for each job; it cannot be given here"));
          continue;
        }
        std::string value;
        if (check(CheckText(*it, field, true, &value))) out->env[it.key()] = value;
      }
    }
  }
  if (j.contains("setup_timeout_seconds"))
    check(ParseTimeout(j["setup_timeout_seconds"], "program.setup_timeout_seconds",
                       &out->setup_timeout_seconds));
  if (j.contains("eval_timeout_seconds"))
    check(ParseTimeout(j["eval_timeout_seconds"], "program.eval_timeout_seconds",
                       &out->eval_timeout_seconds));
}

void ParseProgramGrid(const std::string& name, const json& j, OptimizerGrid* grid,
                      std::vector<Status>* problems) {
  const std::string where = "optimizers." + name;
  if (!IsPlainName(name)) {
    problems->push_back(Invalid(where, "an optimizer's name is 1 to " +
                                           std::to_string(ProgramLimits::kMaxNameChars) +
                                           " letters, digits, '_', '-' or '.'"));
    return;
  }
  if (!j.is_object()) {
    problems->push_back(WrongType(where, "an object of parameter lists", j));
    return;
  }
  if (j.size() > ProgramLimits::kMaxParams) {
    problems->push_back(Invalid(where, "more than " + std::to_string(ProgramLimits::kMaxParams) +
                                           " parameters"));
    return;
  }
  grid->optimizer = name;
  for (auto it = j.begin(); it != j.end(); ++it) {  // sorted by name
    const std::string field = where + "." + it.key();
    if (!IsPlainName(it.key())) {
      problems->push_back(Invalid(field, "a parameter's name is 1 to " +
                                             std::to_string(ProgramLimits::kMaxNameChars) +
                                             " letters, digits, '_', '-' or '.'"));
      continue;
    }
    std::vector<json> values;
    Status bad;
    if (it->is_array()) {
      if (it->empty()) bad = Invalid(field, "empty list: give at least one value");
      if (it->size() > ProgramLimits::kMaxValuesPerParam)
        bad = Invalid(field, "more than " + std::to_string(ProgramLimits::kMaxValuesPerParam) +
                                 " values");
      for (size_t i = 0; bad.ok() && i < it->size(); ++i) {
        const std::string item = field + "[" + std::to_string(i) + "]";
        const json& v = (*it)[i];
        bad = CheckValue(v, item);
        if (bad.ok() && std::find(values.begin(), values.end(), v) != values.end())
          bad = Invalid(item, "duplicate value");
        values.push_back(v);
      }
    } else {
      bad = CheckValue(*it, field);
      values.push_back(*it);
    }
    if (!bad.ok()) {
      problems->push_back(bad);
      continue;
    }
    std::vector<std::string> texts;
    for (const auto& v : values) texts.push_back(v.dump());
    grid->program_axes.emplace_back(it.key(), std::move(texts));
  }
}

json ProgramToJson(const ProgramSpec& program) {
  json o = {{"command", program.command},
            {"setup_timeout_seconds", program.setup_timeout_seconds},
            {"eval_timeout_seconds", program.eval_timeout_seconds}};
  if (!program.workdir.empty()) o["workdir"] = program.workdir;
  if (!program.env.empty()) o["env"] = program.env;
  return o;
}

json ProgramGridToJson(const OptimizerGrid& grid) {
  json axes = json::object();
  for (const auto& [name, values] : grid.program_axes) {
    json list = json::array();
    for (const auto& v : values) list.push_back(json::parse(v));
    axes[name] = list;
  }
  return axes;
}

}  // namespace gridsearch
