// The figures: gnuplot writes valid PNG and SVG files holding the expected
// series, from a hand-built database read through RenderTable.
#include <gtest/gtest.h>

#include "cli/plot.h"
#include "coordinator/database.h"
#include "coordinator/tables.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

class PlotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::unique_ptr<Database> db;
    ASSERT_TRUE(Database::Open(dir_.File("p.db"), false, &db).ok());
    Exec(db.get(), "INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, "
                   "total_jobs, created_at) VALUES (1, 's', '{}', 'mlp', 'synthetic', 2, 8, 0)");
    AddConfig(db.get(), 1, "sgd", R"({"lr":0.1})", 0.5);
    AddConfig(db.get(), 2, "sgd", R"({"lr":0.01})", 0.9);
    AddConfig(db.get(), 3, "pal", R"({"momentum":0.4})", 0.3);
    AddConfig(db.get(), 4, "adam", R"({"lr":0.001})", 0.4);
  }

  static void Exec(Database* db, const std::string& sql) { ASSERT_TRUE(db->Exec(sql).ok()) << sql; }

  // Two seeds; a decaying loss curve of 40 points over the 2 s budget.
  void AddConfig(Database* db, int id, const std::string& opt, const std::string& params,
                 double final_loss) {
    Exec(db, "INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (" +
                 std::to_string(id) + ", 1, '" + opt + "', '" + params + "')");
    for (int seed = 1; seed <= 2; ++seed) {
      Exec(db, "INSERT INTO jobs (sweep_id, config_id, seed, state, final_train_loss, "
               "log_loss_integral, epochs, steps, finished_attempt, attempts) VALUES (1, " +
                   std::to_string(id) + ", " + std::to_string(seed) + ", 'done', " +
                   std::to_string(final_loss * seed) + ", -1, 1, 40, 1, 1)");
      for (int step = 1; step <= 40; ++step) {
        double t = step * 0.05;
        Exec(db, "INSERT INTO curve_points SELECT id, 1, " + std::to_string(step) + ", " +
                     std::to_string(t) + ", 0.1, " + std::to_string(2.0 / (1 + t * seed * id)) +
                     ", " + std::to_string(0.01 * step) +
                     " FROM jobs WHERE config_id = " + std::to_string(id) +
                     " AND seed = " + std::to_string(seed));
      }
    }
  }

  testing::TempDir dir_;
};

TEST_F(PlotTest, WritesPngAndSvgWithTheSeries) {
  std::unique_ptr<Database> db;
  ASSERT_TRUE(Database::Open(dir_.File("p.db"), true, &db).ok());
  PlotOptions options;
  options.out_dir = dir_.File("figures");
  options.bins = 20;
  std::vector<std::string> written, notes;
  Status s = WritePlots([&](const TableRequest& r, std::string* out) { return RenderTable(db.get(), r, out); },
                        options, &written, &notes);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(notes.empty()) << notes.front();
  ASSERT_EQ(written.size(), 6u);
  for (const char* name : {"loss_curves", "final_loss_boxplot", "pal_learning_rate"}) {
    SCOPED_TRACE(name);
    std::string png = testing::ReadFile(options.out_dir + "/" + name + ".png");
    ASSERT_GT(png.size(), 1000u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    std::string svg = testing::ReadFile(options.out_dir + "/" + name + ".svg");
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
  }
  // One curve per optimizer's best configuration, titled with its parameters.
  std::string curves = testing::ReadFile(options.out_dir + "/loss_curves.svg");
  for (const char* title : {"sgd (lr=0.1)", "pal (momentum=0.4)", "adam (lr=0.001)"})
    EXPECT_NE(curves.find(title), std::string::npos) << title;
  EXPECT_EQ(curves.find("lr=0.01)"), std::string::npos);  // not the best sgd
  std::string data = testing::ReadFile(options.out_dir + "/loss_curves.dat");
  EXPECT_NE(data.find("# pal (momentum=0.4)"), std::string::npos);
  // The box plots name each optimizer with its number of configurations.
  std::string boxes = testing::ReadFile(options.out_dir + "/final_loss_boxplot.svg");
  EXPECT_NE(boxes.find("sgd (2)"), std::string::npos);
  EXPECT_NE(boxes.find("best 25% of each optimizer"), std::string::npos);
  std::string lr = testing::ReadFile(options.out_dir + "/pal_learning_rate.svg");
  EXPECT_NE(lr.find("effective learning rate"), std::string::npos);
}

TEST_F(PlotTest, MissingGnuplotSaysHowToInstallIt) {
  std::unique_ptr<Database> db;
  ASSERT_TRUE(Database::Open(dir_.File("p.db"), true, &db).ok());
  PlotOptions options;
  options.out_dir = dir_.File("figures");
  options.gnuplot = "gnuplot-that-is-not-installed";
  std::vector<std::string> written, notes;
  Status s = WritePlots([&](const TableRequest& r, std::string* out) { return RenderTable(db.get(), r, out); },
                        options, &written, &notes);
  EXPECT_EQ(s.code(), Status::kFailedPrecondition);
  EXPECT_NE(s.message().find("apt-get install gnuplot-nox"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gridsearch
