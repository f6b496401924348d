#include "worker/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#if defined(__has_include)
#if __has_include(<torch/version.h>)
#include <torch/version.h>
#endif
#endif

#include <ATen/Context.h>
#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <new>
#include <tuple>
#include <utility>

#include "common/catalog.h"
#include "common/log_loss.h"
#include "models/augment.h"
#include "models/datasets.h"
#include "models/models.h"
#include "optimizers/baseline.h"
#include "worker/step_fence.h"

namespace gridsearch {
namespace {

using Clock = std::chrono::steady_clock;

// Examples per forward pass of the final evaluation: bounds its memory
// without making it slow.
constexpr int64_t kEvalChunk = 1000;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Mixed into the job's seed for the augmentation generator, so that crops
// and flips are not drawn from the same stream as the data order.
constexpr uint64_t kAugmentSeedSalt = 0x9e3779b97f4a7c15ULL;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A NaN or negative value is no time; anything beyond ~30 years is forever
// for our purposes and would overflow the clock's integer ticks.
Clock::duration FromSeconds(double s) {
  constexpr double kForeverSeconds = 1e9;
  if (!(s > 0)) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::min(s, kForeverSeconds)));
}

// LibTorch's thread setting does not reach an OpenBLAS that Debian's
// LibTorch calls through libblas.so.3; OpenBLAS reads its environment only
// when loaded, so its pool is sized through its own call, when present.
void SetBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn != nullptr) fn(threads);
}

// Data sets are kept by what the job asked for (CanonicalDatasetSpec: an
// empty path and the default folder are one entry); the same request is
// served from the device's memory for the life of the process.
using DatasetKey = std::tuple<std::string, std::string, int64_t>;

// A host tensor on `device`. To a GPU the copy goes from pinned memory
// without waiting for the steps still queued (LibTorch's pinned allocator
// keeps the buffer until the copy is done); a pageable copy would stall the
// host until the device caught up, once per epoch.
torch::Tensor ToDeviceAsync(const torch::Tensor& host, const torch::Device& device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

// Cross-entropy of logits against class indices, as the papers use.
torch::Tensor CrossEntropy(const torch::Tensor& logits, const torch::Tensor& targets,
                           int64_t reduction) {
  return torch::nll_loss(torch::log_softmax(logits, /*dim=*/1), targets, /*weight=*/{},
                         reduction);
}

// Mean loss and accuracy of `model` on (x, y), in chunks. The sums stay on
// the device and are read once, so a GPU is not synchronised per chunk.
// x holds stored images of `data` (ModelInputs makes each chunk's inputs).
void Evaluate(torch::nn::Sequential& model, const Dataset& data, const torch::Tensor& x,
              const torch::Tensor& y, double* mean_loss, double* accuracy) {
  const int64_t n = x.size(0);
  if (n == 0) {
    *mean_loss = kNaN;
    *accuracy = kNaN;
    return;
  }
  auto options = torch::TensorOptions().dtype(torch::kDouble).device(x.device());
  torch::Tensor loss_sum = torch::zeros({}, options);
  torch::Tensor correct = torch::zeros({}, options.dtype(torch::kLong));
  for (int64_t begin = 0; begin < n; begin += kEvalChunk) {
    const int64_t end = std::min(n, begin + kEvalChunk);
    torch::Tensor logits = model->forward(ModelInputs(data, x.slice(0, begin, end)));
    torch::Tensor targets = y.slice(0, begin, end);
    loss_sum += CrossEntropy(logits, targets, at::Reduction::Sum).to(torch::kDouble);
    correct += logits.argmax(1).eq(targets).sum();
  }
  *mean_loss = loss_sum.item<double>() / static_cast<double>(n);
  // A model whose outputs are not finite has no meaningful accuracy.
  *accuracy = std::isfinite(*mean_loss)
                  ? static_cast<double>(correct.item<int64_t>()) / static_cast<double>(n)
                  : kNaN;
}

}  // namespace

struct Trainer::Impl {
  explicit Impl(TrainerOptions opts) : options(std::move(opts)) {}

  Status GetDataset(const DatasetSpec& spec, std::shared_ptr<const Dataset>* out);
  Status RunJob(const JobSpec& job, const CurveSink& sink, JobResult* result);

  TrainerOptions options;
  // Non-OK when options.device cannot be used; every Run returns it.
  Status device_status;
  torch::Device device{torch::kCPU};
  std::map<DatasetKey, std::shared_ptr<const Dataset>> datasets;
};

Status Trainer::Impl::GetDataset(const DatasetSpec& spec, std::shared_ptr<const Dataset>* out) {
  const DatasetSpec canonical = CanonicalDatasetSpec(spec);
  const DatasetKey key(canonical.name, canonical.path, canonical.train_size);
  auto it = datasets.find(key);
  if (it != datasets.end()) {
    *out = it->second;
    return Status::OK();
  }
  Dataset d;
  GS_RETURN_IF_ERROR(LoadDataset(canonical, &d));
  // Moved to the device once, as stored (bytes for real images); every job
  // and every batch then stays there.
  auto shared = std::make_shared<const Dataset>(MoveDataset(d, device));
  datasets.emplace(key, shared);
  *out = std::move(shared);
  return Status::OK();
}

Status Trainer::Impl::RunJob(const JobSpec& job, const CurveSink& sink, JobResult* result) {
  const Clock::time_point setup_start = Clock::now();

  // --- Setup: checks, data, model, optimizer (outside the budget). ---
  if (job.batch_size <= 0)
    return Status::InvalidArgument("batch_size must be positive, got " +
                                   std::to_string(job.batch_size));
  if (!std::isfinite(job.budget_seconds) || job.budget_seconds < 0)
    return Status::InvalidArgument("budget_seconds must be finite and >= 0, got " +
                                   std::to_string(job.budget_seconds));
  if (job.decay_steps < 0)
    return Status::InvalidArgument("decay_steps must be >= 0 (0 = one epoch), got " +
                                   std::to_string(job.decay_steps));
  std::map<std::string, double> params;
  GS_RETURN_IF_ERROR(ResolveParams(job.optimizer, job.params, &params));
  // PAL chooses its own steps from a loss closure and decays them itself;
  // the other optimizers follow the learning-rate schedule.
  const bool line_search = UsesLossClosure(job.optimizer);
  if (params.count("decay") == 0 || (!line_search && params.count("lr") == 0))
    return Status::InvalidArgument("optimizer '" + job.optimizer +
                                   "' is not driven by a learning-rate schedule; the trainer "
                                   "runs sgd, adam, rmsprop and pal");

  std::shared_ptr<const Dataset> data;
  GS_RETURN_IF_ERROR(GetDataset(job.dataset, &data));
  const int64_t train_size = data->train_x.size(0);
  const int64_t batch_size = job.batch_size;
  if (batch_size > train_size)
    return Status::InvalidArgument("batch_size " + std::to_string(batch_size) +
                                   " is larger than the " + std::to_string(train_size) +
                                   " training examples");
  const int64_t steps_per_epoch = train_size / batch_size;  // the last partial batch is dropped
  const int64_t decay_steps = job.decay_steps > 0 ? job.decay_steps : steps_per_epoch;

  // Seeding right before the model is built gives every optimizer the same
  // initial weights for the same seed, whatever ran before in this process.
  torch::manual_seed(static_cast<uint64_t>(job.seed));
  torch::nn::Sequential model;
  GS_RETURN_IF_ERROR(
      MakeModel(job.model, data->input_shape, data->num_classes, job.dropout, &model));
  model->to(device);
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  GS_RETURN_IF_ERROR(
      MakeOptimizer(job.optimizer, params, model->parameters(), decay_steps, &optimizer));
  const DecaySchedule schedule(line_search ? 0.0 : params.at("lr"), params.at("decay"),
                               decay_steps);
  // The data order has its own generator, so it is the same for every
  // optimizer even if an optimizer or model draws random numbers.
  at::Generator order_generator = at::detail::createCPUGenerator(static_cast<uint64_t>(job.seed));
  // Likewise the augmentation (random crop + flip), when the job asks for it.
  at::Generator augment_generator =
      at::detail::createCPUGenerator(static_cast<uint64_t>(job.seed) ^ kAugmentSeedSalt);
  if (device.is_cuda()) torch::cuda::synchronize();  // setup's device work is not training
  result->setup_seconds = Seconds(Clock::now() - setup_start);

  // --- Training under the budget. ---
  // A step's loss (and PAL's rate) stay on the device until the next flush,
  // which copies them all to the host at once: no host sync per step.
  struct StepRecord {
    CurvePoint point;      // everything but the loss (and PAL's rate)
    torch::Tensor loss;    // 0-dim, on the device
    torch::Tensor rate;    // PAL's effective learning rate; undefined for the others
  };
  const size_t flush_max_points = std::max<size_t>(1, options.flush_max_points);
  const Clock::duration flush_interval = FromSeconds(options.flush_interval_seconds);
  const size_t steps_in_flight = static_cast<size_t>(
      options.steps_in_flight > 0 ? options.steps_in_flight : (device.is_cuda() ? 2 : 1));
  std::deque<StepRecord> in_flight;  // recorded in the fence, not yet seen finished
  std::vector<StepRecord> pending;   // finished, not yet flushed
  pending.reserve(std::min<size_t>(flush_max_points, 4096));
  LogLossAverage log_loss;
  int64_t finite_steps = 0;  // steps whose loss was read and found finite
  Clock::time_point last_flush = Clock::now();

  // Reads the pending losses, hands the finite points before the first
  // non-finite one to the sink, and sets result->diverged if there was one.
  auto flush = [&]() -> Status {
    last_flush = Clock::now();
    if (result->diverged) pending.clear();  // steps after the divergence do not count
    if (pending.empty()) return Status::OK();
    std::vector<torch::Tensor> losses, rates;
    losses.reserve(pending.size());
    for (const StepRecord& r : pending) {
      losses.push_back(r.loss);
      if (r.rate.defined()) rates.push_back(r.rate);
    }
    const torch::Tensor host_losses =
        torch::stack(losses).to(torch::kCPU, torch::kDouble).contiguous();
    torch::Tensor host_rates;
    if (!rates.empty() && rates.size() == pending.size())
      host_rates = torch::stack(rates).to(torch::kCPU, torch::kDouble).contiguous();
    const double* loss = host_losses.data_ptr<double>();
    const double* rate = host_rates.defined() ? host_rates.data_ptr<double>() : nullptr;
    std::vector<CurvePoint> points;
    points.reserve(pending.size());
    for (size_t i = 0; i < pending.size(); ++i) {
      if (!std::isfinite(loss[i])) {
        // The curve and its log-loss average hold only finite losses; the
        // steps after this one trained on garbage and are not counted.
        result->diverged = true;
        break;
      }
      CurvePoint p = pending[i].point;
      p.loss = loss[i];
      if (rate != nullptr) p.learning_rate = rate[i];
      log_loss.Add(p.elapsed_seconds, p.loss);
      points.push_back(p);
    }
    pending.clear();
    finite_steps += static_cast<int64_t>(points.size());
    if (points.empty() || !sink) return Status::OK();
    return sink(points);
  };

  model->train();
  torch::Tensor order;
  torch::Tensor crop_flip;  // per-example augmentation of this epoch, on the device
  int64_t step = 0;         // steps queued
  int64_t batch_in_epoch = steps_per_epoch;  // draw an order before the first step
  StepFence fence(device);
  const Clock::time_point train_start = Clock::now();
  const Clock::time_point deadline = train_start + FromSeconds(job.budget_seconds);
  Clock::time_point last_finished = train_start;  // when the newest finished step was seen done

  // Waits for the oldest step in flight; its point joins the pending ones.
  auto finish_oldest = [&]() {
    last_finished = fence.WaitOldest();
    StepRecord r = std::move(in_flight.front());
    in_flight.pop_front();
    r.point.elapsed_seconds = Seconds(last_finished - train_start);
    pending.push_back(std::move(r));
  };

  for (;;) {
    // Finished device work first: at most steps_in_flight steps stay queued.
    while (in_flight.size() >= steps_in_flight) finish_oldest();
    if (pending.size() >= flush_max_points || Clock::now() - last_flush >= flush_interval)
      GS_RETURN_IF_ERROR(flush());
    if (result->diverged) break;
    // A step starts only while time is left (and below the step limit).
    if (Clock::now() >= deadline) break;
    if (options.max_steps > 0 && step >= options.max_steps) break;

    if (batch_in_epoch == steps_per_epoch) {
      // One host-to-device copy per epoch, none per step: the order (and
      // the augmentation) of a whole epoch move at once.
      order = ToDeviceAsync(torch::randperm(train_size, order_generator, torch::kLong), device);
      if (job.dataset.augment)
        crop_flip = ToDeviceAsync(
            DrawCropFlip(steps_per_epoch * batch_size, kAugmentPadding, augment_generator), device);
      batch_in_epoch = 0;
    }
    const int64_t batch_begin = batch_in_epoch * batch_size;
    const torch::Tensor index = order.slice(0, batch_begin, batch_begin + batch_size);
    torch::Tensor x = ModelInputs(*data, data->train_x.index_select(0, index));
    if (job.dataset.augment)
      x = CropFlip(x, crop_flip.slice(0, batch_begin, batch_begin + batch_size), kAugmentPadding);
    const torch::Tensor y = data->train_y.index_select(0, index);

    const double lr = schedule.At(step);
    StepRecord record;
    if (line_search) {
      // PAL zeroes the gradients and evaluates this batch's loss itself,
      // with backward at theta and without at its measuring point, and
      // makes no update from a non-finite loss; the loss it returns is l(0).
      record.loss = optimizer->step(
          [&] { return CrossEntropy(model->forward(x), y, at::Reduction::Mean); });
      record.rate = LastEffectiveLearningRate(*optimizer);
    } else {
      SetLearningRate(*optimizer, lr);
      optimizer->zero_grad();
      torch::Tensor loss = CrossEntropy(model->forward(x), y, at::Reduction::Mean);
      loss.backward();
      optimizer->step();
      record.loss = loss.detach();
    }
    fence.Record();
    ++step;
    ++batch_in_epoch;
    record.point.step = step;
    record.point.epoch = static_cast<double>(step * batch_size) / static_cast<double>(train_size);
    record.point.learning_rate = lr;  // PAL's own rate replaces it at the flush
    in_flight.push_back(std::move(record));
  }
  // The steps still queued ran on the device: wait for them, then read the
  // last losses.
  while (!in_flight.empty()) finish_oldest();
  const Clock::time_point train_end = Clock::now();
  GS_RETURN_IF_ERROR(flush());
  result->train_seconds = Seconds(train_end - train_start);
  result->steps = finite_steps;
  result->epochs =
      static_cast<double>(finite_steps * batch_size) / static_cast<double>(train_size);

  // --- Final metrics (outside the budget). ---
  const Clock::time_point eval_start = Clock::now();
  {
    torch::NoGradGuard no_grad;
    model->eval();
    double train_accuracy = kNaN;  // not reported; computed alongside the loss
    Evaluate(model, *data, data->train_x, data->train_y, &result->final_train_loss,
             &train_accuracy);
    if (data->test_x.defined() && data->test_x.size(0) > 0)
      Evaluate(model, *data, data->test_x, data->test_y, &result->test_loss,
               &result->test_accuracy);
    result->log_loss_integral = log_loss.Value();
  }
  result->eval_seconds = Seconds(Clock::now() - eval_start);
  return Status::OK();
}

Trainer::Trainer(TrainerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  try {
    if (impl_->options.threads > 0) {
      torch::set_num_threads(impl_->options.threads);
      SetBlasThreads(impl_->options.threads);
    }
    impl_->device = torch::Device(impl_->options.device);
    if (impl_->device.is_cuda()) {
      at::globalContext().setBenchmarkCuDNN(impl_->options.cudnn_benchmark);
      if (!torch::cuda::is_available()) {
        impl_->device_status = Status::FailedPrecondition(
            "device " + impl_->options.device + ": this LibTorch build or machine has no CUDA");
      } else if (impl_->device.has_index() &&
                 impl_->device.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
        impl_->device_status = Status::InvalidArgument(
            "device " + impl_->options.device + ": only " +
            std::to_string(torch::cuda::device_count()) + " CUDA device(s) present");
      }
    } else if (!impl_->device.is_cpu()) {
      impl_->device_status = Status::InvalidArgument(
          "device " + impl_->options.device + ": expected \"cpu\" or \"cuda:N\"");
    }
  } catch (const c10::Error& e) {
    impl_->device_status = Status::InvalidArgument("device '" + impl_->options.device +
                                                   "': " + e.what_without_backtrace());
  }
}

Trainer::~Trainer() = default;

Status Trainer::Run(const JobSpec& job, const CurveSink& sink, JobResult* result) {
  *result = JobResult();
  result->device = DeviceName();
  result->software = SoftwareVersion();
  if (!impl_->device_status.ok()) return impl_->device_status;
  try {
    return impl_->RunJob(job, sink, result);
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("LibTorch error: ") + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory while running the job");
  } catch (const std::exception& e) {
    return Status::Internal(e.what());
  }
}

std::string Trainer::DeviceName() const {
  if (!impl_->device_status.ok()) return impl_->options.device;
  std::string name = impl_->device.str();
  // A worker of `--devices` sees only its own GPU as cuda:0; which GPU that
  // is, is said by the variable.
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (impl_->device.is_cuda() && visible != nullptr && *visible != '\0')
    name += std::string(" (CUDA_VISIBLE_DEVICES=") + visible + ")";
  return name;
}

void KeepFreedMemoryForTraining() {
  // Otherwise glibc hands large activation buffers back to the kernel and
  // every step page-faults them in again, which on a virtual machine made
  // CNN steps about 3x slower. A job trains the same shapes step after step,
  // so the retained memory is reused.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

std::string Trainer::SoftwareVersion() {
#ifdef TORCH_VERSION
  return std::string("libtorch ") + TORCH_VERSION;
#elif defined(TORCH_VERSION_MAJOR)
  return "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." +
         std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
#else
  return "libtorch (unknown version)";
#endif
}

}  // namespace gridsearch
