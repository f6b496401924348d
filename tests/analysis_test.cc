// The papers' tables over a hand-built database whose answers are worked out
// by hand: ablation (3 features, 8 groups, two of them empty, one diverged),
// best configuration per group, epochs, and resampled curves.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "coordinator/analysis.h"
#include "coordinator/database.h"
#include "coordinator/tables.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

class AnalysisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Database::Open(dir_.File("a.db"), false, &db_).ok());
    Exec(R"(INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs,
            created_at) VALUES (1, 's', '{"ablation": {"optimizer": "pal", "features":
            {"momentum": 0, "loose_approximation": 1, "decay": 1}}}', 'mlp', 'synthetic', 1, 14, 0))");
    // Features: momentum (off 0), loose_approximation (off 1), decay (off 1).
    Config(1, "pal", R"({"decay":0.9,"loose_approximation":0.6,"momentum":0.4})", {0.1, 0.3});  // 111: 0.2
    Config(2, "pal", R"({"decay":0.9,"loose_approximation":0.6,"momentum":0.0})", {0.05, 0.05});  // 011
    Config(3, "pal", R"({"decay":0.9,"loose_approximation":1.0,"momentum":0.4})", {0.4, 0.4});  // 101
    Config(4, "pal", R"({"decay":1.0,"loose_approximation":1.0,"momentum":0.0})", {0.5, 0.7});  // 000: 0.6
    Config(5, "pal", R"({"decay":1.0,"loose_approximation":0.6,"momentum":0.4})", {0.3, 0.3});  // 110
    Config(6, "pal", R"({"decay":1.0,"loose_approximation":0.6,"momentum":0.0})", {0.01, -1});  // 010, diverged
    Config(7, "sgd", R"({"lr":0.1})", {0.15, 0.15}, 3);
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(db_->Exec(sql).ok()) << sql; }

  // One job per loss; a negative loss stands for a diverged seed.
  void Config(int id, const std::string& optimizer, const std::string& params,
              const std::vector<double>& losses, double epochs = 2) {
    Exec("INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (" +
         std::to_string(id) + ", 1, '" + optimizer + "', '" + params + "')");
    int seed = 1;
    for (double loss : losses) {
      bool diverged = loss < 0;
      Exec("INSERT INTO jobs (sweep_id, config_id, seed, state, final_train_loss, "
           "log_loss_integral, epochs, steps, train_seconds, finished_attempt, attempts) VALUES (1, " +
           std::to_string(id) + ", " + std::to_string(seed++) + ", '" +
           (diverged ? "diverged" : "done") + "', " +
           (diverged ? std::string("NULL") : std::to_string(loss)) + ", " +
           (diverged ? std::string("NULL") : std::to_string(10 * loss)) + ", " +
           std::to_string(epochs) + ", 100, 1, 1, 1)");
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(AnalysisTest, SweepInfoReadsTheAblationBlock) {
  SweepInfo info;
  ASSERT_TRUE(LoadSweepInfo(db_.get(), 1, &info).ok());
  EXPECT_EQ(info.ablation.optimizer, "pal");
  ASSERT_EQ(info.ablation.features.size(), 3u);
  EXPECT_EQ(info.ablation.features[0].first, "decay");  // stored spec keys are sorted
  EXPECT_EQ(info.unfinished, 0);
  EXPECT_EQ(LoadSweepInfo(db_.get(), 5, &info).code(), Status::kNotFound);
}

TEST_F(AnalysisTest, AblationHasEveryGroupWithRanksAmongTheOptimizer) {
  AblationSpec a;
  a.optimizer = "pal";
  a.features = {{"momentum", "0"}, {"loose_approximation", "1"}, {"decay", "1"}};
  std::vector<AblationRow> rows;
  ASSERT_TRUE(QueryAblation(db_.get(), 1, a, &rows).ok());
  ASSERT_EQ(rows.size(), 8u);
  // PAL alone by final loss: c2 .05 (1), c1 .2 (2), c5 .3 (3), c3 .4 (4), c4 .6 (5), c6 diverged (6).
  struct Expect {
    std::string label;
    int64_t members, rank;
    double loss;
  };
  const std::vector<Expect> expected = {
      {"momentum+loose_approximation+decay", 1, 2, 0.2},
      {"loose_approximation+decay", 1, 1, 0.05},
      {"momentum+decay", 1, 4, 0.4},
      {"momentum+loose_approximation", 1, 3, 0.3},
      {"decay", 0, 0, NAN},
      {"loose_approximation", 1, 6, 0.01},  // diverged seed: ranks last among PAL
      {"momentum", 0, 0, NAN},
      {"none", 1, 5, 0.6},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].label);
    EXPECT_EQ(rows[i].label, expected[i].label);
    EXPECT_EQ(rows[i].members, expected[i].members);
    EXPECT_EQ(rows[i].best_loss.rank, expected[i].rank);
    EXPECT_EQ(rows[i].best_integral.rank, expected[i].rank);  // integral = 10 x loss here
    if (expected[i].members > 0) {
      EXPECT_NEAR(rows[i].best_loss.mean_final_train_loss, expected[i].loss, 1e-9);
      EXPECT_NEAR(rows[i].best_integral.mean_log_loss_integral, 10 * expected[i].loss, 1e-9);
    } else {
      EXPECT_EQ(rows[i].best_loss.config_id, 0);
    }
  }
  EXPECT_EQ(rows[0].on, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(rows[7].on, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(QueryAblation(db_.get(), 1, AblationSpec(), &rows).code(), Status::kFailedPrecondition);
}

TEST_F(AnalysisTest, BestPerGroupSplitsTheAblatedOptimizer) {
  SweepInfo info;
  ASSERT_TRUE(LoadSweepInfo(db_.get(), 1, &info).ok());
  AblationSpec a;
  a.optimizer = "pal";
  a.features = {{"momentum", "0"}};  // PAL with and without momentum, as in Table 3
  std::vector<GroupBest> rows;
  ASSERT_TRUE(QueryBestPerGroup(db_.get(), 1, "final_train_loss", a, &rows).ok());
  // Global: c2 .05 (1), sgd .15 (2), c1 .2 (3), c5 .3, c3 .4, c4 .6, c6 diverged.
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].group, "pal (none)");
  EXPECT_EQ(rows[0].best.rank, 1);
  EXPECT_EQ(rows[0].configurations, 3);  // c2, c4, c6
  EXPECT_EQ(rows[1].group, "sgd");
  EXPECT_EQ(rows[1].best.rank, 2);
  EXPECT_EQ(rows[2].group, "pal (momentum)");
  EXPECT_EQ(rows[2].best.rank, 3);
  EXPECT_EQ(rows[2].configurations, 3);
  // Without a split: one row per optimizer.
  ASSERT_TRUE(QueryBestPerGroup(db_.get(), 1, "final_train_loss", AblationSpec(), &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].group, "pal");
  EXPECT_EQ(rows[0].configurations, 6);
}

TEST_F(AnalysisTest, EpochsPerOptimizer) {
  std::vector<EpochsRow> rows;
  ASSERT_TRUE(QueryEpochs(db_.get(), 1, "final_train_loss", &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].optimizer, "pal");
  EXPECT_EQ(rows[0].jobs, 12);
  EXPECT_DOUBLE_EQ(rows[0].mean_epochs, 2);
  EXPECT_DOUBLE_EQ(rows[0].best_epochs, 2);
  EXPECT_EQ(rows[0].best_params_json, R"({"decay":0.9,"loose_approximation":0.6,"momentum":0.0})");
  EXPECT_EQ(rows[1].optimizer, "sgd");
  EXPECT_DOUBLE_EQ(rows[1].mean_epochs, 3);
}

TEST_F(AnalysisTest, CurveIsBinnedPerSeedThenAcrossSeeds) {
  // Config 7 (sgd): seed 1 has 1.0, 3.0 in [0, 0.5) and 0.5 after; seed 2 has
  // 4.0 in the first bin and 1.5 in the second.
  Exec("INSERT INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, loss, "
       "learning_rate) SELECT id, 1, 1, 0.1, 0.1, 1.0, 0.1 FROM jobs WHERE config_id = 7 AND seed = 1;"
       "INSERT INTO curve_points SELECT id, 1, 2, 0.2, 0.2, 3.0, 0.1 FROM jobs WHERE config_id = 7 AND seed = 1;"
       "INSERT INTO curve_points SELECT id, 1, 3, 0.6, 0.3, 0.5, 0.05 FROM jobs WHERE config_id = 7 AND seed = 1;"
       "INSERT INTO curve_points SELECT id, 1, 1, 0.15, 0.1, 4.0, 0.1 FROM jobs WHERE config_id = 7 AND seed = 2;"
       "INSERT INTO curve_points SELECT id, 1, 2, 1.02, 0.2, 1.5, 0.05 FROM jobs WHERE config_id = 7 AND seed = 2;"
       // An abandoned attempt's point is ignored.
       "INSERT INTO curve_points SELECT id, 2, 1, 0.1, 0.1, 99.0, 0.1 FROM jobs WHERE config_id = 7 AND seed = 2;");
  std::vector<CurveBin> curve;
  ASSERT_TRUE(QueryCurve(db_.get(), 7, 1.0, 2, "loss", &curve).ok());
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_DOUBLE_EQ(curve[0].time_seconds, 0.25);
  EXPECT_DOUBLE_EQ(curve[0].mean, 3.0);  // seeds' bin means 2.0 and 4.0
  EXPECT_DOUBLE_EQ(curve[0].min, 2.0);
  EXPECT_DOUBLE_EQ(curve[0].max, 4.0);
  EXPECT_EQ(curve[0].seeds, 2);
  EXPECT_DOUBLE_EQ(curve[1].mean, 1.0);  // 0.5 and 1.5 (a point past the budget joins the last bin)
  ASSERT_TRUE(QueryCurve(db_.get(), 7, 1.0, 2, "learning_rate", &curve).ok());
  EXPECT_DOUBLE_EQ(curve[1].mean, 0.05);
  EXPECT_EQ(QueryCurve(db_.get(), 7, 1.0, 2, "loss; --", &curve).code(), Status::kInvalidArgument);
  std::vector<RawCurvePoint> raw;
  ASSERT_TRUE(QueryRawCurve(db_.get(), 7, &raw).ok());
  EXPECT_EQ(raw.size(), 5u);
  EXPECT_EQ(raw[0].seed, 1);
  EXPECT_DOUBLE_EQ(raw[4].point.loss, 1.5);
}

// `curves` looks named configurations up by id (not through a ranking of
// the whole sweep): the same series, labelled as the ranking labels them;
// each optimizer's best by default; another sweep's configuration refused.
TEST_F(AnalysisTest, CurvesOfNamedConfigurationsAreLabelledAsTheRankingLabelsThem) {
  Exec("INSERT INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, loss, "
       "learning_rate) SELECT id, 1, 1, 0.2, 0.1, config_id + seed, 0.1 FROM jobs");
  Exec(R"(INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs,
          created_at) VALUES (2, 't', '{}', 'mlp', 'synthetic', 1, 1, 0))");
  Exec(R"(INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (8, 2, 'adam', '{}'))");
  Exec("INSERT INTO jobs (sweep_id, config_id, seed, state) VALUES (2, 8, 1, 'queued')");
  std::vector<RankedConfigRow> ranking;
  ASSERT_TRUE(QueryRanking(db_.get(), 1, "final_train_loss", &ranking).ok());
  ASSERT_EQ(ranking.size(), 7u);
  auto curves = [&](std::vector<int64_t> ids) {
    TableRequest req;
    req.kind = "curves";
    req.sweep_id = 1;
    req.format = "json";
    req.bins = 2;
    req.config_ids = ids;
    std::string text;
    Status s = RenderTable(db_.get(), req, &text);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return nlohmann::json::parse(text)["curves"];
  };
  for (const auto& r : ranking) {
    SCOPED_TRACE(r.config_id);
    nlohmann::json one = curves({r.config_id});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0]["config_id"], r.config_id);
    EXPECT_EQ(one[0]["optimizer"], r.optimizer);
    EXPECT_EQ(one[0]["params"], nlohmann::json::parse(r.params_json));
    std::vector<CurveBin> bins;
    ASSERT_TRUE(QueryCurve(db_.get(), r.config_id, 1.0, 2, "loss", &bins).ok());
    ASSERT_EQ(one[0]["bins"].size(), bins.size());
    for (size_t i = 0; i < bins.size(); ++i) EXPECT_EQ(one[0]["bins"][i]["mean"], bins[i].mean);
  }
  std::vector<GroupBest> best;
  ASSERT_TRUE(QueryBestPerGroup(db_.get(), 1, "final_train_loss", AblationSpec(), &best).ok());
  std::vector<int64_t> best_ids;
  for (const auto& g : best) best_ids.push_back(g.best.config_id);
  EXPECT_EQ(curves({}), curves(best_ids));
  TableRequest req;
  req.kind = "curves";
  req.sweep_id = 1;
  req.format = "csv";
  req.config_ids = {2, 8};
  std::string text;
  Status s = RenderTable(db_.get(), req, &text);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_EQ(s.message(), "sweep 1 has no configuration 8");
}

}  // namespace
}  // namespace gridsearch
