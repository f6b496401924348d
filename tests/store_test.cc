// JobStore: submission, leases and their expiry (manual clock), stale-lease
// rejection, completion exactly once, failure retries, cancellation, restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "coordinator/database.h"
#include "coordinator/job_store.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

const char* kSpec = R"({
  "name": "store-test", "model": "mlp", "dataset": "synthetic",
  "batch_size": 10, "budget_seconds": 1, "seeds": [1, 2],
  "optimizers": {"sgd": {"lr": [0.1, 0.01]}, "adam": {"lr": [0.001]}}
})";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    store_.reset();
    CoordinatorOptions o;
    o.db_path = dir_.File("test.db");
    o.lease_timeout_seconds = 10;
    o.max_attempts = max_attempts_;
    ASSERT_TRUE(JobStore::Open(o, &clock_, &store_).ok());
  }

  int64_t Submit() {
    int64_t id = 0, total = 0, configs = 0;
    Status s = store_->SubmitSweep(kSpec, &id, &total, &configs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(total, 6);
    EXPECT_EQ(configs, 3);
    return id;
  }

  LeasedJob Lease(const std::string& worker = "w1") {
    bool has = false;
    LeasedJob job;
    Status s = store_->LeaseJob({worker, "host", "cpu", "test"}, 0, &has, &job);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(has);
    return job;
  }

  // Reads one value from the file through a separate read-only connection.
  std::string Query(const std::string& sql) {
    std::unique_ptr<Database> db;
    EXPECT_TRUE(Database::Open(dir_.File("test.db"), true, &db).ok());
    Statement st;
    EXPECT_TRUE(db->Prepare(sql, &st).ok()) << sql;
    bool row = false;
    EXPECT_TRUE(st.Step(&row).ok());
    if (!row || st.IsNull(0)) return "NULL";
    return st.Text(0);
  }

  JobResult Result(double loss) {
    JobResult r;
    r.final_train_loss = loss;
    r.log_loss_integral = std::log10(loss);
    r.steps = 10;
    r.epochs = 0.5;
    r.train_seconds = 1;
    return r;
  }

  // A job leased by "slow", expired, leased again by "fresh" and completed
  // by that second attempt.
  void CompletedBySecondAttempt(LeasedJob* slow, LeasedJob* fresh) {
    Submit();
    *slow = Lease("slow");
    clock_.Advance(11);
    int expired = 0;
    ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
    *fresh = Lease("fresh");
    ASSERT_TRUE(store_->CompleteJob(fresh->job.job_id, fresh->lease_id, Result(0.1), {}).ok());
  }

  testing::TempDir dir_;
  ManualClock clock_;
  int max_attempts_ = 3;
  std::unique_ptr<JobStore> store_;
};

TEST_F(StoreTest, SubmitStoresSweepConfigsAndJobs) {
  int64_t id = Submit();
  EXPECT_EQ(id, 1);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM configs"), "3");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'queued'"), "6");
  EXPECT_EQ(Query("SELECT COUNT(DISTINCT seed) FROM jobs"), "2");
  SweepSummary s;
  ASSERT_TRUE(store_->GetSweep(id, &s).ok());
  EXPECT_EQ(s.total, 6);
  EXPECT_EQ(s.queued, 6);
  EXPECT_EQ(s.state, "running");
}

TEST_F(StoreTest, InvalidSpecWritesNothing) {
  int64_t id = 0, total = 0, configs = 0;
  Status s = store_->SubmitSweep(R"({"name": "x"})", &id, &total, &configs);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "0");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs"), "0");
}

TEST_F(StoreTest, LeaseHandsOutSeedMajorJobsWithDefaultsFilled) {
  Submit();
  LeasedJob a = Lease();
  EXPECT_EQ(a.job.attempt, 1);
  EXPECT_EQ(a.job.seed, 1);
  EXPECT_EQ(a.job.model, "mlp");
  EXPECT_EQ(a.job.dataset.name, "synthetic");
  EXPECT_EQ(a.job.batch_size, 10);
  EXPECT_EQ(a.job.optimizer, "adam");
  EXPECT_DOUBLE_EQ(a.job.params.at("lr"), 0.001);
  EXPECT_DOUBLE_EQ(a.job.params.at("beta1"), 0.9);  // default filled in
  EXPECT_EQ(a.lease_id.size(), 32u);
  LeasedJob b = Lease(), c = Lease(), d = Lease();
  EXPECT_EQ(c.job.seed, 1);
  EXPECT_EQ(d.job.seed, 2);  // every config's seed 1 before any seed 2
  EXPECT_NE(a.lease_id, b.lease_id);
}

TEST_F(StoreTest, EmptyQueueReturnsNoJob) {
  bool has = true;
  LeasedJob job;
  ASSERT_TRUE(store_->LeaseJob({"w", "", "", ""}, 0, &has, &job).ok());
  EXPECT_FALSE(has);
}

TEST_F(StoreTest, LongPollWakesWhenASweepArrives) {
  bool has = false;
  LeasedJob job;
  auto start = std::chrono::steady_clock::now();
  std::thread poller([&] { store_->LeaseJob({"w", "", "", ""}, 20, &has, &job); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Submit();
  poller.join();
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(has);
  EXPECT_LT(waited, 10);
}

TEST_F(StoreTest, ExpiredLeaseRequeuesAndStaleLeaseIsRejected) {
  Submit();
  LeasedJob first = Lease("w1");
  std::vector<CurvePoint> pts = {{0.1, 1, 0.01, 2.3, 0.1}};
  ASSERT_TRUE(store_->ReportProgress(first.job.job_id, first.lease_id, pts).ok());

  clock_.Advance(5);
  int expired = 0;
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  EXPECT_EQ(expired, 0);  // the report renewed the lease at t=0 for 10 s

  clock_.Advance(6);
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  EXPECT_EQ(expired, 1);
  std::string job = std::to_string(first.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "queued");
  EXPECT_EQ(Query("SELECT attempts FROM jobs WHERE id = " + job), "1");
  EXPECT_NE(Query("SELECT error FROM jobs WHERE id = " + job).find("lease expired"),
            std::string::npos);

  LeasedJob second = Lease("w2");
  EXPECT_EQ(second.job.job_id, first.job.job_id);
  EXPECT_EQ(second.job.attempt, 2);
  EXPECT_NE(second.lease_id, first.lease_id);

  Status stale = store_->ReportProgress(first.job.job_id, first.lease_id, pts);
  EXPECT_EQ(stale.code(), Status::kFailedPrecondition) << stale.ToString();
  // (A late *completion* from the first attempt would still be accepted here:
  // see LateResultIsAcceptedWhileNoOtherAttemptCompleted.)
  bool retry = false;
  stale = store_->FailJob(first.job.job_id, first.lease_id, "boom", &retry);
  EXPECT_EQ(stale.code(), Status::kFailedPrecondition);

  ASSERT_TRUE(store_->CompleteJob(second.job.job_id, second.lease_id, Result(0.25), pts).ok());
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "done");
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + job), "0.25");
  EXPECT_EQ(Query("SELECT worker_id FROM jobs WHERE id = " + job), "w2");
  // Curve points stay under the attempt that wrote them.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM curve_points WHERE job_id = " + job + " AND attempt = 1"), "1");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM curve_points WHERE job_id = " + job + " AND attempt = 2"), "1");
  // The stale attempt cannot overwrite the result afterwards either.
  stale = store_->CompleteJob(first.job.job_id, first.lease_id, Result(9), {});
  EXPECT_EQ(stale.code(), Status::kFailedPrecondition);
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + job), "0.25");
}

TEST_F(StoreTest, LateReportBeforeReleaseTakesTheJobBack) {
  Submit();
  LeasedJob a = Lease();
  clock_.Advance(11);
  int expired = 0;
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  ASSERT_EQ(expired, 1);
  // Nobody leased it again: the slow worker's report is accepted.
  ASSERT_TRUE(store_->ReportProgress(a.job.job_id, a.lease_id, {}).ok());
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + std::to_string(a.job.job_id)), "leased");
  ASSERT_TRUE(store_->CompleteJob(a.job.job_id, a.lease_id, Result(1), {}).ok());
}

TEST_F(StoreTest, JobFailsAfterMaxAttemptsOfExpiry) {
  max_attempts_ = 2;
  Open();
  Submit();
  int expired = 0;
  LeasedJob a = Lease();
  clock_.Advance(11);
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  LeasedJob b = Lease();
  ASSERT_EQ(b.job.job_id, a.job.job_id);
  clock_.Advance(11);
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  std::string job = std::to_string(a.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "failed");
  EXPECT_EQ(Query("SELECT attempts FROM jobs WHERE id = " + job), "2");
  LeasedJob c = Lease();
  EXPECT_NE(c.job.job_id, a.job.job_id);
}

TEST_F(StoreTest, FailJobRetriesThenFails) {
  max_attempts_ = 2;
  Open();
  Submit();
  LeasedJob a = Lease();
  bool retry = false;
  ASSERT_TRUE(store_->FailJob(a.job.job_id, a.lease_id, "data set missing", &retry).ok());
  EXPECT_TRUE(retry);
  LeasedJob b = Lease();
  ASSERT_EQ(b.job.job_id, a.job.job_id);
  ASSERT_TRUE(store_->FailJob(b.job.job_id, b.lease_id, "data set missing", &retry).ok());
  EXPECT_FALSE(retry);
  std::string job = std::to_string(a.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "failed");
  EXPECT_NE(Query("SELECT error FROM jobs WHERE id = " + job).find("data set missing"),
            std::string::npos);
}

TEST_F(StoreTest, CompletionIsIdempotentForTheSameLease) {
  Submit();
  LeasedJob a = Lease();
  ASSERT_TRUE(store_->CompleteJob(a.job.job_id, a.lease_id, Result(0.5), {}).ok());
  // A retry of the same completion (its reply was lost) changes nothing.
  ASSERT_TRUE(store_->CompleteJob(a.job.job_id, a.lease_id, Result(0.7), {}).ok());
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + std::to_string(a.job.job_id)),
            "0.5");
  EXPECT_EQ(Query("SELECT jobs_done FROM workers WHERE id = 'w1'"), "1");
}

TEST_F(StoreTest, DivergedJobIsStoredAsDiverged) {
  Submit();
  LeasedJob a = Lease();
  JobResult r = Result(1);
  r.diverged = true;
  r.final_train_loss = std::nan("");
  ASSERT_TRUE(store_->CompleteJob(a.job.job_id, a.lease_id, r, {}).ok());
  std::string job = std::to_string(a.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "diverged");
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + job), "NULL");
}

TEST_F(StoreTest, CancelStopsQueuedAndRunningJobs) {
  int64_t sweep = Submit();
  LeasedJob a = Lease();
  int64_t n = 0;
  ASSERT_TRUE(store_->CancelSweep(sweep, &n).ok());
  EXPECT_EQ(n, 6);
  Status s = store_->ReportProgress(a.job.job_id, a.lease_id, {});
  EXPECT_EQ(s.code(), Status::kFailedPrecondition);
  EXPECT_NE(s.message().find("cancelled"), std::string::npos);
  bool has = true;
  LeasedJob none;
  ASSERT_TRUE(store_->LeaseJob({"w", "", "", ""}, 0, &has, &none).ok());
  EXPECT_FALSE(has);
  SweepSummary summary;
  ASSERT_TRUE(store_->GetSweep(sweep, &summary).ok());
  EXPECT_EQ(summary.state, "cancelled");
  EXPECT_EQ(store_->CancelSweep(99, &n).code(), Status::kNotFound);
}

TEST_F(StoreTest, UnknownJobIsNotFound) {
  Submit();
  EXPECT_EQ(store_->ReportProgress(999, "x", {}).code(), Status::kNotFound);
  SweepSummary s;
  EXPECT_EQ(store_->GetSweep(42, &s).code(), Status::kNotFound);
}

TEST_F(StoreTest, RestartKeepsEverythingAcknowledged) {
  int64_t sweep = Submit();
  LeasedJob a = Lease();
  ASSERT_TRUE(store_->CompleteJob(a.job.job_id, a.lease_id, Result(0.5), {}).ok());
  LeasedJob b = Lease();
  Open();  // a new store on the same file
  SweepSummary s;
  ASSERT_TRUE(store_->GetSweep(sweep, &s).ok());
  EXPECT_EQ(s.done, 1);
  EXPECT_EQ(s.leased, 1);
  EXPECT_EQ(s.queued, 4);
  // The lease held across the restart is still valid until it expires.
  ASSERT_TRUE(store_->ReportProgress(b.job.job_id, b.lease_id, {}).ok());
  EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(Query("PRAGMA user_version"), std::to_string(Database::LatestSchemaVersion()));
}

TEST_F(StoreTest, ConcurrentWorkersLeaseEachJobOnce) {
  Submit();
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<int64_t> ids;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        bool has = false;
        LeasedJob job;
        if (!store_->LeaseJob({"w" + std::to_string(t), "", "", ""}, 0, &has, &job).ok() || !has)
          return;
        ASSERT_TRUE(store_->CompleteJob(job.job.job_id, job.lease_id, Result(1), {}).ok());
        std::lock_guard<std::mutex> lock(mu);
        ids.push_back(job.job.job_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "6");
}

TEST_F(StoreTest, LateResultIsAcceptedWhileNoOtherAttemptCompleted) {
  Submit();
  LeasedJob slow = Lease("slow");
  clock_.Advance(11);
  int expired = 0;
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  LeasedJob fresh = Lease("fresh");
  ASSERT_EQ(fresh.job.job_id, slow.job.job_id);
  // The slow worker's result arrives after its lease expired; the second
  // attempt has not finished: the result is taken.
  ASSERT_TRUE(store_->CompleteJob(slow.job.job_id, slow.lease_id, Result(0.5), {}).ok());
  std::string job = std::to_string(slow.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "done");
  EXPECT_EQ(Query("SELECT finished_attempt FROM jobs WHERE id = " + job), "1");
  EXPECT_EQ(Query("SELECT worker_id FROM jobs WHERE id = " + job), "slow");
  EXPECT_EQ(Query("SELECT outcome FROM leases WHERE lease_id = '" + fresh.lease_id + "'"),
            "superseded");
  // The running second attempt is told to stop, and cannot overwrite.
  EXPECT_EQ(store_->ReportProgress(fresh.job.job_id, fresh.lease_id, {}).code(),
            Status::kFailedPrecondition);
  EXPECT_EQ(store_->CompleteJob(fresh.job.job_id, fresh.lease_id, Result(0.1), {}).code(),
            Status::kFailedPrecondition);
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + job), "0.5");
  // The accepted completion repeated is harmless.
  EXPECT_TRUE(store_->CompleteJob(slow.job.job_id, slow.lease_id, Result(0.9), {}).ok());
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + job), "0.5");
}

TEST_F(StoreTest, LateResultIsRejectedAfterAnotherAttemptCompleted) {
  LeasedJob slow, fresh;
  CompletedBySecondAttempt(&slow, &fresh);
  Status late = store_->CompleteJob(slow.job.job_id, slow.lease_id, Result(0.5), {});
  EXPECT_EQ(late.code(), Status::kFailedPrecondition);
  EXPECT_NE(late.message().find("already completed by attempt 2"), std::string::npos)
      << late.message();
  EXPECT_EQ(Query("SELECT final_train_loss FROM jobs WHERE id = " + std::to_string(fresh.job.job_id)),
            "0.1");
  // A lease that was never given is refused too.
  EXPECT_EQ(store_->CompleteJob(fresh.job.job_id, "feedface", Result(0.5), {}).code(),
            Status::kFailedPrecondition);
}

TEST_F(StoreTest, CompleteAndLeaseFinishesOneJobAndLeasesTheNextInOneCall) {
  Submit();
  LeasedJob first = Lease("w1");
  bool has = false;
  LeasedJob next;
  std::vector<CurvePoint> pts = {{0.1, 1, 0.01, 2.3, 0.1}};
  Status s = store_->CompleteAndLease(first.job.job_id, first.lease_id, Result(0.2), pts,
                                      {"w1", "host", "cpu", "test"}, &has, &next);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(has);
  EXPECT_NE(next.job.job_id, first.job.job_id);
  EXPECT_EQ(next.job.attempt, 1);
  EXPECT_FALSE(next.job.params.empty());  // a whole job, defaults filled, as LeaseJob gives
  const std::string a = std::to_string(first.job.job_id), b = std::to_string(next.job.job_id);
  EXPECT_EQ(Query("SELECT state || ' ' || final_train_loss FROM jobs WHERE id = " + a), "done 0.2");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM curve_points WHERE job_id = " + a), "1");
  EXPECT_EQ(Query("SELECT state || ' ' || worker_id || ' ' || lease_id FROM jobs WHERE id = " + b),
            "leased w1 " + next.lease_id);
  // Both halves in one transaction: the lease is stamped with the
  // completion's time.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM leases WHERE lease_id = '" + next.lease_id +
                  "' AND leased_at = (SELECT ended_at FROM leases WHERE lease_id = '" +
                  first.lease_id + "')"),
            "1");
}

TEST_F(StoreTest, CompleteAndLeaseWithAStaleLeaseLeasesNothing) {
  LeasedJob slow, fresh;
  CompletedBySecondAttempt(&slow, &fresh);
  bool has = true;
  LeasedJob next;
  Status s = store_->CompleteAndLease(slow.job.job_id, slow.lease_id, Result(0.5), {},
                                      {"slow", "host", "cpu", "test"}, &has, &next);
  EXPECT_EQ(s.code(), Status::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("already completed by attempt 2"), std::string::npos) << s.message();
  EXPECT_FALSE(has);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'"), "0");
  // A lease that was never given is refused, and leases nothing either.
  s = store_->CompleteAndLease(fresh.job.job_id, "feedface", Result(0.5), {},
                               {"fresh", "host", "cpu", "test"}, &has, &next);
  EXPECT_EQ(s.code(), Status::kFailedPrecondition);
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'"), "0");
}

TEST_F(StoreTest, ARepeatedCompleteAndLeaseGetsTheSameLeaseEvenAfterARestart) {
  Submit();
  LeasedJob first = Lease("w1");
  const WorkerInfo w1{"w1", "host", "cpu", "test"};
  bool has = false;
  LeasedJob next;
  ASSERT_TRUE(store_->CompleteAndLease(first.job.job_id, first.lease_id, Result(0.2), {}, w1,
                                       &has, &next)
                  .ok());
  ASSERT_TRUE(has);
  // The reply is lost and the coordinator restarts; the worker sends the
  // same call again.
  Open();
  bool again_has = false;
  LeasedJob again;
  Status s = store_->CompleteAndLease(first.job.job_id, first.lease_id, Result(0.2), {}, w1,
                                      &again_has, &again);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(again_has);
  EXPECT_EQ(again.job.job_id, next.job.job_id);
  EXPECT_EQ(again.lease_id, next.lease_id);
  EXPECT_EQ(again.job.attempt, 1);
  EXPECT_EQ(again.job.params, next.job.params);
  // Nothing happened twice: one completion, one lease of the next job.
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "1");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'"), "1");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM leases WHERE job_id = " + std::to_string(next.job.job_id)),
            "1");
  EXPECT_EQ(Query("SELECT jobs_done FROM workers WHERE id = 'w1'"), "1");
  // Another worker repeating w1's completion gets no lease of w1's.
  s = store_->CompleteAndLease(first.job.job_id, first.lease_id, Result(0.2), {},
                               {"w2", "host", "cpu", "test"}, &again_has, &again);
  ASSERT_TRUE(s.ok()) << s.ToString();
  if (again_has) EXPECT_NE(again.lease_id, next.lease_id);
}

TEST_F(StoreTest, ACompleteAndLeaseWhoseLeaseHalfFailsKeepsTheCompletion) {
  Submit();
  LeasedJob first = Lease("w1");
  // The next job cannot be built: its sweep's stored spec is damaged (as a
  // file edited by hand would be), and the restarted store must re-read it.
  {
    std::unique_ptr<Database> db;
    ASSERT_TRUE(Database::Open(dir_.File("test.db"), false, &db).ok());
    ASSERT_TRUE(db->Exec("UPDATE sweeps SET spec_json = '{\"name\": 1}'").ok());
  }
  Open();
  bool has = true;
  LeasedJob next;
  Status s = store_->CompleteAndLease(first.job.job_id, first.lease_id, Result(0.3), {},
                                      {"w1", "host", "cpu", "test"}, &has, &next);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(has);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + std::to_string(first.job.job_id)), "done");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'"), "0");
}

TEST_F(StoreTest, ReleasedJobIsQueuedAgainWithoutSpendingAnAttempt) {
  Submit();
  LeasedJob a = Lease("w1");
  ASSERT_TRUE(store_->ReportProgress(a.job.job_id, a.lease_id, {{0.1, 1, 0.1, 2.0, 0.1}}).ok());
  ASSERT_TRUE(store_->ReleaseJob(a.job.job_id, a.lease_id).ok());
  std::string job = std::to_string(a.job.job_id);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + job), "queued");
  EXPECT_EQ(Query("SELECT attempts FROM jobs WHERE id = " + job), "0");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM curve_points WHERE job_id = " + job), "0");
  EXPECT_EQ(Query("SELECT outcome FROM leases WHERE lease_id = '" + a.lease_id + "'"), "released");
  // The released lease is stale now.
  EXPECT_EQ(store_->ReportProgress(a.job.job_id, a.lease_id, {}).code(), Status::kFailedPrecondition);
  LeasedJob b = Lease("w2");
  EXPECT_EQ(b.job.job_id, a.job.job_id);
  EXPECT_EQ(b.job.attempt, 1);
}

TEST_F(StoreTest, RetryRequeuesFailedJobs) {
  max_attempts_ = 1;
  Open();
  int64_t sweep = Submit();
  LeasedJob a = Lease();
  bool retry = true;
  ASSERT_TRUE(store_->FailJob(a.job.job_id, a.lease_id, "out of memory", &retry).ok());
  EXPECT_FALSE(retry);
  int64_t n = 0;
  ASSERT_TRUE(store_->RetrySweep(sweep, &n).ok());
  EXPECT_EQ(n, 1);
  std::string job = std::to_string(a.job.job_id);
  EXPECT_EQ(Query("SELECT state || '/' || attempts FROM jobs WHERE id = " + job), "queued/0");
  EXPECT_EQ(store_->RetrySweep(77, &n).code(), Status::kNotFound);
  ASSERT_TRUE(store_->CancelSweep(sweep, &n).ok());
  EXPECT_EQ(store_->RetrySweep(sweep, &n).code(), Status::kFailedPrecondition);
}

TEST_F(StoreTest, StopLeasingEndsLongPollsAtOnce) {
  bool has = true;
  LeasedJob job;
  auto start = std::chrono::steady_clock::now();
  std::thread poller([&] { store_->LeaseJob({"w", "", "", ""}, 20, &has, &job); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  store_->StopLeasing();
  poller.join();
  EXPECT_FALSE(has);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
  Submit();  // other calls still work while draining
  ASSERT_TRUE(store_->LeaseJob({"w", "", "", ""}, 0, &has, &job).ok());
  EXPECT_FALSE(has);
}

// A report moves the lease's deadline whether or not it rewrites the job's
// row: a renewal kept in memory still keeps the lease, exactly to its
// deadline, and one that moves the deadline far enough is written.
TEST_F(StoreTest, EveryReportRenewsItsLeaseExactlyWhetherOrNotItIsWritten) {
  Submit();
  LeasedJob job = Lease("w1");  // deadline t0 + 10
  const std::string id = std::to_string(job.job.job_id);
  const std::string leased_deadline = Query("SELECT lease_deadline FROM jobs WHERE id = " + id);
  std::vector<CurvePoint> pts = {{0.1, 1, 0.01, 2.3, 0.1}};
  clock_.Advance(0.5);
  ASSERT_TRUE(store_->ReportProgress(job.job.job_id, job.lease_id, pts).ok());  // to t0 + 10.5
  // Half a second is less than the step (a tenth of the 10-s timeout): not written.
  EXPECT_EQ(Query("SELECT lease_deadline FROM jobs WHERE id = " + id), leased_deadline);
  clock_.Advance(9.8);  // t0 + 10.3: past the stored deadline, not the renewed one
  int expired = -1;
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  EXPECT_EQ(expired, 0);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + id), "leased");
  clock_.Advance(0.3);  // t0 + 10.6: past the renewed deadline too
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = " + id), "queued");

  // A report that moves the deadline by the step or more writes it.
  LeasedJob again = Lease("w2");
  const double before = std::stod(Query("SELECT lease_deadline FROM jobs WHERE id = " + id));
  clock_.Advance(2);
  pts[0].step = 2;
  ASSERT_TRUE(store_->ReportProgress(again.job.job_id, again.lease_id, pts).ok());
  EXPECT_DOUBLE_EQ(std::stod(Query("SELECT lease_deadline FROM jobs WHERE id = " + id)), before + 2);
  // It expires at that deadline.
  clock_.Advance(10.5);
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  EXPECT_EQ(expired, 1);
}

// Many long-polls at once, as a cluster's workers wait: none holds a thread,
// every one is answered exactly once, jobs go to the earliest waiters first,
// the others get "no job" when their wait is over.
TEST_F(StoreTest, ManyAsynchronousLongPollsAreServedInOrderAndEachAnsweredOnce) {
  constexpr int kWaiters = 300;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> answers(kWaiters, 0);
  std::vector<std::string> leased_by;  // the waiters that got a job, in answer order
  std::vector<int64_t> jobs;
  int answered = 0;
  for (int i = 0; i < kWaiters; ++i) {
    // The first 200 wait up to 20 s; the last 100 only 0.3 s.
    const double wait = i < 200 ? 20 : 0.3;
    store_->LeaseJobAsync({"w" + std::to_string(i), "", "", ""}, wait, [&, i](LeaseReply r) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_TRUE(r.status.ok()) << r.status.ToString();
      ++answers[i];
      if (r.has_job) {
        leased_by.push_back("w" + std::to_string(i));
        jobs.push_back(r.leased.job.job_id);
      }
      ++answered;
      cv.notify_all();
    });
  }
  {
    // The short waits end with no job; the long ones still wait.
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == 100; }));
    for (int i = 200; i < kWaiters; ++i) EXPECT_EQ(answers[i], 1) << i;
    EXPECT_TRUE(leased_by.empty());
  }
  Submit();  // 6 jobs: to the 6 earliest waiters
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == 106; }));
    EXPECT_EQ(leased_by, (std::vector<std::string>{"w0", "w1", "w2", "w3", "w4", "w5"}));
    std::sort(jobs.begin(), jobs.end());
    EXPECT_EQ(std::unique(jobs.begin(), jobs.end()), jobs.end());
  }
  store_->StopLeasing();  // the rest are answered at once, with no job
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answered == kWaiters; }));
  for (int i = 0; i < kWaiters; ++i) EXPECT_EQ(answers[i], 1) << i;
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'"), "6");
  EXPECT_EQ(Query("SELECT COUNT(DISTINCT worker_id) FROM leases"), "6");
}

// A job handed back wakes a waiter; a refused request is answered at once,
// on the caller's thread; closing the store answers whoever still waits.
TEST_F(StoreTest, AsynchronousCallsAreAnsweredWhateverHappens) {
  Submit();
  std::vector<LeasedJob> held;
  for (int i = 0; i < 6; ++i) held.push_back(Lease("w" + std::to_string(i)));
  std::promise<LeaseReply> waiting;
  store_->LeaseJobAsync({"late", "", "", ""}, 20,
                        [&](LeaseReply r) { waiting.set_value(std::move(r)); });
  ASSERT_TRUE(store_->ReleaseJob(held[2].job.job_id, held[2].lease_id).ok());
  auto got = waiting.get_future();
  ASSERT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  LeaseReply r = got.get();
  ASSERT_TRUE(r.status.ok());
  ASSERT_TRUE(r.has_job);
  EXPECT_EQ(r.leased.job.job_id, held[2].job.job_id);

  bool answered_inline = false;
  store_->ReportProgressAsync(held[0].job.job_id, held[0].lease_id, {{0.1, 0, 1, NAN, 0.1}},
                              [&](const Status& s) {
                                EXPECT_EQ(s.code(), Status::kInvalidArgument) << s.ToString();
                                answered_inline = true;
                              });
  EXPECT_TRUE(answered_inline);  // step 0 is refused before any write
  store_->LeaseJobAsync({"", "", "", ""}, 5, [&](LeaseReply r) {
    EXPECT_EQ(r.status.code(), Status::kInvalidArgument);
    answered_inline = false;
  });
  EXPECT_FALSE(answered_inline);

  std::promise<LeaseReply> at_close;
  store_->LeaseJobAsync({"last", "", "", ""}, 20,
                        [&](LeaseReply r) { at_close.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto start = std::chrono::steady_clock::now();
  store_.reset();
  auto closed = at_close.get_future();
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_FALSE(closed.get().has_job);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
}

// Every sweep's summary as it was computed before the counts were kept
// (version 3: a count per state over the jobs, the earliest lease over the
// jobs' rows), against LoadSweepSummary and the kept counts themselves.
void ExpectSummariesAsCountedFromTheJobs(const std::string& path, double now) {
  std::unique_ptr<Database> db;
  ASSERT_TRUE(Database::Open(path, true, &db).ok());
  Statement sweeps;
  ASSERT_TRUE(db->Prepare("SELECT id FROM sweeps ORDER BY id", &sweeps).ok());
  bool row = false;
  while (true) {
    ASSERT_TRUE(sweeps.Step(&row).ok());
    if (!row) break;
    const int64_t id = sweeps.Int(0);
    SCOPED_TRACE("sweep " + std::to_string(id));
    std::map<std::string, int64_t> counted;
    Statement st;
    ASSERT_TRUE(
        db->Prepare("SELECT state, COUNT(*) FROM jobs WHERE sweep_id = ?1 GROUP BY state", &st).ok());
    st.Bind(1, id);
    while (true) {
      ASSERT_TRUE(st.Step(&row).ok());
      if (!row) break;
      counted[st.Text(0)] = st.Int(1);
    }
    Statement kept;
    ASSERT_TRUE(db->Prepare("SELECT state, jobs FROM sweep_job_counts WHERE sweep_id = ?1", &kept).ok());
    kept.Bind(1, id);
    while (true) {
      ASSERT_TRUE(kept.Step(&row).ok());
      if (!row) break;
      EXPECT_EQ(kept.Int(1), counted.count(kept.Text(0)) ? counted[kept.Text(0)] : 0)
          << kept.Text(0);
    }
    Statement times;
    ASSERT_TRUE(db->Prepare("SELECT MIN(started_at), (SELECT COUNT(DISTINCT worker_id) FROM jobs "
                            "WHERE sweep_id = ?1 AND state = 'leased') FROM jobs WHERE sweep_id = ?1",
                            &times).ok());
    times.Bind(1, id);
    ASSERT_TRUE(times.Step(&row).ok());
    SweepSummary s;
    ASSERT_TRUE(LoadSweepSummary(db.get(), id, now, &s).ok());
    EXPECT_EQ(s.queued, counted["queued"]);
    EXPECT_EQ(s.leased, counted["leased"]);
    EXPECT_EQ(s.done, counted["done"]);
    EXPECT_EQ(s.failed, counted["failed"]);
    EXPECT_EQ(s.diverged, counted["diverged"]);
    EXPECT_EQ(s.cancelled, counted["cancelled"]);
    EXPECT_EQ(s.active_workers, times.Int(1));
    if (times.IsNull(0))
      EXPECT_EQ(s.elapsed_seconds, 0);
    else
      EXPECT_EQ(s.elapsed_seconds, std::max(0.0, now - times.Double(0)));
  }
}

TEST_F(StoreTest, StatusCountsFollowEveryChangeOfAJob) {
  max_attempts_ = 2;
  Open();
  const std::string path = dir_.File("test.db");
  auto check = [&](const char* step) {
    SCOPED_TRACE(step);
    ExpectSummariesAsCountedFromTheJobs(path, clock_.Now());
  };
  const int64_t first = Submit();
  const int64_t second = Submit();
  check("submitted");
  bool retry = false;
  int expired = 0;
  LeasedJob a = Lease("w1");
  ASSERT_TRUE(store_->ReportProgress(a.job.job_id, a.lease_id, {{0.1, 1, 0.1, 2.0, 0.1}}).ok());
  clock_.Advance(1);
  LeasedJob b = Lease("w2");
  check("leased");
  ASSERT_TRUE(store_->CompleteJob(b.job.job_id, b.lease_id, Result(0.5), {}).ok());
  LeasedJob c = Lease("w2");
  JobResult diverged = Result(1);
  diverged.diverged = true;
  ASSERT_TRUE(store_->CompleteJob(c.job.job_id, c.lease_id, diverged, {}).ok());
  // Repeated and refused completions change nothing.
  ASSERT_TRUE(store_->CompleteJob(b.job.job_id, b.lease_id, Result(0.5), {}).ok());
  EXPECT_FALSE(store_->CompleteJob(c.job.job_id, "feedface", Result(0.5), {}).ok());
  check("completed");
  LeasedJob d = Lease("w3");
  ASSERT_TRUE(store_->FailJob(d.job.job_id, d.lease_id, "boom", &retry).ok());
  ASSERT_TRUE(retry);
  check("failed once");
  LeasedJob d2 = Lease("w3");
  ASSERT_EQ(d2.job.job_id, d.job.job_id);
  ASSERT_TRUE(store_->FailJob(d2.job.job_id, d2.lease_id, "boom", &retry).ok());
  ASSERT_FALSE(retry);
  check("failed for good");
  LeasedJob e = Lease("w4");
  clock_.Advance(11);
  ASSERT_TRUE(store_->ExpireLeases(&expired).ok());
  ASSERT_EQ(expired, 2);  // a's and e's
  check("expired");
  // a's late report takes its job back; e is leased again and handed back.
  ASSERT_TRUE(store_->ReportProgress(a.job.job_id, a.lease_id, {}).ok());
  LeasedJob e2 = Lease("w4");
  check("taken back and leased again");
  ASSERT_TRUE(store_->ReleaseJob(e2.job.job_id, e2.lease_id).ok());
  check("released");
  bool has = false;
  LeasedJob next;
  ASSERT_TRUE(store_->CompleteAndLease(a.job.job_id, a.lease_id, Result(0.3), {},
                                       {"w1", "host", "cpu", "test"}, &has, &next).ok());
  ASSERT_TRUE(has);
  check("completed and leased");
  int64_t n = 0;
  ASSERT_TRUE(store_->RetrySweep(first, &n).ok());
  check("retried");
  ASSERT_TRUE(store_->CancelSweep(second, &n).ok());
  check("cancelled");
  Open();  // the counts are in the file, not in the store
  check("reopened");
  ASSERT_TRUE(store_->CompleteJob(next.job.job_id, next.lease_id, Result(0.4), {}).ok());
  while (true) {
    bool more = false;
    LeasedJob j;
    ASSERT_TRUE(store_->LeaseJob({"w5", "", "", ""}, 0, &more, &j).ok());
    if (!more) break;
    ASSERT_TRUE(store_->CompleteJob(j.job.job_id, j.lease_id, Result(0.2), {}).ok());
  }
  check("drained");
  SweepSummary s;
  ASSERT_TRUE(store_->GetSweep(first, &s).ok());
  EXPECT_EQ(s.state, "finished");
}

TEST_F(StoreTest, VersionOneFileIsMigrated) {
  store_.reset();
  std::string path = dir_.File("v1.db");
  {
    // A file as version 1 wrote it: its schema, one leased job.
    std::unique_ptr<Database> db;
    ASSERT_TRUE(Database::Open(dir_.File("scratch.db"), false, &db).ok());
  }
  std::unique_ptr<Database> raw;
  ASSERT_TRUE(Database::Open(path, false, &raw).ok());
  // Roll the fresh file back to version 1's shape and content.
  ASSERT_TRUE(raw->Exec("DROP TRIGGER jobs_counted_insert; DROP TRIGGER jobs_counted_update; "
                        "DROP TRIGGER jobs_counted_delete; DROP TABLE sweep_job_counts; "
                        "DROP INDEX jobs_started; "
                        "DROP INDEX jobs_ranking; DROP TABLE leases; "
                        "ALTER TABLE jobs DROP COLUMN finished_attempt; "
                        "PRAGMA user_version = 1;").ok());
  ASSERT_TRUE(raw->Exec("INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, "
                        "total_jobs, created_at) VALUES (1, 's', '{}', 'mlp', 'synthetic', 1, 2, 0);"
                        "INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES "
                        "(1, 1, 'sgd', '{}');"
                        "INSERT INTO jobs (sweep_id, config_id, seed, state, attempts, lease_id, "
                        "worker_id, started_at) VALUES (1, 1, 1, 'leased', 1, 'abc', 'w', 5);"
                        "INSERT INTO jobs (sweep_id, config_id, seed, state, attempts, lease_id) "
                        "VALUES (1, 1, 2, 'done', 1, 'def');").ok());
  raw.reset();
  ASSERT_TRUE(Database::Open(path, false, &raw).ok());
  int version = 0;
  ASSERT_TRUE(raw->SchemaVersion(&version).ok());
  EXPECT_EQ(version, Database::LatestSchemaVersion());
  Statement st;
  ASSERT_TRUE(raw->Prepare("SELECT COUNT(*), SUM(outcome IS NULL) FROM leases", &st).ok());
  bool row = false;
  ASSERT_TRUE(st.Step(&row).ok());
  EXPECT_EQ(st.Int(0), 2);
  EXPECT_EQ(st.Int(1), 1);  // the held lease stays open
  // The job counts of `status` start from the jobs already there.
  SweepSummary summary;
  ASSERT_TRUE(LoadSweepSummary(raw.get(), 1, 10, &summary).ok());
  EXPECT_EQ(summary.leased, 1);
  EXPECT_EQ(summary.done, 1);
  EXPECT_EQ(summary.queued, 0);
  EXPECT_EQ(summary.active_workers, 1);
  EXPECT_DOUBLE_EQ(summary.elapsed_seconds, 5);
}

}  // namespace
}  // namespace gridsearch
