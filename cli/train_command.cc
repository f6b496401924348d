#include "cli/train_command.h"

#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/sweep_spec.h"
#include "common/train_job.h"
#include "worker/devices.h"
#include "worker/program_runner.h"
#include "worker/trainer.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kRefused = 2;

constexpr char kUsage[] =
    "Usage: %s JOB.json [options]\n"
    "\n"
    "Trains one job on this machine, without a coordinator, and prints its curve as it\n"
    "trains, then its final metrics. JOB.json (- for standard input) has the fields of a\n"
    "sweep spec with one value each, and optionally the device:\n"
    "\n"
    "  {\"model\": \"mlp\", \"dataset\": \"fashion-mnist\", \"batch_size\": 100,\n"
    "   \"budget_seconds\": 5, \"seed\": 1, \"device\": \"cpu\",\n"
    "   \"optimizers\": {\"sgd\": {\"lr\": 0.1, \"momentum\": 0.9}}}\n"
    "\n"
    "A job with a \"program\" instead of a model runs that program once, as a worker\n"
    "would (its output is shown with a leading '| ').\n"
    "\n"
    "Options:\n"
    "  --device D         cpu, cuda or cuda:N (default: the file's \"device\", else cpu)\n"
    "  --threads N        LibTorch threads (default 0: LibTorch's default)\n"
    "  --max-steps N      stop after N steps even if time is left (0: only the budget);\n"
    "                     with --threads 1 on the CPU the run is exactly reproducible\n"
    "  --format F         csv (default) or jsonl, on standard output: one line per step;\n"
    "                     jsonl ends with a {\"result\": ...} line\n"
    "  --flush-interval S seconds between batches of printed points (default 0.5)\n"
    "  -h, --help         this text\n"
    "\n"
    "The summary (job, device, metrics) goes to standard error. Exit codes: 0 the job\n"
    "ran (done or diverged), 1 it failed, 2 refused input.\n";

struct TrainFlags {
  std::string job_path;
  std::string device;
  int threads = 0;
  int64_t max_steps = 0;
  std::string format = "csv";
  double flush_interval_seconds = 0.5;
};

bool ParseInt(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

bool ParseDouble(const std::string& text, double min, double* out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < min) return false;
  *out = v;
  return true;
}

// Returns kOk to go on, or the exit code (help printed, or a refusal).
int ParseFlags(int argc, char** argv, TrainFlags* f, bool* help) {
  *help = false;
  const char* name = argc > 0 ? argv[0] : "train";
  auto refuse = [&](const std::string& what) {
    std::fprintf(stderr, "%s: %s (see --help)\n", name, what.c_str());
    return kRefused;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf(kUsage, name);
      *help = true;
      return kOk;
    }
    std::string flag = arg, value;
    const size_t eq = arg.find('=');
    const bool takes_value = arg.rfind("--", 0) == 0;
    if (takes_value) {
      const std::string name_only = arg.substr(0, eq);
      static const char* const kFlags[] = {"--device", "--threads", "--max-steps", "--format",
                                           "--flush-interval"};
      bool known = false;
      for (const char* k : kFlags) known = known || name_only == k;
      if (!known) return refuse("unknown option '" + name_only + "'");
    }
    if (takes_value && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (takes_value) {
      if (i + 1 >= argc) return refuse(arg + " needs a value");
      value = argv[++i];
    }
    if (!takes_value) {
      if (!f->job_path.empty() || (arg.size() > 1 && arg[0] == '-'))
        return refuse("unexpected argument '" + arg + "'");
      f->job_path = arg;
      continue;
    }
    int64_t n = 0;
    if (flag == "--device") {
      f->device = value;
    } else if (flag == "--threads") {
      if (!ParseInt(value, 0, 4096, &n)) return refuse("--threads: expected 0 to 4096, got '" + value + "'");
      f->threads = static_cast<int>(n);
    } else if (flag == "--max-steps") {
      if (!ParseInt(value, 0, INT64_MAX, &n))
        return refuse("--max-steps: expected a non-negative integer, got '" + value + "'");
      f->max_steps = n;
    } else if (flag == "--format") {
      if (value != "csv" && value != "jsonl")
        return refuse("--format: expected csv or jsonl, got '" + value + "'");
      f->format = value;
    } else if (flag == "--flush-interval") {
      if (!ParseDouble(value, 0, &f->flush_interval_seconds))
        return refuse("--flush-interval: expected a non-negative number, got '" + value + "'");
    } else {
      return refuse("unknown option '" + flag + "'");
    }
  }
  if (f->job_path.empty()) return refuse("missing JOB.json");
  return kOk;
}

bool ReadAll(const std::string& path, std::string* text) {
  std::ostringstream os;
  if (path == "-") {
    os << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    os << in.rdbuf();
  }
  *text = os.str();
  return true;
}

// Numbers as JSON: shortest round-trip form; non-finite values are null.
json Number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The shortest decimal form that reads back as the same double.
std::string Csv(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string Describe(const JobSpec& job, const std::string& device, int threads) {
  std::ostringstream os;
  os << job.optimizer << " " << ParamsToJson(job.optimizer, job.params) << ", seed " << job.seed
     << ", " << job.model << " on " << job.dataset.name;
  if (job.dataset.train_size > 0) os << " (first " << job.dataset.train_size << ")";
  os << ", batch " << job.batch_size << ", budget " << job.budget_seconds << " s, " << device;
  if (device == "cpu") os << ", " << (threads > 0 ? std::to_string(threads) : "default") << " thread(s)";
  return os.str();
}

std::atomic<bool> g_train_stop{false};

std::string DescribeProgram(const JobSpec& job, const std::string& device) {
  std::ostringstream os;
  for (const auto& word : job.program.command) os << (os.tellp() > 0 ? " " : "") << word;
  os << ": " << job.optimizer << " " << job.params_json << ", seed " << job.seed << ", budget "
     << job.budget_seconds << " s, " << device;
  return os.str();
}

}  // namespace

int RunTrainMain(int argc, char** argv) {
  TrainFlags flags;
  bool help = false;
  if (int code = ParseFlags(argc, argv, &flags, &help); code != kOk || help) return code;
  const char* name = argv[0];

  std::string text;
  if (!ReadAll(flags.job_path, &text)) {
    std::fprintf(stderr, "%s: cannot read '%s'\n", name, flags.job_path.c_str());
    return kRefused;
  }
  TrainJob train;
  Status s = ParseTrainJob(text, &train);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s: %s\n", name, flags.job_path.c_str(), s.message().c_str());
    return kRefused;
  }
  std::string device = !flags.device.empty() ? flags.device
                       : !train.device.empty() ? train.device
                                               : "cpu";
  std::string canonical;
  s = CanonicalDevice(device, &canonical);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, s.message().c_str());
    return kRefused;
  }

  const bool jsonl = flags.format == "jsonl";
  const bool program = train.job.program.present();
  if (!program) KeepFreedMemoryForTraining();
  TrainerOptions options;
  options.device = canonical;
  options.threads = flags.threads;
  options.max_steps = flags.max_steps;
  options.flush_interval_seconds = flags.flush_interval_seconds;
  std::unique_ptr<Trainer> trainer;
  if (program) {
    if (flags.max_steps > 0) {
      std::fprintf(stderr, "%s: --max-steps is for the built-in networks; a program decides "
                   "its own steps\n", name);
      return kRefused;
    }
    std::fprintf(stderr, "running %s\n", DescribeProgram(train.job, canonical).c_str());
  } else {
    trainer = std::make_unique<Trainer>(options);
    std::fprintf(stderr, "training %s\n",
                 Describe(train.job, trainer->DeviceName(), flags.threads).c_str());
    if (flags.max_steps > 0)
      std::fprintf(stderr, "at most %lld steps\n", static_cast<long long>(flags.max_steps));
  }

  if (!jsonl) std::printf("step,elapsed_seconds,epoch,loss,learning_rate\n");
  std::fflush(stdout);
  CurveSink sink = [&](const std::vector<CurvePoint>& points) {
    for (const CurvePoint& p : points) {
      if (jsonl) {
        json line = {{"step", p.step},
                     {"elapsed_seconds", Number(p.elapsed_seconds)},
                     {"epoch", Number(p.epoch)},
                     {"loss", Number(p.loss)},
                     {"learning_rate", Number(p.learning_rate)}};
        std::printf("%s\n", line.dump().c_str());
      } else {
        std::printf("%lld,%s,%s,%s,%s\n", static_cast<long long>(p.step),
                    Csv(p.elapsed_seconds).c_str(), Csv(p.epoch).c_str(), Csv(p.loss).c_str(),
                    Csv(p.learning_rate).c_str());
      }
    }
    std::fflush(stdout);
    return Status::OK();
  };
  JobResult result;
  if (program) {
    // The worker's rules, with the default lease timeout as the hang limit.
    ProgramRunnerOptions po;
    po.device = canonical;
    po.threads = flags.threads;
    po.flush_interval_seconds = flags.flush_interval_seconds;
    po.output = [](const std::string& line) { std::fprintf(stderr, "| %s\n", line.c_str()); };
    ProgramRunner runner(std::move(po));
    // Ctrl-C or SIGTERM stops the program (and what it started in its
    // group) before this process ends.
    struct sigaction action {};
    action.sa_handler = [](int) { g_train_stop.store(true); };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    s = runner.Run(train.job, sink, [] { return g_train_stop.load(); }, &result);
    if (s.code() == Status::kCancelled) {
      std::fprintf(stderr, "%s: stopped\n", name);
      return kFailed;
    }
  } else {
    s = trainer->Run(train.job, sink, &result);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "%s: the job failed: %s\n", name, s.ToString().c_str());
    return s.code() == Status::kInvalidArgument || s.code() == Status::kNotFound ? kRefused
                                                                                 : kFailed;
  }
  json metrics = {{"state", result.diverged ? "diverged" : "done"},
                  {"steps", result.steps},
                  {"epochs", Number(result.epochs)},
                  {"final_train_loss", Number(result.final_train_loss)},
                  {"log_loss_integral", Number(result.log_loss_integral)},
                  {"test_loss", Number(result.test_loss)},
                  {"test_accuracy", Number(result.test_accuracy)},
                  {"setup_seconds", Number(result.setup_seconds)},
                  {"train_seconds", Number(result.train_seconds)},
                  {"eval_seconds", Number(result.eval_seconds)},
                  {"device", result.device},
                  {"software", result.software}};
  if (jsonl) {
    std::printf("%s\n", json({{"result", metrics}}).dump().c_str());
    std::fflush(stdout);
  }
  std::fprintf(stderr, "%s after %lld steps (%.3g epochs) in %.3f s (setup %.3f s, eval %.3f s)\n",
               result.diverged ? "diverged" : "done", static_cast<long long>(result.steps),
               result.epochs, result.train_seconds, result.setup_seconds, result.eval_seconds);
  std::fprintf(stderr, "final_train_loss %.6g  log_loss_integral %.6g  test_loss %.6g  test_accuracy %.4g\n",
               result.final_train_loss, result.log_loss_integral, result.test_loss,
               result.test_accuracy);
  return kOk;
}

}  // namespace gridsearch
