// gridsearch-train (`gridsearch train`), run as a process: a step limit makes
// a CPU run with one thread exactly reproducible, the curve and the result
// are printed as documented, divergence is a result, and bad input is
// refused with the problem named.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;

const std::string kTrain = GRIDSEARCH_TRAIN_BIN;

bool HaveFashionMnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

json Job(const std::string& optimizer, json params, double budget = 60) {
  json dataset = HaveFashionMnist() ? json{{"name", "fashion-mnist"}, {"train_size", 2000}}
                                    : json("synthetic");
  return {{"model", "mlp"},   {"dataset", dataset}, {"batch_size", 50},
          {"budget_seconds", budget}, {"seed", 4}, {"optimizers", {{optimizer, params}}}};
}

struct TrainRun {
  int code = -1;
  std::vector<json> points;
  json result;
  std::string err;
};

TrainRun Train(const TempDir& dir, const json& job, std::vector<std::string> flags) {
  const std::string path = dir.File("job.json");
  testing::WriteFile(path, job.dump());
  std::vector<std::string> argv = {kTrain, path, "--format", "jsonl"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  TrainRun r;
  std::string out;
  r.code = RunCommand(argv, &out, &r.err);
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    if (j.contains("result"))
      r.result = j["result"];
    else
      r.points.push_back(j);
  }
  return r;
}

TEST(TrainCommandTest, AStepLimitMakesTheRunExactlyReproducible) {
  TempDir dir;
  for (const auto& [optimizer, params] :
       {std::pair<std::string, json>{"sgd", {{"lr", 0.05}, {"momentum", 0.9}}},
        std::pair<std::string, json>{"pal", {{"measuring_step", 0.1}}}}) {
    const TrainRun a = Train(dir, Job(optimizer, params), {"--max-steps", "30", "--threads", "1"});
    const TrainRun b = Train(dir, Job(optimizer, params), {"--max-steps", "30", "--threads", "1"});
    ASSERT_EQ(a.code, 0) << a.err;
    ASSERT_EQ(b.code, 0) << b.err;
    ASSERT_EQ(a.points.size(), 30u) << optimizer;
    ASSERT_EQ(b.points.size(), 30u) << optimizer;
    for (size_t i = 0; i < a.points.size(); ++i) {
      EXPECT_EQ(a.points[i]["step"], static_cast<int>(i + 1));
      // Bit-identical values (shortest round-trip decimals print equal).
      EXPECT_EQ(a.points[i]["loss"], b.points[i]["loss"]) << optimizer << " step " << i + 1;
      EXPECT_EQ(a.points[i]["learning_rate"], b.points[i]["learning_rate"]) << optimizer;
      EXPECT_EQ(a.points[i]["epoch"], b.points[i]["epoch"]);
    }
    EXPECT_EQ(a.result["steps"], 30);
    EXPECT_EQ(a.result["state"], "done");
    for (const char* metric : {"final_train_loss", "test_loss", "test_accuracy", "epochs"})
      EXPECT_EQ(a.result[metric], b.result[metric]) << optimizer << " " << metric;
    EXPECT_LT(a.result["final_train_loss"].get<double>(), a.points[0]["loss"].get<double>())
        << optimizer << ": 30 steps should have learned something";
    if (optimizer == "pal") {
      // PAL's own effective learning rate is in the curve, and it varies.
      EXPECT_NE(a.points[0]["learning_rate"], a.points[29]["learning_rate"]);
    }
  }
}

TEST(TrainCommandTest, TheBudgetEndsAJobWithoutAStepLimit) {
  TempDir dir;
  const TrainRun r = Train(dir, Job("adam", {{"lr", 0.001}}, 1.0), {"--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_FALSE(r.points.empty());
  EXPECT_EQ(r.result["steps"], static_cast<int>(r.points.size()));
  EXPECT_GE(r.result["train_seconds"].get<double>(), 1.0);
  EXPECT_LE(r.points.back()["elapsed_seconds"].get<double>(),
            r.result["train_seconds"].get<double>());
  EXPECT_EQ(r.result["device"], "cpu");
  EXPECT_NE(r.err.find("training adam"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("final_train_loss"), std::string::npos) << r.err;
}

TEST(TrainCommandTest, CsvIsTheDefaultFormat) {
  TempDir dir;
  const std::string path = dir.File("job.json");
  testing::WriteFile(path, Job("sgd", {{"lr", 0.1}}).dump());
  std::string out, err;
  ASSERT_EQ(RunCommand({kTrain, path, "--max-steps", "3", "--threads", "1"}, &out, &err), 0) << err;
  std::istringstream lines(out);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 4u) << out;
  EXPECT_EQ(rows[0], "step,elapsed_seconds,epoch,loss,learning_rate");
  EXPECT_EQ(rows[1].rfind("1,", 0), 0u) << rows[1];
  EXPECT_NE(rows[3].find(",0.1"), std::string::npos) << rows[3];
}

TEST(TrainCommandTest, DivergenceIsAResultWithOnlyFinitePoints) {
  TempDir dir;
  const TrainRun r = Train(dir, Job("sgd", {{"lr", 1e6}}, 20), {"--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.result["state"], "diverged");
  EXPECT_LT(r.result["train_seconds"].get<double>(), 10.0);
  EXPECT_EQ(r.result["steps"], static_cast<int>(r.points.size()));
  for (const json& p : r.points) EXPECT_TRUE(p["loss"].is_number()) << p.dump();
}

TEST(TrainCommandTest, BadInputIsRefusedWithTheProblemNamed) {
  TempDir dir;
  auto refused = [&](const std::string& text, std::vector<std::string> flags,
                     const std::string& needle) {
    const std::string path = dir.File("bad.json");
    testing::WriteFile(path, text);
    std::vector<std::string> argv = {kTrain, path};
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::string out, err;
    EXPECT_EQ(RunCommand(argv, &out, &err), 2) << text << "\n" << err;
    EXPECT_NE(err.find(needle), std::string::npos) << err;
  };
  const std::string good = Job("sgd", {{"lr", 0.1}}).dump();
  refused("{not json", {}, "not valid JSON");
  refused(Job("sgd", {{"lr", {0.1, 0.01}}}).dump(), {}, "2 configuration(s)");
  refused(Job("sgd", {{"momentun", 0.9}}).dump(), {}, "momentun");
  refused(good, {"--device", "cuda:9"}, "cuda:9");
  refused(good, {"--device", "tpu"}, "tpu");
  refused(good, {"--max-steps", "-1"}, "--max-steps");
  refused(good, {"--format", "xml"}, "--format");
  refused(good, {"--frobnicate"}, "unknown option '--frobnicate'");
  json missing = Job("sgd", {{"lr", 0.1}});
  missing["dataset"] = {{"name", "mnist"}, {"path", "/nonexistent/mnist-files"}};
  refused(missing.dump(), {}, "/nonexistent/mnist-files");
  std::string out, err;
  EXPECT_EQ(RunCommand({kTrain, dir.File("absent.json")}, &out, &err), 2);
  EXPECT_NE(err.find("absent.json"), std::string::npos) << err;
  EXPECT_EQ(RunCommand({kTrain, "--help"}, &out, &err), 0);
  EXPECT_NE(out.find("--max-steps"), std::string::npos) << out;
}

}  // namespace
}  // namespace gridsearch
