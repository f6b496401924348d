// WalSync, and the store's answers waiting for it: a write is answered only
// after a flush of the WAL that started after its commit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/database.h"
#include "coordinator/job_store.h"
#include "coordinator/metrics.h"
#include "coordinator/wal_sync.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

TEST(WalSyncTest, FlushesTheWalAndFollowsItWhenItIsReplaced) {
  testing::TempDir dir;
  const std::string db_path = dir.File("w.db");
  WalSync sync(db_path);
  // No WAL yet: nothing waits to be flushed.
  EXPECT_TRUE(sync.Sync().ok());

  std::unique_ptr<Database> db;
  ASSERT_TRUE(Database::Open(db_path, false, &db).ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  ASSERT_EQ(access((db_path + "-wal").c_str(), F_OK), 0) << "the database is in WAL mode";
  Status s = sync.Sync();
  EXPECT_TRUE(s.ok()) << s.ToString();
  db.reset();  // the last connection checkpoints and removes the WAL
  EXPECT_TRUE(sync.Sync().ok());

  // A WAL file that cannot be flushed (a procfs file refuses fsync): the
  // failure names it. It is a new file at the same path, so this also shows
  // that the descriptor follows the path instead of flushing the old file.
  ASSERT_EQ(symlink("/proc/self/stat", (db_path + "-wal").c_str()), 0);
  s = sync.Sync();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::kUnavailable);
  EXPECT_NE(s.message().find(db_path + "-wal"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("fdatasync"), std::string::npos) << s.ToString();
}

double MetricValue(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atof(text.c_str() + at + name.size() + 2);
}

// One caller writing after another: each answer needs its own flush, since
// a flush covers only the commits written before it started.
TEST(WalSyncTest, EachAnsweredWriteWaitedForAFlushAfterItsCommit) {
  testing::TempDir dir;
  CoordinatorOptions o;
  o.db_path = dir.File("s.db");
  o.lease_timeout_seconds = 60;
  std::unique_ptr<JobStore> store;
  ASSERT_TRUE(JobStore::Open(o, nullptr, &store).ok());
  CoordinatorMetrics metrics;
  store->SetMetrics(&metrics);
  int64_t id = 0, total = 0, configs = 0;
  Status s = store->SubmitSweep(R"({"name": "s", "model": "mlp", "dataset": "synthetic",
      "batch_size": 10, "budget_seconds": 1, "seeds": [1], "optimizers": {"sgd": {"lr": [0.1]}}})",
                                 &id, &total, &configs);
  ASSERT_TRUE(s.ok()) << s.ToString();
  bool has = false;
  LeasedJob job;
  ASSERT_TRUE(store->LeaseJob({"w", "h", "cpu", "t"}, 0, &has, &job).ok());
  ASSERT_TRUE(has);
  const int kReports = 20;
  for (int i = 1; i <= kReports; ++i) {
    std::vector<CurvePoint> pts = {{0.1 * i, i, 0.01, 2.0, 0.1}};
    ASSERT_TRUE(store->ReportProgress(job.job.job_id, job.lease_id, pts).ok());
  }
  const std::string text = metrics.Render({}, WorkerCounts{});
  EXPECT_GE(MetricValue(text, "gridsearch_sqlite_wal_sync_seconds_count"), 2 + kReports) << text;
  EXPECT_EQ(MetricValue(text, "gridsearch_sqlite_wal_sync_failures_total"), 0) << text;
  // Nothing flushed that was not committed, nor a commit without a flush.
  EXPECT_LE(MetricValue(text, "gridsearch_sqlite_wal_sync_seconds_count"),
            MetricValue(text, "gridsearch_sqlite_group_commit_operations_count"))
      << text;
}

}  // namespace
}  // namespace gridsearch
