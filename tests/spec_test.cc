// Sweep spec validation and grid expansion.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/catalog.h"
#include "common/sweep_spec.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

json ValidSpec() {
  return json::parse(R"({
    "name": "t", "model": "mlp",
    "dataset": {"name": "fashion-mnist", "train_size": 1000},
    "batch_size": 100, "budget_seconds": 2, "seeds": [1, 2],
    "optimizers": {"sgd": {"lr": [0.1, 0.01], "momentum": [0, 0.9]},
                   "adam": {"lr": [0.001]}}
  })");
}

Status Parse(const json& j, SweepSpec* spec = nullptr) {
  SweepSpec local;
  return ParseSweepSpec(j.dump(), SpecLimits(), spec ? spec : &local);
}

TEST(SweepSpecTest, ValidSpecParses) {
  SweepSpec spec;
  Status s = Parse(ValidSpec(), &spec);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(spec.name, "t");
  EXPECT_EQ(spec.model, "mlp");
  EXPECT_EQ(spec.dataset.name, "fashion-mnist");
  EXPECT_EQ(spec.dataset.train_size, 1000);
  EXPECT_EQ(spec.batch_size, 100);
  EXPECT_DOUBLE_EQ(spec.budget_seconds, 2);
  EXPECT_EQ(spec.seeds, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(spec.decay_steps, 0);  // "epoch" by default
  ASSERT_EQ(spec.grids.size(), 2u);
  EXPECT_EQ(spec.grids[0].optimizer, "adam");  // sorted by name
  EXPECT_EQ(spec.grids[1].optimizer, "sgd");
  EXPECT_EQ(CountConfigurations(spec), 5);
  EXPECT_EQ(CountJobs(spec), 10);
  // The canonical form parses again to the same spec.
  SweepSpec again;
  ASSERT_TRUE(ParseSweepSpec(spec.canonical_json, SpecLimits(), &again).ok());
  EXPECT_EQ(again.canonical_json, spec.canonical_json);
}

TEST(SweepSpecTest, ExpansionIsTheFullProductWithoutDuplicates) {
  SweepSpec spec;
  ASSERT_TRUE(Parse(ValidSpec(), &spec).ok());
  std::vector<GridPoint> grid = ExpandGrid(spec);
  ASSERT_EQ(grid.size(), 5u);
  std::set<std::string> keys;
  for (const auto& p : grid) keys.insert(p.optimizer + p.params_json);
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(grid[0].optimizer, "adam");
  EXPECT_EQ(grid[0].params_json, R"({"lr":0.001})");
  // Last axis fastest: momentum varies before lr.
  EXPECT_EQ(grid[1].params_json, R"({"lr":0.1,"momentum":0.0})");
  EXPECT_EQ(grid[2].params_json, R"({"lr":0.1,"momentum":0.9})");
  EXPECT_EQ(grid[3].params_json, R"({"lr":0.01,"momentum":0.0})");
}

TEST(SweepSpecTest, PaperSection42BaselineGridsCount) {
  // PAL 2019 section 4.2: SGD 100, Adam 120, RMSProp 80 combinations.
  json j = ValidSpec();
  j["seeds"] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  j["optimizers"] = json::parse(R"({
    "sgd":     {"lr": [0.1, 0.01, 0.001, 0.0001], "momentum": [0, 0.8, 0.9, 0.95, 1],
                "decay": [0.8, 0.85, 0.9, 0.95, 1]},
    "adam":    {"lr": [0.1, 0.01, 0.001, 0.0001], "beta1": [0.9, 0.95], "beta2": [0.999],
                "eps": [1e-8, 0.1, 1], "decay": [0.8, 0.85, 0.9, 0.95, 1]},
    "rmsprop": {"lr": [0.1, 0.01, 0.001, 0.0001], "alpha": [0.85, 0.9, 0.95, 0.99],
                "eps": [1e-10], "decay": [0.8, 0.85, 0.9, 0.95, 1]}})");
  SweepSpec spec;
  Status s = Parse(j, &spec);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(CountConfigurations(spec), 100 + 120 + 80);
  EXPECT_EQ(CountJobs(spec), 3000);
  EXPECT_EQ(ExpandGrid(spec).size(), 300u);
}

TEST(SweepSpecTest, ScalarValueIsAOneElementList) {
  json j = ValidSpec();
  j["optimizers"] = {{"sgd", {{"lr", 0.5}}}};
  SweepSpec spec;
  ASSERT_TRUE(Parse(j, &spec).ok());
  EXPECT_EQ(CountConfigurations(spec), 1);
}

TEST(SweepSpecTest, BooleansAreAcceptedForFlags) {
  json j = ValidSpec();
  j["optimizers"] = {{"adam", {{"amsgrad", {true, false}}}}};
  SweepSpec spec;
  ASSERT_TRUE(Parse(j, &spec).ok());
  auto grid = ExpandGrid(spec);
  ASSERT_EQ(grid.size(), 2u);
  EXPECT_EQ(grid[0].params_json, R"({"amsgrad":true})");
}

TEST(SweepSpecTest, DecayStepsInteger) {
  json j = ValidSpec();
  j["decay_steps"] = 250;
  SweepSpec spec;
  ASSERT_TRUE(Parse(j, &spec).ok());
  EXPECT_EQ(spec.decay_steps, 250);
}

TEST(SweepSpecTest, DatasetShorthand) {
  json j = ValidSpec();
  j["dataset"] = "synthetic";
  SweepSpec spec;
  ASSERT_TRUE(Parse(j, &spec).ok());
  EXPECT_EQ(spec.dataset.name, "synthetic");
}

struct BadCase {
  const char* what;
  std::function<void(json&)> mutate;
  const char* expected_in_message;
  Status::Code code = Status::kInvalidArgument;
};

TEST(SweepSpecTest, EveryClassOfBadInputIsRefusedWithTheFieldNamed) {
  const std::vector<BadCase> cases = {
      {"unknown optimizer", [](json& j) { j["optimizers"]["sgdd"] = {{"lr", {0.1}}}; },
       "optimizers.sgdd: unknown optimizer 'sgdd' (did you mean 'sgd'?)"},
      {"misspelled hyperparameter", [](json& j) { j["optimizers"]["sgd"]["momentun"] = {0.9}; },
       "optimizers.sgd.momentun: unknown parameter of sgd (did you mean 'momentum'?)"},
      {"unknown hyperparameter", [](json& j) { j["optimizers"]["adam"]["zeta"] = {1}; },
       "optimizers.adam.zeta: unknown parameter"},
      {"wrong type in list", [](json& j) { j["optimizers"]["sgd"]["lr"] = {0.1, "0.01"}; },
       "optimizers.sgd.lr[1]: expected a number, got string"},
      {"wrong type for grid", [](json& j) { j["optimizers"]["sgd"] = {0.1}; },
       "optimizers.sgd: expected an object"},
      {"empty list", [](json& j) { j["optimizers"]["sgd"]["lr"] = json::array(); },
       "optimizers.sgd.lr: empty list"},
      {"empty optimizers", [](json& j) { j["optimizers"] = json::object(); },
       "optimizers: must name at least one optimizer"},
      {"out of range", [](json& j) { j["optimizers"]["sgd"]["momentum"] = {1.5}; },
       "optimizers.sgd.momentum[0]: 1.5 is outside the valid range [0, 1]"},
      {"negative lr", [](json& j) { j["optimizers"]["sgd"]["lr"] = {-0.1}; },
       "optimizers.sgd.lr[0]: -0.1 is outside the valid range"},
      {"duplicate grid value", [](json& j) { j["optimizers"]["sgd"]["lr"] = {0.1, 0.1}; },
       "optimizers.sgd.lr[1]: duplicate value"},
      {"zero budget", [](json& j) { j["budget_seconds"] = 0; },
       "budget_seconds: must be a positive number"},
      {"negative budget", [](json& j) { j["budget_seconds"] = -5; },
       "budget_seconds: must be a positive number"},
      {"budget as string", [](json& j) { j["budget_seconds"] = "10"; },
       "budget_seconds: expected a number, got string"},
      {"duplicate seeds", [](json& j) { j["seeds"] = {1, 2, 1}; },
       "seeds[2]: duplicate seed 1"},
      {"empty seeds", [](json& j) { j["seeds"] = json::array(); }, "seeds: must list at least one"},
      {"fractional seed", [](json& j) { j["seeds"] = {1.5}; }, "seeds[0]: expected an integer"},
      {"negative seed", [](json& j) { j["seeds"] = {-1}; }, "seeds[0]: must be non-negative"},
      {"missing seeds", [](json& j) { j.erase("seeds"); }, "seeds: missing (required)"},
      {"missing model", [](json& j) { j.erase("model"); }, "model: missing (required)"},
      {"unknown model", [](json& j) { j["model"] = "mpl"; },
       "model: unknown model 'mpl' (did you mean 'mlp'?)"},
      {"unknown dataset", [](json& j) { j["dataset"]["name"] = "cifar11"; },
       "dataset.name: unknown data set 'cifar11'"},
      {"unknown dataset key", [](json& j) { j["dataset"]["trainsize"] = 5; },
       "dataset.trainsize: unknown field (did you mean 'train_size'?)"},
      {"zero train size", [](json& j) { j["dataset"]["train_size"] = 0; },
       "dataset.train_size: must be positive"},
      {"zero batch", [](json& j) { j["batch_size"] = 0; }, "batch_size: must be positive"},
      {"batch as float", [](json& j) { j["batch_size"] = 10.5; },
       "batch_size: expected an integer, got number"},
      {"unknown top-level key", [](json& j) { j["budget"] = 5; },
       "budget: unknown field (did you mean 'budget_seconds'?)"},
      {"bad decay_steps", [](json& j) { j["decay_steps"] = "epochs"; },
       "decay_steps: expected \"epoch\" or a positive integer"},
      {"empty name", [](json& j) { j["name"] = ""; }, "name: must not be empty"},
      {"cifar without a path", [](json& j) { j["dataset"] = {{"name", "cifar10"}}; },
       "dataset.path: required for cifar10"},
      {"augment not a boolean", [](json& j) { j["dataset"]["augment"] = 1; },
       "dataset.augment: expected true or false, got integer"},
      {"dropout out of range", [](json& j) { j["dropout"] = 1.0; }, "dropout: must be in [0, 1)"},
      {"nesterov without momentum",
       [](json& j) { j["optimizers"]["sgd"]["nesterov"] = {true}; },
       "optimizers.sgd.nesterov: nesterov=true needs momentum > 0"},
      {"ablation of absent optimizer",
       [](json& j) { j["ablation"] = {{"optimizer", "rmsprop"}, {"features", {{"lr", 1}}}}; },
       "ablation.optimizer: 'rmsprop' is not among the sweep's optimizers"},
      {"ablation feature outside the grid",
       [](json& j) { j["ablation"] = {{"optimizer", "sgd"}, {"features", {{"decay", 1}}}}; },
       "ablation.features.decay: not a parameter of the sgd grid"},
  };
  for (const auto& c : cases) {
    json j = ValidSpec();
    c.mutate(j);
    Status s = Parse(j);
    EXPECT_EQ(s.code(), c.code) << c.what << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.expected_in_message), std::string::npos)
        << c.what << ": got \"" << s.message() << "\"";
  }
}

TEST(SweepSpecTest, EveryProblemIsCollectedWithItsField) {
  json j = ValidSpec();
  j["modle"] = "mlp";                                  // unknown field
  j["batch_size"] = 0;                                 // out of range
  j["seeds"] = {1, 1};                                 // duplicate
  j["optimizers"]["sgd"]["momentun"] = {0.9};          // unknown parameter
  j["optimizers"]["adam"]["lr"] = {-1};                // out of range
  j["optimizers"]["lion"] = json::object();            // unknown optimizer
  std::vector<Status> problems;
  SweepSpec spec;
  CollectSweepSpec(j.dump(), SpecLimits(), &spec, &problems);
  std::vector<std::string> messages;
  for (const Status& p : problems) {
    EXPECT_EQ(p.code(), Status::kInvalidArgument) << p.ToString();
    messages.push_back(p.message());
  }
  ASSERT_EQ(messages.size(), 6u) << ::testing::PrintToString(messages);
  auto has = [&](const std::string& prefix) {
    for (const auto& m : messages)
      if (m.rfind(prefix, 0) == 0) return true;
    return false;
  };
  EXPECT_TRUE(has("modle: unknown field (did you mean 'model'?)"));
  EXPECT_TRUE(has("batch_size: must be positive"));
  EXPECT_TRUE(has("seeds[1]: duplicate seed 1"));
  EXPECT_TRUE(has("optimizers.sgd.momentun: unknown parameter"));
  EXPECT_TRUE(has("optimizers.adam.lr[0]:"));
  EXPECT_TRUE(has("optimizers.lion: unknown optimizer"));
  // ParseSweepSpec reports the first of them.
  Status first = Parse(j);
  EXPECT_EQ(first.message(), problems.front().message());

  problems.clear();
  CollectSweepSpec(ValidSpec().dump(), SpecLimits(), &spec, &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(spec.canonical_json.empty());
}

TEST(SweepSpecTest, MalformedJsonIsRefused) {
  SweepSpec spec;
  for (const char* text : {"", "{", "{\"name\": }", "[1, 2]", "null", "{\"name\": \"a\",}"}) {
    Status s = ParseSweepSpec(text, SpecLimits(), &spec);
    EXPECT_EQ(s.code(), Status::kInvalidArgument) << text;
    EXPECT_FALSE(s.message().empty());
  }
  // A number beyond double's range (found by the fuzzer).
  Status big = ParseSweepSpec("\t\t22222222222222222e2222222222222222222222", SpecLimits(), &spec);
  EXPECT_EQ(big.code(), Status::kInvalidArgument) << big.ToString();
  Status s = ParseSweepSpec("{\"name\": ", SpecLimits(), &spec);
  EXPECT_NE(s.message().find("not valid JSON"), std::string::npos) << s.message();
}

TEST(SweepSpecTest, GridOverTheJobLimitIsResourceExhausted) {
  SpecLimits limits;
  limits.max_jobs = 9;
  SweepSpec spec;
  Status s = ParseSweepSpec(ValidSpec().dump(), limits, &spec);  // 10 jobs
  EXPECT_EQ(s.code(), Status::kResourceExhausted);
  EXPECT_NE(s.message().find("10 jobs"), std::string::npos) << s.message();
}

TEST(SweepSpecTest, OversizedSpecIsRefused) {
  SpecLimits limits;
  limits.max_spec_bytes = 64;
  SweepSpec spec;
  Status s = ParseSweepSpec(ValidSpec().dump(), limits, &spec);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("bytes"), std::string::npos);
}

TEST(CatalogTest, ResolveParamsFillsDefaults) {
  std::map<std::string, double> full;
  ASSERT_TRUE(ResolveParams("sgd", {{"lr", 0.5}}, &full).ok());
  EXPECT_DOUBLE_EQ(full["lr"], 0.5);
  EXPECT_DOUBLE_EQ(full["momentum"], 0);
  EXPECT_DOUBLE_EQ(full["decay"], 1);
  EXPECT_FALSE(ResolveParams("sgd", {{"beta1", 0.5}}, &full).ok());
  EXPECT_FALSE(ResolveParams("nope", {}, &full).ok());
}

TEST(CatalogTest, ClosestName) {
  EXPECT_EQ(ClosestName("momentun", {"lr", "momentum", "decay"}), "momentum");
  EXPECT_EQ(ClosestName("xyzzy", {"lr", "momentum", "decay"}), "");
}

TEST(SweepSpecTest, PalGridTakesThePaperSpellingsAsAliases) {
  // PAL 2020's direction adaptation is momentum; its update step adaptation
  // multiplies the step, so it is the reciprocal of loose_approximation.
  json j = ValidSpec();
  j["optimizers"] = {{"pal",
                      {{"measuring_step", {0.1, 0.01}},
                       {"direction_adaptation", {0, 0.4}},
                       {"update_step_adaptation", {2, 1.25}},
                       {"exact_directional_derivative", {true, false}}}}};
  SweepSpec spec;
  Status s = Parse(j, &spec);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(spec.grids.size(), 1u);
  const OptimizerGrid& grid = spec.grids[0];
  EXPECT_EQ(grid.optimizer, "pal");
  std::map<std::string, std::vector<double>> axes(grid.axes.begin(), grid.axes.end());
  EXPECT_EQ(axes.count("direction_adaptation"), 0u);
  EXPECT_EQ(axes.count("update_step_adaptation"), 0u);
  EXPECT_EQ(axes["momentum"], (std::vector<double>{0, 0.4}));
  EXPECT_EQ(axes["loose_approximation"], (std::vector<double>{0.5, 0.8}));
  EXPECT_EQ(axes["exact_directional_derivative"], (std::vector<double>{1, 0}));
  EXPECT_EQ(CountConfigurations(spec), 16);
  // The canonical form names only canonical parameters, and parses again.
  EXPECT_EQ(spec.canonical_json.find("update_step_adaptation"), std::string::npos);
  EXPECT_NE(spec.canonical_json.find("loose_approximation"), std::string::npos);
  SweepSpec again;
  ASSERT_TRUE(ParseSweepSpec(spec.canonical_json, SpecLimits(), &again).ok());
  EXPECT_EQ(again.canonical_json, spec.canonical_json);
  for (const GridPoint& p : ExpandGrid(spec)) {
    std::map<std::string, double> full;
    EXPECT_TRUE(ResolveParams("pal", p.params, &full).ok()) << p.params_json;
  }

  // Defaults (PAL 2019 and PAL 2020) and the valid ranges.
  std::map<std::string, double> full;
  ASSERT_TRUE(ResolveParams("pal", {}, &full).ok());
  EXPECT_EQ(full["measuring_step"], 0.1);
  EXPECT_EQ(full["max_step"], 1);
  EXPECT_EQ(full["momentum"], 0.4);
  EXPECT_EQ(full["loose_approximation"], 0.6);
  EXPECT_EQ(full["decay"], 1);
  EXPECT_EQ(full["exact_directional_derivative"], 0);
  EXPECT_EQ(full["epsilon"], 1e-10);

  struct Case {
    const char* what;
    json grid;
    const char* expected_in_message;
  };
  const std::vector<Case> cases = {
      {"alias and name together", {{"momentum", {0.2}}, {"direction_adaptation", {0.4}}},
       "given twice (also as 'momentum'"},
      {"reciprocal of zero", {{"update_step_adaptation", {0}}},
       "optimizers.pal.update_step_adaptation[0]: must be a positive number"},
      {"negative alias value, judged as written", {{"update_step_adaptation", {-2}}},
       "optimizers.pal.update_step_adaptation[0]: must be a positive number"},
      {"alias out of range", {{"direction_adaptation", {1.5}}},
       "optimizers.pal.direction_adaptation[0]"},
      {"non-positive measuring step", {{"measuring_step", {0}}},
       "optimizers.pal.measuring_step[0]: 0 is outside the valid range (0, inf)"},
      {"non-positive max step", {{"max_step", {-1}}}, "optimizers.pal.max_step[0]"},
      {"momentum above 1", {{"momentum", {1.2}}}, "optimizers.pal.momentum[0]"},
      {"non-positive loose approximation", {{"loose_approximation", {0}}},
       "optimizers.pal.loose_approximation[0]"},
      {"decay 0", {{"decay", {0}}}, "optimizers.pal.decay[0]"},
      {"misspelt alias", {{"update_step_adaption", {1}}},
       "did you mean 'update_step_adaptation'"},
      {"flag as number", {{"exact_directional_derivative", {2}}},
       "optimizers.pal.exact_directional_derivative[0]"},
  };
  for (const auto& c : cases) {
    json bad = ValidSpec();
    bad["optimizers"] = {{"pal", c.grid}};
    Status status = Parse(bad);
    EXPECT_EQ(status.code(), Status::kInvalidArgument) << c.what;
    EXPECT_NE(status.message().find(c.expected_in_message), std::string::npos)
        << c.what << ": got \"" << status.message() << "\"";
  }
}

}  // namespace
}  // namespace gridsearch

namespace gridsearch {
namespace {

// The shipped specs expand to the papers' grids: PAL 2019 section 4.1 (PAL
// ablation, 1080 combinations) and 4.2 (PAL 108, SGD 100, Adam 120,
// RMSProp 80 = 408 combinations), times their seeds.
TEST(ShippedSpecsTest, JobCountsMatchThePapers) {
  struct Expected {
    const char* file;
    int64_t configurations;
    int64_t jobs;
    std::map<std::string, int64_t> per_optimizer;
  };
  const std::map<std::string, int64_t> section42 = {
      {"pal", 108}, {"sgd", 100}, {"adam", 120}, {"rmsprop", 80}};
  const std::vector<Expected> expected = {
      {"pal2019_ablation_resnet34_cifar10.json", 1080, 10800, {{"pal", 1080}}},
      {"pal2019_comparison_resnet32_cifar10.json", 408, 4080, section42},
      {"pal2019_comparison_vgg16_cifar10.json", 408, 4080, section42},
      {"pal2019_comparison_densenet40_cifar10.json", 408, 4080, section42},
      {"pal2020_resnet32_cifar10.json", 10, 30, {{"pal", 8}, {"sgd", 2}}},
      {"fashion_mnist_paper_small.json", 408, 816, section42},
      {"fashion_mnist_quick.json", 8, 16, {{"sgd", 4}, {"adam", 2}, {"rmsprop", 2}}},
      {"program/fashion_mnist_sweep.json", 7, 14, {{"sgd", 4}, {"adam", 3}}},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.file);
    std::ifstream f(std::string(GRIDSEARCH_SOURCE_DIR) + "/examples/" + e.file);
    ASSERT_TRUE(f.good());
    std::stringstream text;
    text << f.rdbuf();
    SweepSpec spec;
    Status s = ParseSweepSpec(text.str(), SpecLimits(), &spec);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(CountConfigurations(spec), e.configurations);
    EXPECT_EQ(CountJobs(spec), e.jobs);
    std::map<std::string, int64_t> per_optimizer;
    for (const auto& p : ExpandGrid(spec)) ++per_optimizer[p.optimizer];
    EXPECT_EQ(per_optimizer, e.per_optimizer);
  }
}

}  // namespace
}  // namespace gridsearch
