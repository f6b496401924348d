// train_throughput: images per second of a full training step, per model,
// optimizer and device, and the share of the step spent outside the model.
//
// For each device (the CPU, and cuda:0 when there is one), model and
// optimizer (sgd and pal) it measures, interleaved over rounds:
//
//   trainer     the real worker path: Trainer::Run on a job with the given
//               budget (batches cut from the device-resident data set by a
//               seeded permutation, mean subtraction, optional augmentation,
//               the step, the losses read at each flush, the curve bookkeeping);
//               time per step = train_seconds / steps.
//   model       the baseline: the same model and optimizer stepping on one
//               batch that already sits on the device as float inputs, with
//               nothing else in the loop (zero_grad + forward + backward +
//               update; PAL: its closure step); a GPU synchronises only to
//               check the clock, every few steps.
//   data        cutting, converting and (with --augment) augmenting one batch
//               alone, on the device.
//
// and prints both throughputs, outside = 1 - model / trainer (time per step)
// against the target of at most 5%, and the data time per step. Step times
// are per step (the trainer's from its curve) pooled over the rounds, and
// each figure is their kStepQuantile quantile: on a shared machine other
// work only ever slows a step down, so a low quantile is the undisturbed
// cost, and trainer and baseline are summarised alike. The data time is the
// best window of its rounds.
//
// Data: the CIFAR-shaped synthetic set (3x32x32, 10 classes, stored as bytes
// like CIFAR), cut to 4 batches so the trainer's final evaluation (outside
// its budget, but wall time here) stays short; or a real CIFAR-10 copy with
// --cifar10 DIR (45000 training images; the evaluation then takes a while).
//
// usage: train_throughput [--device cpu|cuda|all] [--models a,b,...]
//            [--optimizers sgd,pal] [--batch N (default 100 on a GPU, 32 on
//            the CPU)] [--seconds 2] [--rounds 3] [--threads N] [--augment]
//            [--cifar10 DIR]
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "models/augment.h"
#include "models/datasets.h"
#include "models/models.h"
#include "optimizers/baseline.h"
#include "worker/trainer.h"

using namespace gridsearch;

namespace {

using Clock = std::chrono::steady_clock;

// The target: at most this share of a step outside the model.
constexpr double kTargetOutside = 0.05;
// Batches in the synthetic training subset.
constexpr int64_t kSyntheticBatches = 4;
// Which quantile of the per-step times summarises them.
constexpr double kStepQuantile = 0.2;
// Model-only and data loops check the clock (and synchronise a GPU) every
// this many steps.
constexpr int kCheckEvery = 8;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The q-quantile of v (0 when empty).
double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct Config {
  std::string device = "all";
  std::vector<std::string> models;
  std::vector<std::string> optimizers = {"sgd", "pal"};
  int64_t batch = 0;  // 0: 100 on a GPU, 32 on the CPU
  double seconds = 2;
  int rounds = 3;
  int threads = 0;
  bool augment = false;
  std::string cifar10;
};

// The papers' settings where they have one: SGD with momentum 0.9 at 0.01,
// PAL with its catalog defaults.
std::map<std::string, double> Params(const std::string& optimizer) {
  std::map<std::string, double> given;
  if (optimizer == "sgd") given = {{"lr", 0.01}, {"momentum", 0.9}};
  std::map<std::string, double> full;
  Status s = ResolveParams(optimizer, given, &full);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(2);
  }
  return full;
}

DatasetSpec DataSpec(const Config& config, int64_t batch) {
  DatasetSpec spec;
  if (config.cifar10.empty()) {
    spec.name = "synthetic";
    spec.path = kSyntheticCifar10Shape;
    spec.train_size = std::min(kSyntheticCifarTrainSize, kSyntheticBatches * batch);
  } else {
    spec.name = "cifar10";
    spec.path = config.cifar10;
  }
  spec.augment = config.augment;
  return spec;
}

void Sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// Appends the duration of every step of a real trainer run after the first
// (from the curve: consecutive points' elapsed times) to *times. Returns
// false with *why set when the job fails or takes no step.
bool TrainerSteps(Trainer& trainer, const JobSpec& job, std::vector<double>* times,
                  std::string* why) {
  std::vector<CurvePoint> points;
  JobResult result;
  Status s = trainer.Run(
      job,
      [&points](const std::vector<CurvePoint>& batch) {
        points.insert(points.end(), batch.begin(), batch.end());
        return Status::OK();
      },
      &result);
  if (!s.ok()) {
    *why = s.ToString();
    return false;
  }
  if (points.size() < 2) {
    *why = "fewer than two steps in the budget";
    return false;
  }
  for (size_t i = 1; i < points.size(); ++i)
    times->push_back(points[i].elapsed_seconds - points[i - 1].elapsed_seconds);
  return true;
}

// Appends the duration of the model and optimizer's steps alone, on a
// resident batch, to *times: each step's on the CPU, the mean of each window
// of kCheckEvery steps on a GPU (which is synchronised only per window).
// Returns false with *why set when the model or optimizer cannot be built.
bool ModelSteps(const std::string& model_name, const std::string& optimizer_name,
                const Dataset& data, const torch::Device& device, int64_t batch, double seconds,
                std::vector<double>* times, std::string* why) {
  torch::manual_seed(1);
  torch::nn::Sequential model;
  Status s = MakeModel(model_name, data.input_shape, data.num_classes, &model);
  if (!s.ok()) {
    *why = s.ToString();
    return false;
  }
  model->to(device);
  model->train();
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  s = MakeOptimizer(optimizer_name, Params(optimizer_name), model->parameters(),
                    /*decay_steps=*/0, &optimizer);
  if (!s.ok()) {
    *why = s.ToString();
    return false;
  }
  const torch::Tensor x = ModelInputs(data, data.train_x.slice(0, 0, batch)).contiguous();
  const torch::Tensor y = data.train_y.slice(0, 0, batch).contiguous();
  auto loss_of_batch = [&] { return torch::nll_loss(torch::log_softmax(model->forward(x), 1), y); };
  const bool closure = UsesLossClosure(optimizer_name);
  auto step = [&] {
    if (closure) {
      optimizer->step(loss_of_batch);
    } else {
      optimizer->zero_grad();
      loss_of_batch().backward();
      optimizer->step();
    }
  };
  step();  // warm-up: allocator, oneDNN/cuDNN plans
  step();
  Sync(device);
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  while (Seconds(last - start) < seconds) {
    if (device.is_cuda()) {
      for (int i = 0; i < kCheckEvery; ++i) step();
      Sync(device);
      const Clock::time_point now = Clock::now();
      times->push_back(Seconds(now - last) / kCheckEvery);
      last = now;
    } else {
      step();
      const Clock::time_point now = Clock::now();
      times->push_back(Seconds(now - last));
      last = now;
    }
  }
  return true;
}

// Seconds to cut one batch from the resident set as the trainer does.
double DataStep(const Dataset& data, const torch::Device& device, int64_t batch, bool augment,
                double seconds) {
  const int64_t n = data.train_x.size(0);
  at::Generator gen = at::detail::createCPUGenerator(1);
  torch::Tensor order = torch::randperm(n, gen, torch::kLong).to(device);
  torch::Tensor crop_flip = DrawCropFlip(n, kAugmentPadding, gen).to(device);
  const int64_t per_epoch = n / batch;
  int64_t steps = 0;
  torch::Tensor sink;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < kCheckEvery; ++i, ++steps) {
      const int64_t begin = (steps % per_epoch) * batch;
      const torch::Tensor index = order.slice(0, begin, begin + batch);
      torch::Tensor x = ModelInputs(data, data.train_x.index_select(0, index));
      if (augment) x = CropFlip(x, crop_flip.slice(0, begin, begin + batch), kAugmentPadding);
      sink = data.train_y.index_select(0, index);
    }
    Sync(device);
    elapsed = Seconds(Clock::now() - start);
  }
  return elapsed / static_cast<double>(steps);
}

void Usage() {
  std::fprintf(stderr,
               "usage: train_throughput [--device cpu|cuda|all] [--models a,b] "
               "[--optimizers sgd,pal] [--batch N] [--seconds S] [--rounds R] [--threads N] "
               "[--augment] [--cifar10 DIR]\n");
  std::exit(2);
}

// Measures every device x model x optimizer of `config` and prints a row
// each. Returns the process exit status.
int Run(const Config& config) {
  if (config.threads > 0) torch::set_num_threads(config.threads);

  std::vector<std::string> devices;
  if (config.device == "cpu" || config.device == "all") devices.push_back("cpu");
  if (config.device == "cuda" || config.device == "all") {
    if (torch::cuda::is_available())
      devices.push_back("cuda:0");
    else
      std::printf("# no CUDA device: %s\n",
                  config.device == "cuda" ? "nothing to measure" : "CPU only");
  }

  std::printf("# %s, %d LibTorch threads, %s data%s, %d rounds of %.1f s\n",
              Trainer::SoftwareVersion().c_str(), torch::get_num_threads(),
              config.cifar10.empty() ? "synthetic CIFAR-shaped" : "CIFAR-10",
              config.augment ? " with crop + flip" : "", config.rounds, config.seconds);
  std::printf("%-7s %-16s %-4s %5s %11s %11s %8s %8s %7s %6s  %s\n", "device", "model", "opt",
              "batch", "trainer/s", "model/s", "outside", "data us", "data", "steps", "target");
  int misses = 0;
  for (const std::string& device_name : devices) {
    const torch::Device device(device_name);
    const int64_t batch = config.batch > 0 ? config.batch : (device.is_cuda() ? 100 : 32);
    TrainerOptions options;
    options.device = device_name;
    options.threads = config.threads;
    Trainer trainer(options);

    const DatasetSpec spec = DataSpec(config, batch);
    Dataset loaded;
    Status s = LoadDataset(spec, &loaded);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    const Dataset data = MoveDataset(loaded, device);

    for (const std::string& model : config.models) {
      for (const std::string& optimizer : config.optimizers) {
        JobSpec job;
        job.job_id = 1;
        job.optimizer = optimizer;
        job.params = Params(optimizer);
        job.seed = 1;
        job.model = model;
        job.dataset = spec;
        job.batch_size = batch;
        job.budget_seconds = config.seconds;

        std::string trainer_why, model_why;
        std::vector<double> trainer_times, model_times, data_times;
        // A short first run loads the data into the trainer's cache and
        // warms the allocator; it is not counted.
        JobSpec warm = job;
        warm.budget_seconds = 0.01;
        std::vector<double> ignored;
        TrainerSteps(trainer, warm, &ignored, &trainer_why);
        trainer_why.clear();
        for (int r = 0; r < config.rounds; ++r) {
          // A heavy model on a small CPU may not fit two steps in the
          // budget: give it more until it does (a few times at most).
          for (int more = 0; more < 4; ++more, job.budget_seconds *= 2) {
            trainer_why.clear();
            if (TrainerSteps(trainer, job, &trainer_times, &trainer_why)) break;
          }
          ModelSteps(model, optimizer, data, device, batch, config.seconds, &model_times,
                     &model_why);
          data_times.push_back(
              DataStep(data, device, batch, config.augment, std::min(0.5, config.seconds)));
        }
        const double trainer_step = Quantile(trainer_times, kStepQuantile);
        const double model_step = Quantile(model_times, kStepQuantile);
        const double data_step = Quantile(data_times, 0);
        const size_t steps = trainer_times.size();
        auto rate = [&](double t) { return t > 0 ? static_cast<double>(batch) / t : 0.0; };
        char trainer_rate[32] = "n/a", model_rate[32] = "n/a", outside[32] = "n/a";
        if (trainer_step > 0)
          std::snprintf(trainer_rate, sizeof(trainer_rate), "%.1f", rate(trainer_step));
        if (model_step > 0) std::snprintf(model_rate, sizeof(model_rate), "%.1f", rate(model_step));
        std::string verdict;
        if (trainer_step > 0 && model_step > 0) {
          const double share = 1 - model_step / trainer_step;
          std::snprintf(outside, sizeof(outside), "%.1f%%", 100 * share);
          verdict = share <= kTargetOutside ? "ok" : "MISS";
          if (share > kTargetOutside) ++misses;
        }
        if (!trainer_why.empty()) verdict += " trainer: " + trainer_why;
        if (!model_why.empty()) verdict += " model: " + model_why;
        char data_share[32] = "n/a";
        if (trainer_step > 0)
          std::snprintf(data_share, sizeof(data_share), "%.2f%%", 100 * data_step / trainer_step);
        std::printf("%-7s %-16s %-4s %5lld %11s %11s %8s %8.0f %7s %6zu  %s\n", device_name.c_str(),
                    model.c_str(), optimizer.c_str(), static_cast<long long>(batch), trainer_rate,
                    model_rate, outside, 1e6 * data_step, data_share, steps, verdict.c_str());
        std::fflush(stdout);
      }
    }
  }
  std::printf(
      "# outside = 1 - (model-only step time) / (trainer step time), step times the %.0fth "
      "percentile of each step's; data = cutting one batch alone / trainer step time; "
      "target: outside <= %.0f%%; %d row(s) above it\n",
      100 * kStepQuantile, 100 * kTargetOutside, misses);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  for (const ModelInfo& m : Models()) config.models.push_back(m.name);
  for (int i = 1; i < argc; ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--device"))
      config.device = value();
    else if (!std::strcmp(argv[i], "--models"))
      config.models = Split(value());
    else if (!std::strcmp(argv[i], "--optimizers"))
      config.optimizers = Split(value());
    else if (!std::strcmp(argv[i], "--batch"))
      config.batch = std::atoll(value().c_str());
    else if (!std::strcmp(argv[i], "--seconds"))
      config.seconds = std::atof(value().c_str());
    else if (!std::strcmp(argv[i], "--rounds"))
      config.rounds = std::atoi(value().c_str());
    else if (!std::strcmp(argv[i], "--threads"))
      config.threads = std::atoi(value().c_str());
    else if (!std::strcmp(argv[i], "--augment"))
      config.augment = true;
    else if (!std::strcmp(argv[i], "--cifar10"))
      config.cifar10 = value();
    else
      Usage();
  }
  return Run(config);
}
