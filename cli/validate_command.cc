// `gridsearch validate SPEC`: every problem of a spec, or its expansion and
// an estimate of the compute it needs, with the setup and evaluation cost of
// one job measured on this machine.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/sweep_spec.h"
#include "coordinator/format.h"
#include "worker/devices.h"
#include "worker/trainer.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

struct Overhead {
  bool measured = false;
  std::string error;            // why it could not be measured
  std::string device;
  double data_seconds = 0;      // loading the data set, once per worker process
  double setup_seconds = 0;     // model and optimizer, every job
  double eval_seconds = 0;      // final metrics, every job
};

// One job of the spec's first configuration with no training time, twice:
// the first run loads the data set, the second finds it cached, as every
// later job of a worker does.
Overhead Measure(const SweepSpec& spec, const std::string& device) {
  Overhead o;
  o.device = device;
  const GridPoint point = ExpandGrid(spec).at(0);
  JobSpec job;
  Status s = MakeJobSpec(spec, point.optimizer, point.params_json, spec.seeds.at(0), &job);
  job.budget_seconds = 0;
  TrainerOptions options;
  options.device = device;
  Trainer trainer(options);
  JobResult cold, warm;
  if (s.ok()) s = trainer.Run(job, nullptr, &cold);
  if (s.ok()) s = trainer.Run(job, nullptr, &warm);
  if (!s.ok()) {
    o.error = s.ToString();
    return o;
  }
  o.measured = true;
  o.device = trainer.DeviceName();
  o.setup_seconds = warm.setup_seconds;
  o.data_seconds = std::max(0.0, cold.setup_seconds - warm.setup_seconds);
  o.eval_seconds = warm.eval_seconds;
  return o;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), s < 10 ? "%.2f s" : "%.0f s", s);
  return buf;
}

// What this machine says of a program's command and folder: the workers
// may be other machines, so it is a note, not a problem.
std::string ProgramNote(const ProgramSpec& program) {
  const std::string& exe = program.command[0];
  std::vector<std::string> notes;
  if (!program.workdir.empty() && access(program.workdir.c_str(), X_OK) != 0)
    notes.push_back("program.workdir '" + program.workdir + "' is not a folder here");
  bool found = false;
  if (exe.find('/') != std::string::npos) {
    const std::string path =
        exe[0] == '/' || program.workdir.empty() ? exe : program.workdir + "/" + exe;
    found = access(path.c_str(), X_OK) == 0;
  } else if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream dirs(path);
    for (std::string dir; !found && std::getline(dirs, dir, ':');)
      found = !dir.empty() && access((dir + "/" + exe).c_str(), X_OK) == 0;
  }
  if (!found) notes.push_back("'" + exe + "' is not an executable on this machine's PATH");
  std::string out;
  for (const auto& n : notes) out += (out.empty() ? "" : "; ") + n;
  if (!out.empty()) out += " (the workers' machines may differ)";
  return out;
}

}  // namespace

int RunValidateCommand(const ValidateFlags& f) {
  std::string text, error;
  if (!ReadTextFile(f.spec_path, &text, &error)) {
    std::fprintf(stderr, "gridsearch: %s\n", error.c_str());
    return kExitBadInput;
  }
  SweepSpec spec;
  std::vector<Status> problems;
  CollectSweepSpec(text, SpecLimits(), &spec, &problems);
  const bool as_json = f.format == "json";
  if (!problems.empty()) {
    if (as_json) {
      json list = json::array();
      for (const Status& p : problems) list.push_back(p.message());
      std::printf("%s\n", json({{"valid", false}, {"problems", list}}).dump(2).c_str());
    } else {
      std::printf("%s: %zu problem(s)\n", f.spec_path.c_str(), problems.size());
      for (const Status& p : problems) std::printf("  %s\n", p.message().c_str());
    }
    return kExitBadInput;
  }

  std::map<std::string, int64_t> per_optimizer;
  for (const GridPoint& p : ExpandGrid(spec)) ++per_optimizer[p.optimizer];
  const int64_t configs = CountConfigurations(spec);
  const int64_t jobs = CountJobs(spec);

  Overhead overhead;
  // A program's setup is its own: there is nothing to measure here.
  if (f.measure && !spec.program.present()) {
    std::string device;
    Status s = CanonicalDevice(f.device, &device);
    if (!s.ok()) {
      std::fprintf(stderr, "gridsearch: %s\n", s.message().c_str());
      return kExitBadInput;
    }
    if (!as_json)
      std::fprintf(stderr, "measuring one job's setup and evaluation on %s (--no-measure skips)...\n",
                   device.c_str());
    overhead = Measure(spec, device);
  }
  const double per_job =
      spec.budget_seconds + (overhead.measured ? overhead.setup_seconds + overhead.eval_seconds : 0);
  const double device_seconds = static_cast<double>(jobs) * per_job;
  const double device_hours = device_seconds / 3600;

  if (as_json) {
    json out = {{"valid", true},
                {"name", spec.name},
                {"configurations", configs},
                {"configurations_per_optimizer", per_optimizer},
                {"seeds", spec.seeds.size()},
                {"jobs", jobs},
                {"budget_seconds", spec.budget_seconds},
                {"device_hours", device_hours}};
    if (overhead.measured) {
      out["measured"] = {{"device", overhead.device},
                         {"data_seconds", overhead.data_seconds},
                         {"setup_seconds", overhead.setup_seconds},
                         {"eval_seconds", overhead.eval_seconds}};
    } else if (!overhead.error.empty()) {
      out["measure_error"] = overhead.error;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::ostringstream os;
  os << f.spec_path << ": valid\n";
  if (spec.program.present()) {
    os << "  sweep \"" << spec.name << "\": program";
    for (const auto& word : spec.program.command) os << " " << word;
    os << ", budget " << FormatDuration(spec.budget_seconds) << " per job (setup up to "
       << FormatDuration(spec.program.setup_timeout_seconds) << ", evaluation up to "
       << FormatDuration(spec.program.eval_timeout_seconds) << ")\n";
    const std::string note = ProgramNote(spec.program);
    if (!note.empty()) os << "  note: " << note << "\n";
  } else {
    os << "  sweep \"" << spec.name << "\": " << spec.model << " on " << spec.dataset.name
       << (spec.dataset.train_size > 0 ? " (first " + std::to_string(spec.dataset.train_size) + ")"
                                       : std::string())
       << ", batch " << spec.batch_size << ", budget " << FormatDuration(spec.budget_seconds)
       << " per job\n";
  }
  os << "  configurations:";
  const char* separator = " ";
  for (const auto& [optimizer, n] : per_optimizer) {
    os << separator << optimizer << " " << n;
    separator = ", ";
  }
  os << "; " << configs << " in all x " << spec.seeds.size() << " seed(s) = " << jobs
     << " jobs\n";
  if (overhead.measured) {
    os << "  measured on " << overhead.device << ": data set loaded in "
       << Seconds(overhead.data_seconds) << " (once per worker), then per job setup "
       << Seconds(overhead.setup_seconds) << " and final evaluation "
       << Seconds(overhead.eval_seconds) << "\n";
  } else if (!overhead.error.empty()) {
    os << "  not measured on this machine (" << overhead.error
       << "); the estimate counts the budget alone\n";
  }
  char hours[64];
  std::snprintf(hours, sizeof(hours), "%.3g", device_hours);
  os << "  compute: " << jobs << " jobs x " << Seconds(per_job) << " = " << hours
     << " device-hours (" << FormatDuration(device_seconds) << " on one device)\n";
  std::fputs(os.str().c_str(), stdout);
  return kExitOk;
}

}  // namespace gridsearch
