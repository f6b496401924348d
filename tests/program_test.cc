// A user's own training program as the trainer, end to end: a real
// coordinator and worker process over loopback, python3 programs from
// tests/programs/ speaking the report protocol, the sweep in a real SQLite
// file. The programs use the Python helper the worker hands them.
#include <signal.h>
#include <sys/types.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/coordinator_fixture.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

const std::string kPrograms = std::string(GRIDSEARCH_SOURCE_DIR) + "/tests/programs/";

json LeastSquaresSpec(const std::string& name, json optimizers, std::vector<int> seeds) {
  return {{"name", name},
          {"program", {{"command", {"python3", kPrograms + "lstsq.py"}}}},
          {"budget_seconds", 30},
          {"seeds", seeds},
          {"optimizers", optimizers}};
}

class ProgramTest : public CoordinatorFixture {
 protected:
  std::unique_ptr<Process> StartWorker(const std::string& addr) {
    return std::make_unique<Process>(
        std::vector<std::string>{Bin(), "worker", "--coordinator", addr, "--threads", "1",
                                 "--worker-id", "program-worker"},
        Log());
  }

  int64_t Count(int64_t sweep, const std::string& where) {
    return QueryNumber(Db(), "SELECT COUNT(*) FROM jobs WHERE sweep_id = " +
                                 std::to_string(sweep) + " AND " + where);
  }

  // Waits until no job of `sweep` is queued or leased.
  bool WaitSweepEnded(int64_t sweep, double seconds) {
    return WaitFor([&] { return Count(sweep, "state IN ('done','failed','diverged')") ==
                                QueryNumber(Db(), "SELECT total_jobs FROM sweeps WHERE id = " +
                                                      std::to_string(sweep)); },
                   seconds);
  }

  // Everything stored of one sweep's jobs and curves, as text.
  std::string Snapshot(int64_t sweep) {
    const std::string id = std::to_string(sweep);
    return Query("SELECT group_concat(x, ';') FROM (SELECT id || state || attempts || "
                 "COALESCE(final_train_loss, '') || COALESCE(error, '') AS x FROM jobs WHERE "
                 "sweep_id = " + id + " ORDER BY id)") + "|" +
           Query("SELECT COUNT(*) || ':' || SUM(loss) || ':' || SUM(step) FROM curve_points "
                 "WHERE job_id IN (SELECT id FROM jobs WHERE sweep_id = " + id + ")");
  }
};

TEST_F(ProgramTest, GridOfAStandardLibraryProgramIsStoredAndRanked) {
  const std::string addr = StartCoordinator(10);
  auto worker = StartWorker(addr);
  const json grid = {{"sgd", {{"lr", {0.01, 0.08}}, {"schedule", {"constant", "inverse"}},
                              {"steps", 150}}}};
  int code = 0;
  json spec = LeastSquaresSpec("lstsq", grid, {1, 2});
  spec["ablation"] = {{"optimizer", "sgd"}, {"features", {{"schedule", "constant"}}}};
  std::string out = Submit(addr, spec, &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitSweepEnded(1, 120)) << ReadFile(Log());
  ASSERT_EQ(Count(1, "state = 'done'"), 8) << ReadFile(Log());

  // Every job's curve is whole, under the attempt that finished it, with
  // the program's own step count and the protocol's fields.
  EXPECT_EQ(Count(1, "steps = 150"), 8);
  EXPECT_EQ(QueryNumber(Db(), "SELECT COUNT(*) FROM curve_points"), 8 * 150);
  EXPECT_EQ(QueryNumber(Db(), "SELECT COUNT(*) FROM curve_points c JOIN jobs j ON j.id = "
                              "c.job_id WHERE c.attempt <> j.attempts"),
            0);
  EXPECT_EQ(Query("SELECT DISTINCT software FROM jobs").rfind("python 3.", 0), 0u);
  EXPECT_EQ(Query("SELECT model || ' on ' || dataset FROM sweeps"), "program on python3 lstsq.py");
  EXPECT_EQ(Count(1, "final_train_loss > 0 AND log_loss_integral IS NOT NULL"), 8);
  // A string parameter reached the program: "inverse" decays the rate.
  EXPECT_DOUBLE_EQ(
      QueryDoubles(Db(), "SELECT c.learning_rate FROM curve_points c JOIN jobs j ON j.id = "
                         "c.job_id JOIN configs g ON g.id = j.config_id WHERE g.params_json = "
                         "'{\"lr\":0.08,\"schedule\":\"inverse\",\"steps\":150}' AND c.step = 100 "
                         "AND j.seed = 1")
          .at(0),
      0.08 / 3);

  // The ranking is the mean over seeds of what the program reported.
  std::string results, err;
  ASSERT_EQ(RunCommand({Bin(), "results", "--db", Db(), "--format", "json"}, &results, &err), 0)
      << err;
  const json ranking = json::parse(results);
  ASSERT_TRUE(ranking.is_array()) << results;
  ASSERT_EQ(ranking.size(), 4u) << results;
  double previous = -1;
  for (const json& r : ranking) {
    const std::string params = r["params"].dump();
    const std::vector<double> losses = QueryDoubles(
        Db(), "SELECT j.final_train_loss FROM jobs j JOIN configs g ON g.id = j.config_id "
              "WHERE g.params_json = '" + params + "'");
    ASSERT_EQ(losses.size(), 2u) << params;
    const double mean = (losses[0] + losses[1]) / 2;
    EXPECT_NEAR(r["mean_final_train_loss"].get<double>(), mean, 1e-12 * mean) << params;
    EXPECT_GE(mean, previous) << "ranking out of order at " << params;
    previous = mean;
  }

  // The tables, curves and figures of the built-in networks work unchanged.
  auto command = [&](std::vector<std::string> argv) {
    std::string text, err;
    argv.insert(argv.begin(), Bin());
    argv.insert(argv.end(), {"--db", Db()});
    EXPECT_EQ(RunCommand(argv, &text, &err), 0) << argv[1] << ": " << err;
    return text;
  };
  const json ablation = json::parse(command({"ablation", "--format", "json"}));
  ASSERT_EQ(ablation["rows"].size(), 2u) << ablation.dump();  // schedule off (constant) and on
  for (const json& row : ablation["rows"]) {
    EXPECT_EQ(row["configurations"], 2) << row.dump();
    EXPECT_EQ(row["final_train_loss"]["params"]["schedule"],
              row["features"]["schedule"] == true ? "inverse" : "constant")
        << row.dump();
  }
  EXPECT_NE(command({"epochs"}).find("sgd"), std::string::npos);
  const json curves = json::parse(command({"curves", "--bins", "10", "--format", "json"}));
  EXPECT_FALSE(curves["curves"].empty()) << curves.dump();
  EXPECT_NE(command({"status", "--sweep", "1"}).find("program on python3 lstsq.py"),
            std::string::npos);
  command({"plot", "--out", dir_.File("plots")});
  EXPECT_FALSE(ReadFile(dir_.File("plots/loss_curves.svg")).empty());

  // The same seed gives the same curve: the same grid again, as sweep 2.
  out = Submit(addr, LeastSquaresSpec("lstsq again", grid, {1, 2}), &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitSweepEnded(2, 120)) << ReadFile(Log());
  ASSERT_EQ(Count(2, "state = 'done'"), 8);
  auto curve = [&](int sweep, int seed) {
    return QueryDoubles(Db(), "SELECT c.loss FROM curve_points c JOIN jobs j ON j.id = c.job_id "
                              "JOIN configs g ON g.id = j.config_id WHERE j.sweep_id = " +
                                  std::to_string(sweep) + " AND j.seed = " + std::to_string(seed) +
                                  " AND g.params_json = "
                                  "'{\"lr\":0.01,\"schedule\":\"constant\",\"steps\":150}' "
                                  "ORDER BY c.step");
  };
  const std::vector<double> first = curve(1, 1);
  ASSERT_EQ(first.size(), 150u);
  EXPECT_EQ(first, curve(2, 1));
  EXPECT_NE(first, curve(1, 2)) << "another seed must give another curve";
  EXPECT_TRUE(worker->Running());
}

TEST_F(ProgramTest, EachMisbehaviourFailsItsJobWithItsCauseAndTheWorkerGoesOn) {
  // A short lease (hangs are found after it) and one attempt per job.
  const std::string addr = StartCoordinator(3, {"--max-attempts", "1"});
  auto worker = StartWorker(addr);
  int code = 0;
  const json good = {{"sgd", {{"lr", 0.05}, {"steps", 50}}}};
  std::string out = Submit(addr, LeastSquaresSpec("before", good, {1}), &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitSweepEnded(1, 60)) << ReadFile(Log());
  ASSERT_EQ(Count(1, "state = 'done'"), 1) << ReadFile(Log());
  const std::string before = Snapshot(1);

  const std::vector<std::string> modes = {"crash",    "hang",  "overrun", "garbage",
                                          "noresult", "flood", "diverge"};
  json bad = {{"name", "misbehaving"},
              {"program",
               {{"command", {"python3", kPrograms + "misbehave.py"}}, {"eval_timeout_seconds", 1}}},
              {"budget_seconds", 1},
              {"seeds", {1}},
              {"optimizers", {{"x", {{"mode", modes}}}}}};
  out = Submit(addr, bad, &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitSweepEnded(2, 150)) << ReadFile(Log());

  const std::map<std::string, std::vector<std::string>> causes = {
      {"crash", {"exited with status 1 before its result", "boom: the training loop crashed"}},
      {"hang", {"program hung: nothing on its report descriptor", "lease timeout"}},
      {"overrun", {"overran its budget"}},
      {"garbage", {"garbage", "not JSON: \"this is not json\""}},
      {"noresult", {"exited with status 0 without a result event", "misbehave: mode noresult"}},
      {"flood", {"flooded its report descriptor"}},
  };
  for (const auto& [mode, needles] : causes) {
    const std::string where = "config_id = (SELECT id FROM configs WHERE sweep_id = 2 AND "
                              "params_json = '{\"mode\":\"" + mode + "\"}')";
    EXPECT_EQ(Query("SELECT state FROM jobs WHERE " + where), "failed") << mode;
    const std::string error = Query("SELECT error FROM jobs WHERE " + where);
    for (const auto& needle : needles) {
      EXPECT_NE(error.find(needle), std::string::npos) << mode << ": " << error;
    }
  }
  // A non-finite loss is a divergence, not a failure; its finite points stay.
  const std::string diverge = "config_id = (SELECT id FROM configs WHERE sweep_id = 2 AND "
                              "params_json = '{\"mode\":\"diverge\"}')";
  EXPECT_EQ(Query("SELECT state || ' ' || steps FROM jobs WHERE " + diverge), "diverged 2");
  EXPECT_EQ(QueryNumber(Db(), "SELECT COUNT(*) FROM curve_points WHERE job_id = (SELECT id FROM "
                              "jobs WHERE " + diverge + ")"),
            2);

  // The worker survived every one of them, and nothing else changed.
  EXPECT_TRUE(worker->Running());
  EXPECT_EQ(Snapshot(1), before);
  out = Submit(addr, LeastSquaresSpec("after", good, {1}), &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitSweepEnded(3, 60)) << ReadFile(Log());
  EXPECT_EQ(Count(3, "state = 'done'"), 1) << ReadFile(Log());
  // No program outlived its job.
  std::string ps;
  RunCommand({"pgrep", "-f", kPrograms + "misbehave.py"}, &ps);
  EXPECT_EQ(ps, "");
}

TEST_F(ProgramTest, SigtermToTheWorkerStopsTheProgramAndHandsTheJobBack) {
  const std::string addr = StartCoordinator(10);
  auto worker = StartWorker(addr);
  const std::string pid_file = dir_.File("program.pid");
  json spec = {{"name", "long"},
               {"program", {{"command", {"python3", kPrograms + "misbehave.py"}}}},
               {"budget_seconds", 120},
               {"seeds", {1}},
               {"optimizers", {{"x", {{"mode", "sleep"}, {"pid_file", pid_file}}}}}};
  int code = 0;
  std::string out = Submit(addr, spec, &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(pid_file).empty(); }, 60)) << ReadFile(Log());
  const pid_t program = std::stoi(ReadFile(pid_file));
  ASSERT_EQ(kill(program, 0), 0);

  worker->Signal(SIGTERM);
  EXPECT_EQ(worker->Wait(30), 0) << ReadFile(Log());
  // The program is gone with it, and the job is queued again, its attempt
  // not counted.
  EXPECT_TRUE(WaitFor([&] { return kill(program, 0) != 0; }, 10));
  EXPECT_EQ(Query("SELECT state || ' ' || attempts FROM jobs"), "queued 0");
  EXPECT_NE(ReadFile(Log()).find("handed back"), std::string::npos) << ReadFile(Log());
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
