// pal_step: what a PAL step costs against an SGD step, and against the
// floor of the papers' cost model. For each model (the mlp and the small cnn
// at batch 100, Fashion-MNIST-shaped input) on each device (the CPU, and
// cuda:0 when there is one) it times, in one run and interleaved:
//
//   F    forward with autograd            F0   forward under NoGradGuard
//   B    backward (after an untimed F)
//   SGD  zero_grad + F + B + SGD's update, as the trainer drives it
//   PAL  PAL's step: zero_grad + F + B + F0 + the line search and update
//
// (--models and --batch choose others: the paper networks take CIFAR-shaped
// input, 3x32x32, e.g. --models resnet32,vgg16,densenet40 on a GPU)
// and prints PAL/SGD beside the floor (F + F0 + B) / (F + B): a PAL step
// needs one more forward pass than an SGD step, and no more than that should
// be paid. Target: PAL/SGD within 5% of the floor. Two pairings: both
// without momentum, and both with it (SGD 0.9, PAL's default 0.4).
//
// Each figure is the minimum over interleaved rounds of the mean over a
// batch of iterations sized to ~0.2 s; on a GPU each batch ends with a
// synchronisation (B alone synchronises per iteration to isolate it). With
// one CPU thread the clock is the thread's CPU time (see Now()), else wall
// time.
//
// Allocator: by default the bench first asks glibc to keep freed memory
// (mallopt: no mmap below 32 MiB, no trimming). Otherwise every large
// activation buffer is a fresh mmap whose pages fault in on first touch, and
// on a virtual machine those faults can cost more than the arithmetic (the
// cnn's SGD step ran ~3x slower here), varying with the allocation pattern
// rather than with the passes the cost model counts. --malloc default keeps
// glibc's behaviour.
//
// usage: pal_step [--threads 1] [--rounds 7] [--device cpu|cuda|all]
//                 [--malloc retain|default] [--models mlp,cnn] [--batch 100]
#include <dlfcn.h>
#include <malloc.h>
#include <time.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "models/models.h"
#include "optimizers/pal.h"

using namespace gridsearch;

namespace {

// Examples per step, as in the papers' CIFAR-10 runs (--batch).
int64_t batch = 100;
// Wall time one measurement aims at.
constexpr double kTargetSeconds = 0.2;
// The target of the issue: PAL/SGD at most this factor above the floor.
constexpr double kTolerance = 1.05;
// glibc's largest mmap threshold on 64-bit systems, and a trim threshold
// that keeps freed memory in the heap.
constexpr int kMmapThresholdMax = 32 << 20;
constexpr int kTrimThreshold = 1 << 30;

// Seconds on the clock that times a measurement: wall time, or this
// thread's CPU time. On a CPU run with one thread all the work happens in the
// calling thread (LibTorch and OpenBLAS both run inline), and its CPU time
// leaves out the time other processes on a shared machine take from it.
bool use_thread_time = false;

double Now() {
  if (use_thread_time) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// As the trainer does: LibTorch's thread setting does not reach an OpenBLAS
// that Debian's LibTorch calls through libblas.so.3.
void SetBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn != nullptr) fn(threads);
}

// Noise on a shared machine only ever adds time: the least disturbed round
// is the best estimate of the cost.
double Best(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

struct Bench {
  torch::Device device;
  torch::nn::Sequential model;
  torch::Tensor x, y;

  void Sync() const {
    if (device.is_cuda()) torch::cuda::synchronize();
  }
  torch::Tensor Loss() {
    return torch::nll_loss(torch::log_softmax(model->forward(x), 1), y);
  }
  void ZeroGrad() {
    for (auto& p : model->parameters())
      if (p.grad().defined()) p.grad().zero_();
  }
};

// Seconds per call of `body`, over `n` calls, synchronised at the end.
double TimeLoop(Bench& b, int n, const std::function<void()>& body) {
  b.Sync();
  const double start = Now();
  for (int i = 0; i < n; ++i) body();
  b.Sync();
  return (Now() - start) / n;
}

struct Row {
  double f = 0, f0 = 0, backward = 0;
  double sgd[2] = {0, 0}, pal[2] = {0, 0};  // [0]: no momentum, [1]: momentum
};

// The input of `name`: Fashion-MNIST's for the small models, CIFAR's for
// the paper networks.
std::vector<int64_t> InputShape(const std::string& name) {
  if (name == "logreg" || name == "mlp" || name == "cnn") return {1, 28, 28};
  return {3, 32, 32};
}

// A fresh `name` on `device`, built from the same seed each time.
torch::nn::Sequential Build(const std::string& name, torch::Device device) {
  torch::nn::Sequential model;
  torch::manual_seed(1);
  Status s = MakeModel(name, InputShape(name), 10, &model);
  if (!s.ok()) {
    std::fprintf(stderr, "pal_step: %s\n", s.ToString().c_str());
    std::exit(1);
  }
  model->to(device);
  model->train();
  return model;
}

Row Measure(const std::string& name, torch::Device device, int rounds) {
  Bench b{device, Build(name, device), {}, {}};
  std::vector<int64_t> batch_shape = InputShape(name);
  batch_shape.insert(batch_shape.begin(), batch);
  b.x = torch::randn(batch_shape).to(device);
  b.y = torch::randint(10, {batch}, torch::kLong).to(device);

  // Each optimizer gets its own copy of the model: the runs must not disturb
  // each other's weights, yet all of them start from the same network.
  std::vector<torch::nn::Sequential> copies;
  for (int i = 0; i < 4; ++i) copies.push_back(Build(name, device));
  Bench sgd_bench[2] = {{device, copies[0], b.x, b.y}, {device, copies[1], b.x, b.y}};
  Bench pal_bench[2] = {{device, copies[2], b.x, b.y}, {device, copies[3], b.x, b.y}};
  torch::optim::SGD sgd0(copies[0]->parameters(), torch::optim::SGDOptions(0.01));
  torch::optim::SGD sgd1(copies[1]->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  optim::PAL pal0(copies[2]->parameters(), optim::PALOptions().momentum(0));
  optim::PAL pal1(copies[3]->parameters(), optim::PALOptions());
  torch::optim::SGD* sgd[2] = {&sgd0, &sgd1};
  optim::PAL* pal[2] = {&pal0, &pal1};

  auto forward = [&] { b.Loss(); };
  auto forward_no_grad = [&] {
    torch::NoGradGuard no_grad;
    b.Loss();
  };
  auto sgd_step = [&](int m) {
    return [&, m] {
      sgd[m]->zero_grad();
      sgd_bench[m].Loss().backward();
      sgd[m]->step();
    };
  };
  auto pal_step = [&](int m) {
    return [&, m] { pal[m]->step([&, m] { return pal_bench[m].Loss(); }); };
  };
  // Backward alone: an untimed forward before each timed backward.
  auto time_backward = [&](int n) {
    double total = 0;
    for (int i = 0; i < n; ++i) {
      b.ZeroGrad();
      torch::Tensor loss = b.Loss();
      b.Sync();
      const double start = Now();
      loss.backward();
      b.Sync();
      total += Now() - start;
    }
    return total / n;
  };

  // Warm up every path (allocator, kernels, lazy state), then size the loops.
  for (int i = 0; i < 5; ++i) {
    forward();
    forward_no_grad();
    time_backward(1);
    for (int m = 0; m < 2; ++m) {
      sgd_step(m)();
      pal_step(m)();
    }
  }
  const double one = TimeLoop(b, 3, sgd_step(0));
  const int n = std::max(3, static_cast<int>(kTargetSeconds / std::max(one, 1e-6)));

  std::vector<double> f, f0, bw, sg[2], pa[2];
  for (int r = 0; r < rounds; ++r) {
    f.push_back(TimeLoop(b, n, forward));
    f0.push_back(TimeLoop(b, n, forward_no_grad));
    bw.push_back(time_backward(n));
    for (int m = 0; m < 2; ++m) {
      sg[m].push_back(TimeLoop(sgd_bench[m], n, sgd_step(m)));
      pa[m].push_back(TimeLoop(pal_bench[m], n, pal_step(m)));
    }
  }
  Row row;
  row.f = Best(f);
  row.f0 = Best(f0);
  row.backward = Best(bw);
  for (int m = 0; m < 2; ++m) {
    row.sgd[m] = Best(sg[m]);
    row.pal[m] = Best(pa[m]);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  int rounds = 7;
  std::string which = "all";
  std::string malloc_mode = "retain";
  std::vector<std::string> models = {"mlp", "cnn"};
  bool usage = argc % 2 == 0;
  for (int i = 1; i + 1 < argc && !usage; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) {
      threads = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--rounds") == 0) {
      rounds = std::max(1, std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--device") == 0) {
      which = argv[i + 1];
    } else if (std::strcmp(argv[i], "--malloc") == 0) {
      malloc_mode = argv[i + 1];
    } else if (std::strcmp(argv[i], "--models") == 0) {
      models.clear();
      std::string list = argv[i + 1];
      for (size_t begin = 0; begin <= list.size();) {
        const size_t end = std::min(list.find(',', begin), list.size());
        if (end > begin) models.push_back(list.substr(begin, end - begin));
        begin = end + 1;
      }
      usage = models.empty();
    } else if (std::strcmp(argv[i], "--batch") == 0) {
      batch = std::atoll(argv[i + 1]);
      usage = batch <= 0;
    } else {
      usage = true;
    }
  }
  if (usage) {
    std::fprintf(stderr,
                 "usage: pal_step [--threads 1] [--rounds 7] [--device cpu|cuda|all] "
                 "[--malloc retain|default] [--models mlp,cnn] [--batch 100]\n");
    return 2;
  }
  if (malloc_mode == "retain") {
    mallopt(M_MMAP_THRESHOLD, kMmapThresholdMax);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  }
  if (threads > 0) {
    torch::set_num_threads(threads);
    SetBlasThreads(threads);
  }
  std::vector<torch::Device> devices;
  if (which != "cuda") devices.emplace_back(torch::kCPU);
  if (which != "cpu" && torch::cuda::is_available()) devices.emplace_back(torch::kCUDA, 0);
  if (devices.empty()) {
    std::fprintf(stderr, "pal_step: no CUDA device\n");
    return 1;
  }

  std::printf("pal_step: batch %lld, %d CPU thread(s), %d rounds, malloc %s, ms per step\n",
              static_cast<long long>(batch), threads, rounds, malloc_mode.c_str());
  std::printf("%-5s %-10s %7s %7s %7s | %-9s %7s %7s %8s %7s %9s\n", "dev", "model", "F", "F0",
              "B", "momentum", "SGD", "PAL", "PAL/SGD", "floor", "vs floor");
  bool all_ok = true;
  for (const torch::Device& device : devices) {
    use_thread_time = device.is_cpu() && threads == 1;
    std::printf("%s: %s\n", device.is_cuda() ? "cuda" : "cpu",
                use_thread_time ? "thread CPU time" : "wall time");
    for (const std::string& name : models) {
      Row r = Measure(name, device, rounds);
      const double floor = (r.f + r.f0 + r.backward) / (r.f + r.backward);
      for (int m = 0; m < 2; ++m) {
        const double ratio = r.pal[m] / r.sgd[m];
        const bool ok = ratio <= floor * kTolerance;
        all_ok = all_ok && ok;
        std::printf("%-5s %-10s %7.3f %7.3f %7.3f | %-9s %7.3f %7.3f %8.3f %7.3f %+8.1f%%%s\n",
                    device.is_cuda() ? "cuda" : "cpu", name.c_str(), r.f * 1e3, r.f0 * 1e3,
                    r.backward * 1e3, m == 0 ? "none" : "0.9/0.4", r.sgd[m] * 1e3,
                    r.pal[m] * 1e3, ratio, floor, (ratio / floor - 1) * 100, ok ? "" : "  OVER");
      }
    }
  }
  std::printf("target: PAL/SGD <= floor * %.2f: %s\n", kTolerance, all_ok ? "met" : "NOT met");
  return 0;
}
