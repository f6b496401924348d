// Output formats of the ranking: JSON fields and nulls, CSV quoting, --top.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "coordinator/format.h"

namespace gridsearch {
namespace {

std::vector<RankedConfigRow> Rows() {
  RankedConfigRow a;
  a.rank = 1;
  a.config_id = 1;
  a.optimizer = "sgd";
  a.params_json = R"({"lr":0.1,"momentum":0.9})";
  a.mean_final_train_loss = 0.25;
  a.mean_log_loss_integral = -0.5;
  a.mean_test_accuracy = 0.875;
  a.mean_epochs = 3;
  a.seeds_done = 2;
  a.seeds_total = 2;
  RankedConfigRow b = a;
  b.rank = 2;
  b.config_id = 2;
  b.optimizer = "adam";
  b.params_json = R"({"lr":1.0})";
  b.mean_final_train_loss = std::nan("");
  b.diverged = 2;
  b.seeds_done = 0;
  return {a, b};
}

TEST(FormatTest, JsonHasTheDocumentedFields) {
  auto j = nlohmann::json::parse(FormatRanking(Rows(), "json", 0, "final_train_loss"));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["rank"], 1);
  EXPECT_EQ(j[0]["optimizer"], "sgd");
  EXPECT_EQ(j[0]["params"]["momentum"], 0.9);
  EXPECT_EQ(j[0]["mean_final_train_loss"], 0.25);
  EXPECT_EQ(j[0]["mean_log_loss_integral"], -0.5);
  EXPECT_EQ(j[0]["seeds_done"], 2);
  EXPECT_EQ(j[0]["seeds_total"], 2);
  EXPECT_EQ(j[0]["diverged"], 0);
  EXPECT_TRUE(j[1]["mean_final_train_loss"].is_null());
  EXPECT_EQ(j[1]["diverged"], 2);
}

TEST(FormatTest, TopLimitsRows) {
  auto j = nlohmann::json::parse(FormatRanking(Rows(), "json", 1, "final_train_loss"));
  EXPECT_EQ(j.size(), 1u);
  std::string table = FormatRanking(Rows(), "table", 1, "final_train_loss");
  EXPECT_NE(table.find("1 more configurations"), std::string::npos);
}

TEST(FormatTest, CsvQuotesParamsAndLeavesUnknownEmpty) {
  std::string csv = FormatRanking(Rows(), "csv", 0, "final_train_loss");
  EXPECT_NE(csv.find(R"("{""lr"":0.1,""momentum"":0.9}")"), std::string::npos) << csv;
  EXPECT_NE(csv.find("2,adam,\"{\"\"lr\"\":1.0}\",,"), std::string::npos) << csv;
}

TEST(FormatTest, TableAndMarkdownShowNotes) {
  std::string table = FormatRanking(Rows(), "table", 0, "final_train_loss");
  EXPECT_NE(table.find("lr=0.1 momentum=0.9"), std::string::npos);
  EXPECT_NE(table.find("diverged 2"), std::string::npos);
  std::string md = FormatRanking(Rows(), "markdown", 0, "final_train_loss");
  EXPECT_EQ(md.rfind("| rank", 0), 0u) << md;
}

TEST(FormatTest, Durations) {
  EXPECT_EQ(FormatDuration(5), "5s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(-1), "?");
}

}  // namespace
}  // namespace gridsearch
