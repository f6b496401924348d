// The PyTorch example program (examples/program/) through `gridsearch run`:
// a real coordinator, a real worker and Debian's python3-torch training the
// example's network on Fashion-MNIST (label python-torch; registered only
// where a python3 with torch was found when the build was configured).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

TEST(ProgramTorch, TheFashionMnistExampleTrainsThroughASweep) {
  const std::string source = GRIDSEARCH_SOURCE_DIR;
  std::ifstream in(source + "/examples/program/fashion_mnist_sweep.json");
  std::stringstream text;
  text << in.rdbuf();
  json spec = json::parse(text.str());
  // The example as written, made short: its script by absolute path under
  // the python3 that has torch, a 4-second budget, two configurations.
  spec["program"]["command"] = {GS_TORCH_PYTHON, source + "/examples/program/fashion_mnist.py",
                                "--train-size", "2000"};
  spec["budget_seconds"] = 4;
  spec["seeds"] = {1};
  spec["optimizers"] = {{"adam", {{"lr", 0.001}}}, {"sgd", {{"lr", 0.1}, {"momentum", 0.9}}}};
  TempDir dir;
  WriteFile(dir.File("spec.json"), spec.dump());
  std::string out, err;
  const int code = RunCommand({GRIDSEARCH_BIN, "run", dir.File("spec.json"), "--workers", "1",
                               "--db", dir.File("sweep.db"), "--no-plots"},
                              &out, &err);
  ASSERT_EQ(code, 0) << out << err << ReadFile(dir.File("sweep.db.workers.log"));
  const std::string db = dir.File("sweep.db");
  EXPECT_EQ(QueryOne(db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "2");
  // Steps in a 4-s budget depend on the machine's load (92 to 130 here):
  // that many show real training; the accuracy is what must hold.
  EXPECT_EQ(QueryOne(db, "SELECT COUNT(*) FROM jobs WHERE test_accuracy > 0.7 AND steps > 30 "
                         "AND final_train_loss < 1"),
            "2")
      << QueryOne(db, "SELECT group_concat(test_accuracy || ' ' || steps, '; ') FROM jobs");
  EXPECT_NE(QueryOne(db, "SELECT software FROM jobs LIMIT 1").find("torch "), std::string::npos);
  EXPECT_EQ(QueryOne(db, "SELECT COUNT(*) FROM curve_points"),
            QueryOne(db, "SELECT SUM(steps) FROM jobs"));
  EXPECT_NE(out.find("Ranking"), std::string::npos) << out;
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
