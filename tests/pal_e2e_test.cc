// End to end: `gridsearch run` trains PAL beside SGD, Adam and RMSProp on
// Fashion-MNIST with real worker processes, and PAL's jobs store curves that
// carry the learning rate PAL chose at each step.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "coordinator/database.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;

const std::string kBin = GRIDSEARCH_BIN;
const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

class PalEndToEndTest : public ::testing::Test {
 protected:
  std::string Db() const { return dir_.File("sweep.db"); }

  std::string Query(const std::string& sql) { return testing::QueryOne(Db(), sql); }

  int64_t Number(const std::string& sql) {
    std::string v = Query(sql);
    return v.empty() ? -1 : std::stoll(v);
  }

  TempDir dir_;
};

TEST_F(PalEndToEndTest, PalRunsBesideTheBaselinesAndRecordsItsLearningRate) {
  if (!std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionMnist;
  // PAL 2020's spellings for one PAL axis each: direction_adaptation is
  // momentum, update_step_adaptation 1/0.6 is loose_approximation 0.6.
  json spec = {{"name", "pal-e2e"},
               {"model", "mlp"},
               {"dataset", {{"name", "fashion-mnist"}, {"train_size", 2000}}},
               {"batch_size", 50},
               {"budget_seconds", 1},
               {"seeds", {1, 2}},
               {"decay_steps", "epoch"},
               {"optimizers",
                {{"pal",
                  {{"measuring_step", {0.1}},
                   {"direction_adaptation", {0, 0.4}},
                   {"update_step_adaptation", {1 / 0.6}},
                   {"decay", {0.95}}}},
                 {"sgd", {{"lr", {0.1}}, {"momentum", {0.9}}}},
                 {"adam", {{"lr", {0.001}}}},
                 {"rmsprop", {{"lr", {0.001}}}}}}};
  const std::string path = dir_.File("pal.json");
  testing::WriteFile(path, spec.dump());
  std::string out, err;
  int code = RunCommand({kBin, "run", path, "--workers", "2", "--threads", "1", "--db", Db(),
                         "--quiet", "--top", "0"},
                        &out, &err);
  ASSERT_EQ(code, 0) << out << err;
  EXPECT_NE(out.find("pal"), std::string::npos) << out;

  const std::string pal_jobs =
      "FROM jobs j JOIN configs c ON c.id = j.config_id WHERE c.optimizer = 'pal'";
  EXPECT_EQ(Number("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 10)
      << Query("SELECT group_concat(state || ': ' || IFNULL(error, ''), ' | ') FROM jobs");
  EXPECT_EQ(Number("SELECT COUNT(*) " + pal_jobs + " AND j.state = 'done' AND j.steps > 0"), 4);
  // The aliases were converted on validation.
  EXPECT_EQ(Number("SELECT COUNT(*) FROM configs WHERE optimizer = 'pal' AND "
                   "params_json LIKE '%\"loose_approximation\":0.6%' AND "
                   "params_json LIKE '%\"momentum\":%'"),
            2)
      << Query("SELECT group_concat(params_json, ' | ') FROM configs");

  // Every PAL curve point carries the learning rate s_upd / ||d|| PAL chose:
  // positive (the MLP's lines almost always have a minimum) and finite, and
  // it changes from step to step, unlike a schedule within one epoch.
  const std::string pal_points =
      "FROM curve_points p JOIN jobs j ON j.id = p.job_id AND p.attempt = j.attempts "
      "JOIN configs c ON c.id = j.config_id WHERE c.optimizer = 'pal'";
  const int64_t points = Number("SELECT COUNT(*) " + pal_points);
  EXPECT_GT(points, 20);
  EXPECT_EQ(Number("SELECT SUM(j.steps) " + pal_jobs), points);
  EXPECT_EQ(Number("SELECT COUNT(*) " + pal_points + " AND p.learning_rate IS NULL"), 0);
  EXPECT_GE(Number("SELECT COUNT(*) " + pal_points + " AND p.learning_rate > 0 AND "
                   "p.learning_rate < 1e6"),
            points * 9 / 10)
      << Query("SELECT group_concat(p.learning_rate) " + pal_points);
  EXPECT_EQ(Number("SELECT COUNT(*) " + pal_points + " AND p.learning_rate < 0"), 0);
  EXPECT_GT(Number("SELECT COUNT(DISTINCT p.learning_rate) " + pal_points), points / 2);
  // The baselines still record their schedule's rate.
  EXPECT_EQ(Number("SELECT COUNT(*) FROM curve_points p JOIN jobs j ON j.id = p.job_id "
                   "JOIN configs c ON c.id = j.config_id WHERE c.optimizer = 'adam' AND "
                   "ABS(p.learning_rate - 0.001) > 1e-12"),
            0);
}

}  // namespace
}  // namespace gridsearch
