// End to end with real processes over loopback gRPC: a coordinator process,
// worker processes training on Fashion-MNIST, the CLI reading results; then
// a worker killed with SIGKILL mid-job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "coordinator/database.h"
#include "tests/coordinator_fixture.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::Process;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

const std::string kBin = GRIDSEARCH_BIN;

class EndToEndTest : public testing::CoordinatorFixture {
 protected:
  std::unique_ptr<Process> StartWorker(const std::string& addr, const std::string& id) {
    return std::make_unique<Process>(
        std::vector<std::string>{kBin, "worker", "--coordinator", addr, "--threads", "1",
                                 "--worker-id", id},
        Log());
  }

  int64_t Count(const std::string& where) {
    std::string v = Query("SELECT COUNT(*) FROM jobs WHERE " + where);
    return v.empty() ? -1 : std::stoll(v);
  }
};

json FashionSpec(double budget, std::vector<int> seeds, json optimizers) {
  return testing::FashionSpec("e2e", budget, seeds, optimizers);
}

TEST_F(EndToEndTest, SweepRunsThroughCoordinatorWorkersAndDatabase) {
  std::string addr = StartCoordinator(10);
  json spec = FashionSpec(1, {1, 2},
                          {{"sgd", {{"lr", {0.1, 0.01}}, {"momentum", {0, 0.9}}}},
                           {"adam", {{"lr", {0.001}}}},
                           {"rmsprop", {{"lr", {0.001}}}}});
  int code = 0;
  std::string out = Submit(addr, spec, &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("submitted sweep 1: 12 jobs (6 configurations)"), std::string::npos) << out;

  auto w1 = StartWorker(addr, "e2e-w1");
  auto w2 = StartWorker(addr, "e2e-w2");
  ASSERT_TRUE(WaitFor([&] { return Count("state IN ('done','diverged','failed')") == 12; }, 240))
      << testing::ReadFile(Log());
  EXPECT_EQ(Count("state = 'done'"), 12) << Query("SELECT group_concat(error, ' | ') FROM jobs");
  EXPECT_EQ(Count("attempts = 1"), 12);
  // Both workers took part, and every job was trained within its budget.
  EXPECT_EQ(Query("SELECT COUNT(DISTINCT worker_id) FROM jobs"), "2");
  EXPECT_EQ(Count("train_seconds >= 1.0 AND train_seconds < 2.0"), 12)
      << Query("SELECT group_concat(train_seconds) FROM jobs");
  EXPECT_EQ(Count("final_train_loss > 0 AND test_accuracy > 0.1 AND steps > 0"), 12);
  EXPECT_EQ(Count("setup_seconds IS NOT NULL AND eval_seconds IS NOT NULL AND device = 'cpu'"), 12);
  // Every job's curve is stored, one point per step.
  EXPECT_EQ(Count("(SELECT COUNT(*) FROM curve_points c WHERE c.job_id = jobs.id "
                  "AND c.attempt = jobs.attempts) = jobs.steps"),
            12);

  // results --format json agrees with the stored final losses.
  std::string json_out, err;
  ASSERT_EQ(RunCommand({kBin, "results", "--db", Db(), "--format", "json", "--top", "0"}, &json_out,
                       &err),
            0)
      << err;
  json ranking = json::parse(json_out);
  ASSERT_EQ(ranking.size(), 6u);
  double previous = -1;
  for (const auto& row : ranking) {
    EXPECT_EQ(row["seeds_done"], 2);
    EXPECT_EQ(row["seeds_total"], 2);
    EXPECT_EQ(row["diverged"], 0);
    double mean = row["mean_final_train_loss"];
    EXPECT_GE(mean, previous);  // best first
    previous = mean;
    std::string stored = Query(
        "SELECT AVG(j.final_train_loss) FROM jobs j JOIN configs c ON c.id = j.config_id "
        "WHERE c.optimizer = '" + row["optimizer"].get<std::string>() + "' AND c.params_json = '" +
        row["params"].dump() + "'");
    ASSERT_FALSE(stored.empty()) << row.dump();
    EXPECT_NEAR(mean, std::stod(stored), 1e-9) << row.dump();
  }
  EXPECT_EQ(ranking[0]["rank"], 1);

  // The same ranking through the coordinator's RPC.
  std::string rpc_out;
  ASSERT_EQ(RunCommand({kBin, "results", "--coordinator", addr, "--format", "json", "--top", "0"},
                       &rpc_out, &err),
            0)
      << err;
  EXPECT_EQ(json::parse(rpc_out), ranking);

  std::string status;
  ASSERT_EQ(RunCommand({kBin, "status", "--coordinator", addr, "--sweep", "1", "--format", "json"},
                       &status, &err),
            0)
      << err;
  json st = json::parse(status);
  EXPECT_EQ(st["state"], "finished");
  EXPECT_EQ(st["done"], 12);
}

TEST_F(EndToEndTest, InvalidSpecIsRefusedWithTheFieldNamedAndNothingWritten) {
  std::string addr = StartCoordinator(10);
  json spec = FashionSpec(1, {1}, {{"sgd", {{"momentun", {0.9}}}}});
  int code = 0;
  std::string out = Submit(addr, spec, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("INVALID_ARGUMENT"), std::string::npos) << out;
  EXPECT_NE(out.find("optimizers.sgd.momentun"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'momentum'"), std::string::npos) << out;
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "0");
}

TEST_F(EndToEndTest, KilledWorkersJobIsLeasedAgainAndCompletedOnce) {
  std::string addr = StartCoordinator(2);
  json spec = FashionSpec(4, {1}, {{"sgd", {{"lr", {0.05}}}}});
  int code = 0;
  ASSERT_EQ((Submit(addr, spec, &code), code), 0);

  auto victim = StartWorker(addr, "victim");
  // Wait until the victim is mid-job: leased and some curve points stored.
  ASSERT_TRUE(WaitFor([&] {
                std::string n = Query("SELECT COUNT(*) FROM curve_points");
                return !n.empty() && std::stoll(n) > 0;
              }, 60))
      << testing::ReadFile(Log());
  ASSERT_EQ(Query("SELECT worker_id FROM jobs"), "victim");
  victim->Signal(SIGKILL);
  victim->Wait(10);

  auto rescuer = StartWorker(addr, "rescuer");
  ASSERT_TRUE(WaitFor([&] { return Count("state IN ('done','failed','diverged')") == 1; }, 120))
      << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT state FROM jobs"), "done");
  EXPECT_EQ(Query("SELECT attempts FROM jobs"), "2");
  EXPECT_EQ(Query("SELECT worker_id FROM jobs"), "rescuer");
  EXPECT_NE(Query("SELECT error FROM jobs").find("lease expired"), std::string::npos);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs"), "1");
  // The dead attempt's points stay apart from the finished attempt's curve.
  EXPECT_NE(Query("SELECT COUNT(*) FROM curve_points WHERE attempt = 1"), "0");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM curve_points WHERE attempt = 2"),
            Query("SELECT steps FROM jobs"));
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "results", "--db", Db(), "--format", "json"}, &out, &err), 0) << err;
  json ranking = json::parse(out);
  ASSERT_EQ(ranking.size(), 1u);
  EXPECT_EQ(ranking[0]["seeds_done"], 1);
}

TEST_F(EndToEndTest, LocalRunFinishesAndPrintsTheRanking) {
  json spec = {{"name", "local"},
               {"model", "logreg"},
               {"dataset", "synthetic"},
               {"batch_size", 32},
               {"budget_seconds", 0.5},
               {"seeds", {1, 2}},
               {"optimizers", {{"sgd", {{"lr", {0.1, 0.01}}}}}}};
  std::string path = dir_.File("local.json");
  testing::WriteFile(path, spec.dump());
  std::string out, err;
  int code = RunCommand({kBin, "run", path, "--workers", "2", "--db", Db(), "--quiet"}, &out, &err);
  ASSERT_EQ(code, 0) << out << err;
  EXPECT_NE(out.find("rank"), std::string::npos) << out;
  EXPECT_NE(out.find("lr=0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("2/2"), std::string::npos) << out;
  EXPECT_EQ(Count("state = 'done'"), 4);
}

TEST_F(EndToEndTest, ModelsListsEveryNetworkWithItsParameterCount) {
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "models", "--format", "json"}, &out, &err), 0) << err;
  json j = json::parse(out);
  std::map<std::string, int64_t> count;
  for (const auto& m : j["models"]) count[m["name"]] = m["cifar10_parameters"];
  EXPECT_EQ(count.size(), 9u);
  // Published figures: ResNet-32 about 0.46M, DenseNet-40 (k=12) about 1.0M.
  EXPECT_NEAR(count["resnet32"], 0.46e6, 0.03 * 0.46e6);
  EXPECT_NEAR(count["densenet40"], 1.0e6, 0.03 * 1.0e6);
  for (const auto& [name, n] : count) EXPECT_GT(n, 0) << name;
  EXPECT_EQ(j["optimizers"].size(), 4u);
}

TEST_F(EndToEndTest, RunWithPalAndAnAblationPrintsTheTablesAndDrawsTheFigures) {
  json spec = {{"name", "tables"},
               {"model", "logreg"},
               {"dataset", "synthetic"},
               {"batch_size", 32},
               {"budget_seconds", 0.5},
               {"seeds", {1, 2}},
               {"optimizers",
                {{"pal", {{"momentum", {0, 0.6}}, {"decay", {0.9, 1}}}},
                 {"sgd", {{"lr", {0.1}}}}}},
               {"ablation",
                {{"optimizer", "pal"}, {"features", {{"momentum", 0}, {"decay", 1}}}}}};
  std::string path = dir_.File("tables.json");
  testing::WriteFile(path, spec.dump());
  std::string db = dir_.File("tables.db");
  std::string out, err;
  int code = RunCommand({kBin, "run", path, "--workers", "2", "--db", db, "--quiet"}, &out, &err);
  ASSERT_EQ(code, 0) << out << err;
  for (const char* section : {"Ranking", "Ablation", "Best configuration per optimizer",
                              "Epochs within the budget", "pal (decay+momentum)", "sgd"})
    EXPECT_NE(out.find(section), std::string::npos) << section << "\n" << out;
  for (const char* figure : {"loss_curves", "final_loss_boxplot", "pal_learning_rate"}) {
    std::string png = testing::ReadFile(dir_.File(std::string("tables-plots/") + figure + ".png"));
    EXPECT_EQ(png.substr(0, 4), "\x89PNG") << figure << err;
  }
  // The same tables from the file, as JSON.
  ASSERT_EQ(RunCommand({kBin, "ablation", "--db", db, "--format", "json"}, &out, &err), 0) << err;
  json ablation = json::parse(out);
  ASSERT_EQ(ablation["rows"].size(), 4u);  // 2 features -> 4 groups
  for (const auto& row : ablation["rows"]) {
    EXPECT_EQ(row["configurations"], 1);
    EXPECT_TRUE(row["final_train_loss"]["rank"].is_number()) << row.dump();
  }
  EXPECT_FALSE(ablation["partial"]);
  ASSERT_EQ(RunCommand({kBin, "epochs", "--db", db, "--format", "json"}, &out, &err), 0) << err;
  EXPECT_EQ(json::parse(out)["rows"].size(), 2u);
  ASSERT_EQ(RunCommand({kBin, "curves", "--db", db, "--column", "learning_rate", "--bins", "5",
                        "--format", "json"}, &out, &err), 0) << err;
  json curves = json::parse(out);
  ASSERT_EQ(curves["curves"].size(), 2u);  // each optimizer's best
  for (const auto& c : curves["curves"]) EXPECT_FALSE(c["bins"].empty()) << c.dump();
  ASSERT_EQ(RunCommand({kBin, "results", "--db", db, "--best-per-optimizer", "--split", "momentum",
                        "--format", "json"}, &out, &err), 0) << err;
  json best = json::parse(out);
  ASSERT_EQ(best.size(), 3u);  // sgd, pal with and without momentum
}

}  // namespace
}  // namespace gridsearch
