// Tests of the Trainer against DESIGN.md's "Semantics that must hold": the
// time budget, seeds (weights and data order), decay, divergence, the curve
// sink and the final metrics. Budgets are short and bounds generous: the
// machines running these are small and shared.
#include "worker/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "common/decay.h"
#include "tests/test_device.h"

namespace gridsearch {
namespace {

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz");
}

JobSpec MakeJob(const std::string& optimizer, const std::string& model, double budget_seconds,
                std::map<std::string, double> params = {}, int64_t seed = 1) {
  JobSpec job;
  job.job_id = 1;
  job.optimizer = optimizer;
  EXPECT_TRUE(ResolveParams(optimizer, params, &job.params).ok());
  job.seed = seed;
  job.model = model;
  job.dataset.name = "synthetic";
  job.dataset.train_size = 0;
  job.batch_size = 100;
  job.budget_seconds = budget_seconds;
  return job;
}

// A sink that keeps every point and counts its calls.
struct Recorder {
  std::vector<CurvePoint> points;
  std::vector<size_t> batch_sizes;
  CurveSink Sink() {
    return [this](const std::vector<CurvePoint>& batch) {
      batch_sizes.push_back(batch.size());
      points.insert(points.end(), batch.begin(), batch.end());
      return Status::OK();
    };
  }
  void Clear() {
    points.clear();
    batch_sizes.clear();
  }
  std::vector<double> Losses() const {
    std::vector<double> v;
    for (const auto& p : points) v.push_back(p.loss);
    return v;
  }
};

// Runs `job`, doubling its budget until it took at least `min_steps` steps:
// tests that need a number of steps must not depend on how fast (or how
// loaded) the machine is.
Status RunForSteps(Trainer* trainer, JobSpec job, int64_t min_steps, Recorder* recorder,
                   JobResult* result) {
  for (int attempt = 0; attempt < 7; ++attempt, job.budget_seconds *= 2) {
    recorder->Clear();
    Status s = trainer->Run(job, recorder->Sink(), result);
    if (!s.ok() || result->steps >= min_steps) return s;
  }
  return Status::OK();
}

// Longest step in the curve (the first step's duration is its elapsed time).
double LongestStep(const std::vector<CurvePoint>& points) {
  double longest = 0, previous = 0;
  for (const auto& p : points) {
    longest = std::max(longest, p.elapsed_seconds - previous);
    previous = p.elapsed_seconds;
  }
  return longest;
}

// Trapezoidal time average of log10(loss), computed independently.
double ExpectedLogLossIntegral(const std::vector<CurvePoint>& points) {
  if (points.empty()) return std::numeric_limits<double>::quiet_NaN();
  if (points.size() == 1) return std::log10(points[0].loss);
  double area = 0;
  for (size_t i = 1; i < points.size(); ++i)
    area += (points[i].elapsed_seconds - points[i - 1].elapsed_seconds) *
            (std::log10(points[i].loss) + std::log10(points[i - 1].loss)) / 2;
  return area / (points.back().elapsed_seconds - points.front().elapsed_seconds);
}

// Trainers run on the test device (tests/test_device.h).
TrainerOptions Options() {
  TrainerOptions options;
  options.device = TestDeviceName();
  options.flush_interval_seconds = 0.05;
  return options;
}

TEST(TrainerTest, DescribesItself) {
  Trainer trainer(Options());
  // A GPU's name may go on with the CUDA_VISIBLE_DEVICES entry it is.
  EXPECT_EQ(trainer.DeviceName().rfind(TestDeviceName(), 0), 0u) << trainer.DeviceName();
  EXPECT_EQ(Trainer::SoftwareVersion().rfind("libtorch ", 0), 0u) << Trainer::SoftwareVersion();
}

TEST(TrainerTest, RespectsTheBudgetAndReportsAConsistentCurve) {
  Trainer trainer(Options());
  const double budget = 1.0;
  JobSpec job = MakeJob("sgd", "logreg", budget, {{"lr", 0.01}, {"momentum", 0.9}});
  Recorder recorder;
  JobResult result;
  Status s = trainer.Run(job, recorder.Sink(), &result);
  ASSERT_TRUE(s.ok()) << s.ToString();

  EXPECT_FALSE(result.diverged);
  EXPECT_EQ(result.device, trainer.DeviceName());
  EXPECT_FALSE(result.software.empty());
  EXPECT_GE(result.train_seconds, budget);
  ASSERT_GT(result.steps, 10);
  ASSERT_EQ(static_cast<int64_t>(recorder.points.size()), result.steps);
  // A step starts only while time is left: overshoot <= about one step.
  const double longest_step = LongestStep(recorder.points);
  EXPECT_LE(result.train_seconds - budget, 2 * longest_step + 0.25)
      << "longest step " << longest_step;
  EXPECT_GT(result.setup_seconds, 0);
  EXPECT_GT(result.eval_seconds, 0);

  // Curve: 1-based consecutive steps, increasing time within the budget.
  double previous_elapsed = 0;
  for (size_t i = 0; i < recorder.points.size(); ++i) {
    const CurvePoint& p = recorder.points[i];
    ASSERT_EQ(p.step, static_cast<int64_t>(i + 1));
    ASSERT_GT(p.elapsed_seconds, previous_elapsed);
    ASSERT_TRUE(std::isfinite(p.loss));
    ASSERT_DOUBLE_EQ(p.epoch, static_cast<double>(p.step * 100) / 6000);
    ASSERT_EQ(p.learning_rate, 0.01);
    previous_elapsed = p.elapsed_seconds;
  }
  EXPECT_LE(recorder.points.back().elapsed_seconds, result.train_seconds);
  EXPECT_DOUBLE_EQ(result.epochs, recorder.points.back().epoch);

  // Final metrics.
  EXPECT_TRUE(std::isfinite(result.final_train_loss));
  EXPECT_TRUE(std::isfinite(result.test_loss));
  EXPECT_GE(result.test_accuracy, 0.0);
  EXPECT_LE(result.test_accuracy, 1.0);
  EXPECT_LT(result.final_train_loss, recorder.points.front().loss);  // it learned something
  EXPECT_NEAR(result.log_loss_integral, ExpectedLogLossIntegral(recorder.points), 1e-9);
}

TEST(TrainerTest, SameSeedSameInitialWeightsAcrossOptimizers) {
  Trainer trainer(Options());
  for (const char* model : {"logreg", "mlp"}) {
    std::vector<double> first_loss;
    for (const char* optimizer : {"sgd", "adam", "rmsprop"}) {
      Recorder recorder;
      JobResult result;
      JobSpec job = MakeJob(optimizer, model, 0.05, {}, /*seed=*/42);
      job.dataset.train_size = 1000;  // keeps the final evaluation short
      Status s = trainer.Run(job, recorder.Sink(), &result);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_FALSE(recorder.points.empty());
      first_loss.push_back(recorder.points.front().loss);
    }
    // The first batch loss depends only on the initial weights and the data
    // order: it must be bit-identical.
    EXPECT_EQ(first_loss[0], first_loss[1]) << model;
    EXPECT_EQ(first_loss[0], first_loss[2]) << model;

    Recorder other;
    JobResult result;
    JobSpec job = MakeJob("sgd", model, 0.05, {}, /*seed=*/43);
    job.dataset.train_size = 1000;
    ASSERT_TRUE(trainer.Run(job, other.Sink(), &result).ok());
    ASSERT_FALSE(other.points.empty());
    EXPECT_NE(other.points.front().loss, first_loss[0]) << model;
  }
}

TEST(TrainerTest, SameSeedSameDataOrderEveryEpoch) {
  // With a learning rate far below float resolution the weights never move,
  // so each batch loss depends only on which examples form the batch: equal
  // sequences mean equal data order.
  Trainer trainer(Options());
  auto run = [&](const char* optimizer, int64_t seed, std::vector<double>* losses) {
    JobSpec job = MakeJob(optimizer, "logreg", 0.3, {{"lr", 1e-30}}, seed);
    job.dataset.train_size = 600;  // 6 steps per epoch: many epochs in the budget
    Recorder recorder;
    JobResult result;
    Status s = RunForSteps(&trainer, job, 18, &recorder, &result);
    ASSERT_TRUE(s.ok()) << s.ToString();
    *losses = recorder.Losses();
  };
  std::vector<double> sgd, adam, other_seed;
  run("sgd", 5, &sgd);
  run("adam", 5, &adam);
  run("sgd", 6, &other_seed);
  const size_t n = std::min({sgd.size(), adam.size(), other_seed.size()});
  ASSERT_GE(n, 18u) << "too few steps to compare three epochs";
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(sgd[i], adam[i]) << "step " << i + 1;
  // A new permutation each epoch, and another seed gives another order.
  EXPECT_NE(std::vector<double>(sgd.begin(), sgd.begin() + 6),
            std::vector<double>(sgd.begin() + 6, sgd.begin() + 12));
  EXPECT_NE(std::vector<double>(sgd.begin(), sgd.begin() + 6),
            std::vector<double>(other_seed.begin(), other_seed.begin() + 6));
}

TEST(TrainerTest, LearningRateFollowsTheDecaySchedule) {
  Trainer trainer(Options());
  JobSpec job = MakeJob("adam", "logreg", 0.3, {{"lr", 0.01}, {"decay", 0.5}});
  job.dataset.train_size = 600;
  job.batch_size = 64;  // 9 full batches per epoch; 24 examples dropped
  Recorder recorder;
  JobResult result;
  ASSERT_TRUE(RunForSteps(&trainer, job, 11, &recorder, &result).ok());
  ASSERT_GT(recorder.points.size(), 10u);
  for (const CurvePoint& p : recorder.points) {
    // decay_steps 0 means one epoch: 600 / 64 = 9 steps; step t uses t-1.
    ASSERT_DOUBLE_EQ(p.learning_rate, ExponentialDecay(0.01, 0.5, p.step - 1, 9)) << p.step;
    ASSERT_DOUBLE_EQ(p.epoch, static_cast<double>(p.step * 64) / 600);
  }

  job.decay_steps = 4;
  Recorder explicit_steps;
  ASSERT_TRUE(RunForSteps(&trainer, job, 6, &explicit_steps, &result).ok());
  ASSERT_GT(explicit_steps.points.size(), 5u);
  EXPECT_DOUBLE_EQ(explicit_steps.points[4].learning_rate, 0.005);
}

TEST(TrainerTest, HugeLearningRateDivergesEarly) {
  Trainer trainer(Options());
  const double budget = 20;
  JobSpec job = MakeJob("sgd", "mlp", budget, {{"lr", 1e6}});
  job.dataset.train_size = 1000;
  Recorder recorder;
  JobResult result;
  Status s = trainer.Run(job, recorder.Sink(), &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(result.diverged);
  EXPECT_LT(result.train_seconds, budget / 2);  // the budget is not wasted
  EXPECT_EQ(static_cast<int64_t>(recorder.points.size()), result.steps);
  for (const CurvePoint& p : recorder.points) EXPECT_TRUE(std::isfinite(p.loss));
}

TEST(TrainerTest, SinkErrorStopsTheJobWithThatStatus) {
  TrainerOptions options = Options();
  options.flush_max_points = 3;
  Trainer trainer(options);
  int calls = 0;
  CurveSink sink = [&](const std::vector<CurvePoint>& batch) {
    ++calls;
    EXPECT_EQ(batch.size(), 3u);
    return Status(Status::kAborted, "lease 7 was lost");
  };
  JobResult result;
  const auto start = std::chrono::steady_clock::now();
  Status s = trainer.Run(MakeJob("sgd", "logreg", 10), sink, &result);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.code(), Status::kAborted);
  EXPECT_EQ(s.message(), "lease 7 was lost");
  EXPECT_EQ(calls, 1);
  EXPECT_LT(wall, 5);
}

TEST(TrainerTest, FlushesByCountByTimeAndAtTheEnd) {
  TrainerOptions options = Options();
  options.flush_interval_seconds = 1000;  // count only
  options.flush_max_points = 7;
  Trainer trainer(options);
  Recorder by_count;
  JobResult result;
  ASSERT_TRUE(RunForSteps(&trainer, MakeJob("sgd", "logreg", 0.3), 8, &by_count, &result).ok());
  ASSERT_GE(by_count.batch_sizes.size(), 2u);
  for (size_t i = 0; i + 1 < by_count.batch_sizes.size(); ++i)
    EXPECT_EQ(by_count.batch_sizes[i], 7u);
  EXPECT_GE(by_count.batch_sizes.back(), 1u);
  EXPECT_LE(by_count.batch_sizes.back(), 7u);
  EXPECT_EQ(static_cast<int64_t>(by_count.points.size()), result.steps);

  options.flush_interval_seconds = 0.1;  // time only
  options.flush_max_points = 1000000;
  Trainer timed(options);
  Recorder by_time;
  ASSERT_TRUE(timed.Run(MakeJob("sgd", "logreg", 0.6), by_time.Sink(), &result).ok());
  EXPECT_GE(by_time.batch_sizes.size(), 3u);
  EXPECT_LE(by_time.batch_sizes.size(), 12u);
  EXPECT_EQ(static_cast<int64_t>(by_time.points.size()), result.steps);

  // No sink at all is allowed.
  ASSERT_TRUE(timed.Run(MakeJob("sgd", "logreg", 0.05), CurveSink(), &result).ok());
  EXPECT_GT(result.steps, 0);
}

TEST(TrainerTest, ZeroBudgetTrainsNothingButStillEvaluates) {
  Trainer trainer(Options());
  Recorder recorder;
  JobResult result;
  ASSERT_TRUE(trainer.Run(MakeJob("adam", "logreg", 0), recorder.Sink(), &result).ok());
  EXPECT_EQ(result.steps, 0);
  EXPECT_TRUE(recorder.points.empty());
  EXPECT_TRUE(std::isnan(result.log_loss_integral));
  EXPECT_TRUE(std::isfinite(result.final_train_loss));
  EXPECT_NEAR(result.final_train_loss, std::log(10.0), 1.0);  // an untrained model
}

TEST(TrainerTest, BadJobsAreErrorsNotExceptions) {
  Trainer trainer(Options());
  JobResult result;
  JobSpec job = MakeJob("sgd", "logreg", 0.1);
  job.model = "transformer";
  EXPECT_EQ(trainer.Run(job, nullptr, &result).code(), Status::kInvalidArgument);

  job = MakeJob("sgd", "logreg", 0.1);
  job.optimizer = "lion";
  EXPECT_EQ(trainer.Run(job, nullptr, &result).code(), Status::kInvalidArgument);

  job = MakeJob("sgd", "logreg", 0.1);
  job.dataset.name = "imagenet";
  EXPECT_EQ(trainer.Run(job, nullptr, &result).code(), Status::kInvalidArgument);

  job = MakeJob("sgd", "logreg", 0.1);
  job.batch_size = 7000;
  Status s = trainer.Run(job, nullptr, &result);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("7000"), std::string::npos) << s.message();

  job = MakeJob("sgd", "logreg", 0.1, {{"momentum", 0}});
  job.params["nesterov"] = 1;
  s = trainer.Run(job, nullptr, &result);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("nesterov"), std::string::npos) << s.message();

  job = MakeJob("sgd", "logreg", 0.1);
  job.dataset.name = "mnist";
  job.dataset.path = "/nonexistent/mnist";
  s = trainer.Run(job, nullptr, &result);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/mnist"), std::string::npos) << s.message();

  Trainer bad_device(TrainerOptions{"tpu:0"});
  s = bad_device.Run(MakeJob("sgd", "logreg", 0.1), nullptr, &result);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tpu:0"), std::string::npos) << s.message();
}

TEST(TrainerTest, DivergenceIsFoundAtAFlushAndTheCurveKeepsTheFinitePoints) {
  // Losses are read once per flush (here every 4 steps): the steps after the
  // first non-finite loss are dropped, whatever they gave.
  TrainerOptions options = Options();
  options.flush_interval_seconds = 1000;
  options.flush_max_points = 4;
  Trainer trainer(options);
  for (int64_t train_size : {1000, 600}) {
    const char* optimizer = "sgd";
    const std::map<std::string, double> params = {{"lr", 1e6}};
    JobSpec job = MakeJob(optimizer, "mlp", 20, params);
    job.dataset.train_size = train_size;
    Recorder recorder;
    JobResult result;
    Status s = trainer.Run(job, recorder.Sink(), &result);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(result.diverged) << optimizer;
    EXPECT_LT(result.train_seconds, 10) << optimizer;
    EXPECT_EQ(static_cast<int64_t>(recorder.points.size()), result.steps) << optimizer;
    for (size_t i = 0; i < recorder.points.size(); ++i) {
      EXPECT_TRUE(std::isfinite(recorder.points[i].loss));
      EXPECT_EQ(recorder.points[i].step, static_cast<int64_t>(i + 1));
    }
    for (size_t b : recorder.batch_sizes) EXPECT_LE(b, 4u);
    if (!recorder.points.empty()) {
      EXPECT_NEAR(result.log_loss_integral, ExpectedLogLossIntegral(recorder.points), 1e-9);
    } else {
      EXPECT_TRUE(std::isnan(result.log_loss_integral));
    }
  }
}

TEST(TrainerTest, AStepLimitEndsTrainingAndStepsInFlightChangeNothingButTiming) {
  // With one thread and a step limit the run is exactly reproducible, and
  // queuing steps ahead (as on a GPU) gives the same curve and metrics.
  std::vector<double> losses[2];
  double final_loss[2] = {0, 0};
  for (int depth : {1, 3}) {
    TrainerOptions options = Options();
    options.threads = 1;
    options.max_steps = 25;
    options.steps_in_flight = depth;
    options.flush_max_points = 7;
    Trainer trainer(options);
    JobSpec job = MakeJob("sgd", "mlp", 60, {{"lr", 0.05}, {"momentum", 0.9}});
    job.dataset.train_size = 1000;
    Recorder recorder;
    JobResult result;
    ASSERT_TRUE(trainer.Run(job, recorder.Sink(), &result).ok());
    EXPECT_EQ(result.steps, 25);
    EXPECT_LT(result.train_seconds, 30);  // the limit ended it, not the budget
    ASSERT_EQ(recorder.points.size(), 25u);
    double previous = 0;
    for (const CurvePoint& p : recorder.points) {
      EXPECT_GT(p.elapsed_seconds, previous);
      previous = p.elapsed_seconds;
    }
    losses[depth == 1 ? 0 : 1] = recorder.Losses();
    final_loss[depth == 1 ? 0 : 1] = result.final_train_loss;
  }
  EXPECT_EQ(losses[0], losses[1]);
  EXPECT_EQ(final_loss[0], final_loss[1]);
}

TEST(TrainerTest, OvershootStaysWithinTheStepsInFlight) {
  for (int depth : {1, 2}) {
    TrainerOptions options = Options();
    options.steps_in_flight = depth;
    Trainer trainer(options);
    const double budget = 0.5;
    JobSpec job = MakeJob("sgd", "mlp", budget, {{"lr", 0.01}});
    job.dataset.train_size = 1000;
    Recorder recorder;
    JobResult result;
    ASSERT_TRUE(trainer.Run(job, recorder.Sink(), &result).ok());
    ASSERT_GT(result.steps, 3);
    EXPECT_GE(result.train_seconds, budget);
    EXPECT_LE(result.train_seconds - budget, (depth + 1) * LongestStep(recorder.points) + 0.25)
        << "depth " << depth;
    EXPECT_LE(recorder.points.back().elapsed_seconds, result.train_seconds);
  }
}

TEST(TrainerTest, FashionMnistMlpLearnsAndDataIsCached) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  Trainer trainer(Options());
  JobSpec job = MakeJob("adam", "mlp", 2.0, {{"lr", 0.001}});
  job.dataset.name = "fashion-mnist";
  job.dataset.train_size = 10000;
  Recorder recorder;
  JobResult first;
  Status s = trainer.Run(job, recorder.Sink(), &first);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(first.diverged);
  EXPECT_GE(first.train_seconds, 2.0);
  EXPECT_LE(first.train_seconds - 2.0, 2 * LongestStep(recorder.points) + 0.25);
  EXPECT_TRUE(std::isfinite(first.final_train_loss));
  EXPECT_TRUE(std::isfinite(first.test_loss));
  EXPECT_TRUE(std::isfinite(first.log_loss_integral));
  EXPECT_LT(first.final_train_loss, 1.0);
  EXPECT_GT(first.test_accuracy, 0.5) << "chance is 0.1";
  EXPECT_NEAR(first.epochs, first.steps * 100.0 / 10000, 1e-9);

  // Same data set again: served from the cache, so setup is much shorter;
  // same seed, other optimizer: same first batch loss.
  JobSpec again = MakeJob("sgd", "mlp", 0.05, {{"lr", 0.01}});
  again.dataset = job.dataset;
  Recorder again_recorder;
  JobResult second;
  ASSERT_TRUE(trainer.Run(again, again_recorder.Sink(), &second).ok());
  EXPECT_LT(second.setup_seconds, first.setup_seconds);
  EXPECT_LT(second.setup_seconds, 0.1);
  ASSERT_FALSE(again_recorder.points.empty());
  EXPECT_EQ(again_recorder.points.front().loss, recorder.points.front().loss);
}

}  // namespace
}  // namespace gridsearch
