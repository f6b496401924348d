// Ranking over a hand-built database: mean over seeds, ties, diverged last,
// incomplete flagged, unfinished configurations unranked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "coordinator/analysis.h"
#include "coordinator/database.h"
#include "coordinator/ranking.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

class RankingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Database::Open(dir_.File("r.db"), false, &db_).ok());
    Exec("INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs, "
         "created_at) VALUES (1, 's', '{}', 'mlp', 'synthetic', 1, 18, 0)");
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(db_->Exec(sql).ok()) << sql; }

  // Adds a configuration with one job per entry of `jobs`: a state and, for
  // done jobs, the final loss (log-loss integral = 10 * loss, so both metrics agree).
  void Config(int id, const std::string& optimizer, const std::string& params,
              const std::vector<std::pair<std::string, double>>& jobs) {
    Exec("INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (" +
         std::to_string(id) + ", 1, '" + optimizer + "', '" + params + "')");
    int seed = 1;
    for (const auto& [state, loss] : jobs) {
      std::string value = std::isfinite(loss) ? std::to_string(loss) : "NULL";
      std::string integral = std::isfinite(loss) ? std::to_string(10 * loss) : "NULL";
      Exec("INSERT INTO jobs (sweep_id, config_id, seed, state, final_train_loss, "
           "log_loss_integral, epochs) VALUES (1, " + std::to_string(id) + ", " +
           std::to_string(seed++) + ", '" + state + "', " + value + ", " + integral + ", 2)");
    }
  }

  const RankedConfigRow& Row(const std::vector<RankedConfigRow>& rows, int64_t config_id) {
    for (const auto& r : rows)
      if (r.config_id == config_id) return r;
    ADD_FAILURE() << "no row for config " << config_id;
    return rows.front();
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(RankingTest, HandComputedRanking) {
  const double nan = std::nan("");
  Config(1, "sgd", R"({"lr":0.1})", {{"done", 0.2}, {"done", 0.4}, {"done", 0.3}});   // mean 0.3
  Config(2, "sgd", R"({"lr":0.01})", {{"done", 0.3}, {"done", 0.3}, {"done", 0.3}});  // tie 0.3
  Config(3, "adam", R"({"lr":0.1})", {{"done", 0.1}, {"done", 0.1}, {"diverged", nan}});
  Config(4, "rmsprop", R"({"lr":0.1})", {{"done", 0.5}, {"done", 0.6}, {"queued", nan}});
  Config(5, "adam", R"({"lr":1})", {{"diverged", nan}, {"diverged", nan}, {"diverged", nan}});
  Config(6, "sgd", R"({"lr":1})", {{"queued", nan}, {"leased", nan}, {"queued", nan}});

  std::vector<RankedConfigRow> rows;
  ASSERT_TRUE(QueryRanking(db_.get(), 1, "final_train_loss", &rows).ok());
  ASSERT_EQ(rows.size(), 6u);
  // Order: the tie (by id), the incomplete one, then diverged ones, then unranked.
  std::vector<int64_t> order;
  for (const auto& r : rows) order.push_back(r.config_id);
  EXPECT_EQ(order, (std::vector<int64_t>{1, 2, 4, 3, 5, 6}));

  EXPECT_EQ(Row(rows, 1).rank, 1);
  EXPECT_EQ(Row(rows, 2).rank, 1);  // ties share a rank
  EXPECT_EQ(Row(rows, 4).rank, 3);  // competition ranking: 1, 1, 3
  EXPECT_EQ(Row(rows, 3).rank, 4);  // lower mean but a diverged seed: after every finite one
  EXPECT_EQ(Row(rows, 5).rank, 5);
  EXPECT_EQ(Row(rows, 6).rank, 0);  // nothing finished: unranked

  EXPECT_NEAR(Row(rows, 1).mean_final_train_loss, 0.3, 1e-12);
  EXPECT_NEAR(Row(rows, 3).mean_final_train_loss, 0.1, 1e-12);  // over its finite seeds
  EXPECT_NEAR(Row(rows, 4).mean_final_train_loss, 0.55, 1e-12);
  EXPECT_TRUE(std::isnan(Row(rows, 5).mean_final_train_loss));

  EXPECT_EQ(Row(rows, 1).seeds_done, 3);
  EXPECT_EQ(Row(rows, 1).seeds_total, 3);
  EXPECT_FALSE(Row(rows, 1).incomplete);
  EXPECT_TRUE(Row(rows, 4).incomplete);
  EXPECT_EQ(Row(rows, 4).seeds_done, 2);
  EXPECT_FALSE(Row(rows, 3).incomplete);  // diverged seeds are finished seeds
  EXPECT_EQ(Row(rows, 3).diverged, 1);
  EXPECT_EQ(Row(rows, 5).diverged, 3);
  EXPECT_TRUE(Row(rows, 6).incomplete);
}

TEST_F(RankingTest, SecondMetricAndFailedSeeds) {
  Config(1, "sgd", R"({"lr":0.1})", {{"done", 0.2}, {"done", 0.2}});
  Config(2, "sgd", R"({"lr":0.01})", {{"done", 0.1}, {"failed", std::nan("")}});
  std::vector<RankedConfigRow> rows;
  ASSERT_TRUE(QueryRanking(db_.get(), 1, "log_loss_integral", &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].config_id, 2);
  EXPECT_NEAR(rows[0].mean_log_loss_integral, 1.0, 1e-12);
  EXPECT_TRUE(rows[0].incomplete);  // a failed seed is a missing seed
  EXPECT_EQ(rows[0].failed, 1);
  EXPECT_EQ(rows[1].rank, 2);
}

TEST_F(RankingTest, UnknownSweepAndMetric) {
  std::vector<RankedConfigRow> rows;
  EXPECT_EQ(QueryRanking(db_.get(), 7, "final_train_loss", &rows).code(), Status::kNotFound);
  EXPECT_EQ(QueryRanking(db_.get(), 1, "loss; DROP TABLE jobs", &rows).code(),
            Status::kInvalidArgument);
}

// What the ranking and the epochs table print, every double as its bits.
std::vector<std::string> RankingAndEpochs(Database* db) {
  std::vector<std::string> out;
  auto bits = [](double v) {
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(b));
    return std::isnan(v) ? std::string("nan") : std::to_string(b);
  };
  for (const char* metric : {"final_train_loss", "log_loss_integral", "test_accuracy"}) {
    std::vector<RankedConfigRow> rows;
    EXPECT_TRUE(QueryRanking(db, 1, metric, &rows).ok());
    for (const auto& r : rows)
      out.push_back(std::string(metric) + " " + std::to_string(r.rank) + " " +
                    std::to_string(r.config_id) + " " + bits(r.mean_final_train_loss) + " " +
                    bits(r.mean_log_loss_integral) + " " + bits(r.mean_test_accuracy) + " " +
                    bits(r.mean_epochs) + " " + std::to_string(r.seeds_done) + " " +
                    std::to_string(r.diverged) + " " + std::to_string(r.failed));
  }
  std::vector<EpochsRow> epochs;
  EXPECT_TRUE(QueryEpochs(db, 1, "final_train_loss", &epochs).ok());
  for (const auto& e : epochs)
    out.push_back("epochs " + e.optimizer + " " + std::to_string(e.jobs) + " " + bits(e.mean_epochs) +
                  " " + bits(e.mean_steps) + " " + bits(e.mean_train_seconds) + " " +
                  bits(e.best_epochs));
  return out;
}

// Version 4 widened the ranking's index (sql/migrations/004_status_summary.sql)
// so that the epochs table reads no job rows. The index decides the order in
// which means are summed: the rankings and epochs must stay bit for bit
// those of version 3's index, ties (seeds equal in every ranked column) and
// unfinished seeds included.
TEST_F(RankingTest, WidenedIndexSumsInVersionThreeOrder) {
  std::mt19937_64 rng(20240601);
  auto unit = [&] { return static_cast<double>(rng() >> 11) / 9007199254740992.0; };
  const char* optimizers[] = {"sgd", "adam", "rmsprop", "pal"};
  std::vector<std::string> inserts;
  for (int config = 1; config <= 40; ++config) {
    Exec("INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (" +
         std::to_string(config) + ", 1, '" + optimizers[config % 4] + "', '{\"c\":" +
         std::to_string(config) + "}')");
    const bool tied = config % 5 == 0;  // every seed equal but in steps and train_seconds
    for (int seed = 1; seed <= 12; ++seed) {
      const double r = unit();
      std::string state = r < 0.75 ? "done" : r < 0.85 ? "diverged" : r < 0.93 ? "failed" : "queued";
      if (tied) state = seed % 4 == 0 ? "diverged" : "done";
      const bool done = state == "done", finished = done || state == "diverged";
      auto num = [&](double v, bool known) {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%.17g", v);
        return known ? std::string(buf) : std::string("NULL");
      };
      const double loss = tied ? 0.3 : 0.01 + unit(), epochs = tied ? 2.5 : 1 + 3 * unit();
      inserts.push_back(
          "INSERT INTO jobs (sweep_id, config_id, seed, state, final_train_loss, log_loss_integral, "
          "test_accuracy, epochs, steps, train_seconds) VALUES (1, " + std::to_string(config) +
          ", " + std::to_string(seed) + ", '" + state + "', " + num(loss, done) + ", " +
          num(tied ? -0.7 : -unit(), done) + ", " + num(tied ? 0.9 : unit(), done) + ", " +
          num(epochs, finished) + ", " + std::to_string(finished ? 1 + rng() % 100000 : 0) + ", " +
          num(1700 + 100 * unit(), finished) + ")");
    }
  }
  // Job ids in no particular order of configuration or seed.
  std::shuffle(inserts.begin(), inserts.end(), rng);
  for (const auto& sql : inserts) Exec(sql);

  const std::vector<std::string> now = RankingAndEpochs(db_.get());
  Exec("DROP INDEX jobs_ranking; CREATE INDEX jobs_ranking ON jobs (config_id, state, "
       "final_train_loss, log_loss_integral, test_accuracy, epochs)");  // as version 3 made it
  const std::vector<std::string> before = RankingAndEpochs(db_.get());
  ASSERT_EQ(now.size(), before.size());
  for (size_t i = 0; i < now.size(); ++i) EXPECT_EQ(now[i], before[i]);
  // The data tells orders apart: the same columns with `id` last (ties by
  // steps and train_seconds) sum some mean differently.
  Exec("DROP INDEX jobs_ranking; CREATE INDEX jobs_ranking ON jobs (config_id, state, "
       "final_train_loss, log_loss_integral, test_accuracy, epochs, steps, train_seconds, id)");
  EXPECT_NE(RankingAndEpochs(db_.get()), before);
}

}  // namespace
}  // namespace gridsearch
