// The job file of `gridsearch train` (common/train_job.h): one value per
// field, the same checks and messages as a sweep spec, and the same JobSpec
// a coordinator would hand a worker.
#include "common/train_job.h"

#include <gtest/gtest.h>

#include <string>

#include "common/sweep_spec.h"

namespace gridsearch {
namespace {

const char kJob[] = R"({"model": "mlp", "dataset": {"name": "fashion-mnist", "train_size": 2000},
  "batch_size": 50, "budget_seconds": 2, "seed": 3, "device": "cpu", "dropout": 0.1,
  "decay_steps": 40, "optimizers": {"sgd": {"lr": 0.1, "momentum": 0.9}}})";

TEST(TrainJobTest, OneValuePerFieldGivesTheJob) {
  TrainJob t;
  Status s = ParseTrainJob(kJob, &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.device, "cpu");
  EXPECT_EQ(t.job.optimizer, "sgd");
  EXPECT_EQ(t.job.seed, 3);
  EXPECT_EQ(t.job.model, "mlp");
  EXPECT_EQ(t.job.dataset.name, "fashion-mnist");
  EXPECT_EQ(t.job.dataset.train_size, 2000);
  EXPECT_EQ(t.job.batch_size, 50);
  EXPECT_EQ(t.job.budget_seconds, 2);
  EXPECT_EQ(t.job.decay_steps, 40);
  EXPECT_DOUBLE_EQ(t.job.dropout, 0.1);
  // Every parameter, the defaults filled in, as a worker gets them.
  EXPECT_EQ(t.job.params.at("lr"), 0.1);
  EXPECT_EQ(t.job.params.at("momentum"), 0.9);
  EXPECT_EQ(t.job.params.at("decay"), 1);
  EXPECT_EQ(t.job.params.count("nesterov"), 1u);
  EXPECT_EQ(t.job.job_id, 0);
}

TEST(TrainJobTest, SameJobAsTheCoordinatorWouldHandOut) {
  // The file read as a sweep, expanded, and made into a job the way the
  // coordinator's lease does it.
  TrainJob t;
  ASSERT_TRUE(ParseTrainJob(kJob, &t).ok());
  const GridPoint point = ExpandGrid(t.spec).at(0);
  JobSpec leased;
  ASSERT_TRUE(MakeJobSpec(t.spec, point.optimizer, point.params_json, t.spec.seeds[0], &leased).ok());
  EXPECT_EQ(leased.params, t.job.params);
  EXPECT_EQ(leased.model, t.job.model);
  EXPECT_EQ(leased.budget_seconds, t.job.budget_seconds);
}

TEST(TrainJobTest, SeedsListAndAliasesWork) {
  TrainJob t;
  Status s = ParseTrainJob(R"({"model": "logreg", "dataset": "synthetic", "batch_size": 8,
      "budget_seconds": 1, "seeds": [7], "optimizers": {"pal": {"update_step_adaptation": 2}}})",
                           &t);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(t.job.seed, 7);
  EXPECT_TRUE(t.device.empty());
  EXPECT_DOUBLE_EQ(t.job.params.at("loose_approximation"), 0.5);
}

TEST(TrainJobTest, RefusalsNameTheProblem) {
  auto refused = [](const std::string& text) {
    TrainJob t;
    Status s = ParseTrainJob(text, &t);
    EXPECT_EQ(s.code(), Status::kInvalidArgument) << text;
    return s.message();
  };
  const std::string base = R"("model": "mlp", "dataset": "synthetic", "batch_size": 8,
      "budget_seconds": 1)";
  EXPECT_NE(refused("{" + base + R"(, "seeds": [1, 2], "optimizers": {"sgd": {}}})")
                .find("1 configuration(s) x 2 seed(s)"),
            std::string::npos);
  EXPECT_NE(refused("{" + base + R"(, "seed": 1, "optimizers": {"sgd": {"lr": [0.1, 0.2]}}})")
                .find("2 configuration(s) x 1 seed(s)"),
            std::string::npos);
  EXPECT_NE(refused("{" + base + R"(, "seed": 1, "optimizers": {"sgd": {}, "adam": {}}})")
                .find("2 configuration(s)"),
            std::string::npos);
  EXPECT_NE(refused("{" + base + R"(, "seed": 1, "seeds": [1], "optimizers": {"sgd": {}}})")
                .find("seed or seeds"),
            std::string::npos);
  EXPECT_NE(refused("{" + base + R"(, "seed": 1, "device": 0, "optimizers": {"sgd": {}}})")
                .find("device"),
            std::string::npos);
  EXPECT_NE(refused("{" + base + R"(, "seed": 1, "optimizers": {"sgd": {"momentun": 0.9}}})")
                .find("optimizers.sgd.momentun"),
            std::string::npos);
  EXPECT_NE(refused(R"({"model": "mlp", "seed": 1})").find("dataset"), std::string::npos);
  EXPECT_NE(refused("[1]").find("object"), std::string::npos);
  EXPECT_NE(refused("{").find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace gridsearch
