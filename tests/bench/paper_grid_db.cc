// paper_grid_db: writes a sweep of the PAL papers' scale with simulated
// results into a SQLite file, through the coordinator's real JobStore
// (SubmitSweep, then LeaseJob and CompleteJob for every job, from several
// threads, as workers would). For the dashboard's and the queries'
// benchmarks: a full study's file without weeks of GPU time.
//
// The grid: 4,080 configurations of ResNet-32 on CIFAR-10 — PAL's ablation
// grid of PAL 2019 section 4.1 (1,080) and 1,000 each of SGD, Adam and
// RMSProp (learning rate x momentum or beta1 or alpha x decay) — times the
// seeds. Each configuration's quality is a fixed function of its
// parameters, so rankings, ablations and box plots have structure; the
// largest SGD learning rates with high momentum diverge.
//
// --scale 10 and --scale 100 make the same study at a tenth and a hundredth
// of its configurations (408: PAL 2019 section 4.2's count, PAL 108 and 100
// each of the others; 40: PAL 16 and 8 each), every value list cut to fewer
// values, keeping each ablation feature's "off" value and a diverging corner
// of SGD. Seeds and points per job stay as given, so each configuration's
// curves are as long as in the full study.
//
// usage: paper_grid_db --db FILE [--seeds 10] [--points 1000] [--threads 8] [--scale 1|10|100]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/job_store.h"

using namespace gridsearch;
using json = nlohmann::json;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

json Range(double first, double step, int n) {
  json v = json::array();
  for (int i = 0; i < n; ++i) v.push_back(std::round((first + step * i) * 1e6) / 1e6);
  return v;
}

json LogRange(double first, double factor, int n) {
  json v = json::array();
  double x = first;
  for (int i = 0; i < n; ++i, x *= factor) v.push_back(std::stod(std::to_string(x)));
  return v;
}

// The optimizers' grids at 1/scale of the full study's configurations.
json PaperGrids(int scale) {
  if (scale == 10) {
    const json lrs = LogRange(1e-4, 10, 5);          // 1e-4 .. 1
    const json decays = Range(0.85, 0.05, 4);        // 0.85 .. 1
    const json second = Range(0.5, 0.1, 5);          // 0.5 .. 0.9
    return {{"pal", {{"measuring_step", {0.1, 0.01, 0.001}},
                     {"momentum", {0, 0.4, 0.8}},
                     {"loose_approximation", {0.6, 1, 1.2}},
                     {"max_step", {0.1, 1}},
                     {"decay", {0.9, 1}}}},
            {"sgd", {{"lr", lrs}, {"momentum", Range(0, 0.2, 5)}, {"decay", decays}}},
            {"adam", {{"lr", lrs}, {"beta1", second}, {"beta2", {0.999}}, {"eps", {1e-8}},
                      {"decay", decays}}},
            {"rmsprop", {{"lr", lrs}, {"alpha", second}, {"eps", {1e-10}}, {"decay", decays}}}};
  }
  if (scale == 100) {
    const json lrs = {0.001, 1};
    const json decays = {0.9, 1};
    return {{"pal", {{"measuring_step", {0.1}},
                     {"momentum", {0, 0.6}},
                     {"loose_approximation", {0.6, 1}},
                     {"max_step", {0.1, 1}},
                     {"decay", decays}}},
            {"sgd", {{"lr", lrs}, {"momentum", {0, 0.9}}, {"decay", decays}}},
            {"adam", {{"lr", lrs}, {"beta1", {0.5, 0.9}}, {"beta2", {0.999}}, {"eps", {1e-8}},
                      {"decay", decays}}},
            {"rmsprop", {{"lr", lrs}, {"alpha", {0.5, 0.9}}, {"eps", {1e-10}}, {"decay", decays}}}};
  }
  const json lrs = LogRange(1e-4, std::pow(10.0, 4.0 / 9), 10);   // 1e-4 .. 1
  const json decays = Range(0.55, 0.05, 10);                        // 0.55 .. 1
  return {{"pal", {{"measuring_step", {0.1, 0.01, 0.001}},
                   {"momentum", {0, 0.2, 0.4, 0.6, 0.8, 1}},
                   {"loose_approximation", {0.2, 0.4, 0.6, 0.8, 1, 1.2}},
                   {"max_step", {0.1, 1}},
                   {"decay", {0.8, 0.85, 0.9, 0.95, 1}}}},
          {"sgd", {{"lr", lrs}, {"momentum", Range(0, 0.1, 10)}, {"decay", decays}}},
          {"adam", {{"lr", lrs}, {"beta1", Range(0.5, 0.05, 10)}, {"beta2", {0.999}},
                    {"eps", {1e-8}}, {"decay", decays}}},
          {"rmsprop", {{"lr", lrs}, {"alpha", Range(0.5, 0.05, 10)}, {"eps", {1e-10}},
                       {"decay", decays}}}};
}

std::string PaperSpec(int seeds, int scale) {
  json s = json::array();
  for (int i = 1; i <= seeds; ++i) s.push_back(i);
  json spec = {
      {"name", "PAL 2019 grid, simulated results"},
      {"model", "resnet32"},
      {"dataset", {{"name", "cifar10"}, {"path", "/data/cifar-10-batches-bin"}, {"train_size", 45000}}},
      {"batch_size", 100},
      {"budget_seconds", 1800},
      {"seeds", s},
      {"decay_steps", "epoch"},
      {"optimizers", PaperGrids(scale)},
      {"ablation",
       {{"optimizer", "pal"},
        {"features", {{"momentum", 0}, {"loose_approximation", 1}, {"decay", 1}}}}}};
  return spec.dump();
}

// A number in [0, 1) fixed by the text.
double Unit(const std::string& text) {
  return static_cast<double>(std::hash<std::string>()(text) % 1000003) / 1000003.0;
}

// The simulated outcome of one job.
void Simulate(const JobSpec& job, int points, JobResult* r, std::vector<CurvePoint>* curve) {
  const double quality = Unit(job.optimizer + job.params_json);   // 0: best
  const double noise = Unit(job.params_json + std::to_string(job.seed)) - 0.5;
  auto param = [&](const char* name) {
    auto it = job.params.find(name);
    return it == job.params.end() ? 0.0 : it->second;
  };
  const bool diverges = job.optimizer == "sgd" && param("lr") >= 0.5 && param("momentum") >= 0.8;
  double final_loss = 0.02 + 1.5 * quality * quality + 0.01 * noise;
  if (job.optimizer == "pal") final_loss *= 0.8;
  const double budget = job.budget_seconds;
  const int n = diverges ? std::max(1, points / 10) : points;
  curve->clear();
  double integral = 0, last_log = 0, last_t = 0;
  for (int i = 0; i < n; ++i) {
    CurvePoint p;
    p.elapsed_seconds = budget * (i + 1) / points;
    p.step = (i + 1) * 50;
    p.epoch = p.step * 100.0 / 45000;
    const double decay = std::exp(-5 * p.elapsed_seconds / budget);
    p.loss = final_loss + (2.3 - final_loss) * decay * (1 + 0.05 * std::sin(i + noise));
    if (diverges && i == n - 1) p.loss = NAN;
    const double lr = job.optimizer == "pal" ? param("max_step") : param("lr");
    p.learning_rate = lr * std::pow(param("decay") > 0 ? param("decay") : 1, p.epoch);
    if (std::isfinite(p.loss)) {
      const double lg = std::log10(p.loss);
      if (i > 0) integral += 0.5 * (lg + last_log) * (p.elapsed_seconds - last_t);
      last_log = lg;
      last_t = p.elapsed_seconds;
    }
    curve->push_back(p);
  }
  r->diverged = diverges;
  r->setup_seconds = 3.5;
  r->train_seconds = diverges ? curve->back().elapsed_seconds : budget;
  r->eval_seconds = 12;
  r->steps = curve->back().step;
  r->epochs = curve->back().epoch;
  if (!diverges) {
    r->final_train_loss = final_loss;
    r->log_loss_integral = integral / budget;
    r->test_loss = final_loss * 1.3;
    r->test_accuracy = std::max(0.1, 0.95 - final_loss / 3);
  }
  r->device = "cuda:0 (simulated)";
  r->software = "paper_grid_db";
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  int seeds = 10, points = 1000, threads = 8, scale = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db")) db = argv[i + 1];
    else if (!std::strcmp(argv[i], "--seeds")) seeds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--points")) points = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--scale")) scale = std::atoi(argv[i + 1]);
  }
  if (db.empty() || seeds < 1 || points < 2 || threads < 1 ||
      (scale != 1 && scale != 10 && scale != 100)) {
    std::fprintf(stderr,
                 "usage: paper_grid_db --db FILE [--seeds 10] [--points 1000] [--threads 8] "
                 "[--scale 1|10|100]\n");
    return 2;
  }
  if (access(db.c_str(), F_OK) == 0) {
    std::fprintf(stderr, "paper_grid_db: %s exists; give a new file\n", db.c_str());
    return 2;
  }
  CoordinatorOptions options;
  options.db_path = db;
  std::unique_ptr<JobStore> store;
  Status s = JobStore::Open(options, nullptr, &store);
  int64_t sweep = 0, total = 0, configs = 0;
  if (s.ok()) s = store->SubmitSweep(PaperSpec(seeds, scale), &sweep, &total, &configs);
  if (!s.ok()) {
    std::fprintf(stderr, "paper_grid_db: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "sweep %lld: %lld configurations x %d seeds = %lld jobs, %d points each\n",
               static_cast<long long>(sweep), static_cast<long long>(configs), seeds,
               static_cast<long long>(total), points);
  std::atomic<int64_t> done{0}, errors{0};
  const double start = Now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      WorkerInfo worker{"sim-" + std::to_string(t), "simulated", "cuda:0", "paper_grid_db"};
      JobResult result;
      std::vector<CurvePoint> curve;
      while (true) {
        bool has = false;
        LeasedJob leased;
        if (!store->LeaseJob(worker, 0, &has, &leased).ok()) {
          ++errors;
          return;
        }
        if (!has) return;
        result = JobResult();
        Simulate(leased.job, points, &result, &curve);
        if (!store->CompleteJob(leased.job.job_id, leased.lease_id, result, curve).ok()) ++errors;
        const int64_t n = ++done;
        if (n % 2000 == 0)
          std::fprintf(stderr, "  %lld/%lld jobs, %.0f s\n", static_cast<long long>(n),
                       static_cast<long long>(total), Now() - start);
      }
    });
  }
  for (auto& t : pool) t.join();
  store->Shutdown();
  std::printf("wrote %s: sweep %lld, %lld jobs in %.1f s, %lld errors\n", db.c_str(),
              static_cast<long long>(sweep), static_cast<long long>(done.load()), Now() - start,
              static_cast<long long>(errors.load()));
  return errors.load() == 0 ? 0 : 1;
}
