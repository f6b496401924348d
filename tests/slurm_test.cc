// `gridsearch slurm up|down` against a real one-node Slurm (slurmctld,
// slurmd, munged) that each test starts in a temporary folder and stops at
// the end (tests/slurm_cluster.h): a sweep drained by a 2-task worker array
// with one fake GPU each, a worker task cancelled mid-job, a coordinator
// cancelled and the sweep resumed, and the --dry-run scripts checked against
// the documented options.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/coordinator_fixture.h"
#include "tests/slurm_cluster.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

const std::string kBin = GRIDSEARCH_BIN;

json Spec(double budget, std::vector<int> seeds, json optimizers) {
  return testing::FashionSpec("slurm-e2e", budget, seeds, optimizers);
}

class SlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(cluster_.Start(&error)) << error;
  }

  std::string State() const { return dir_.File("state"); }
  std::string Db() const { return State() + "/study.db"; }

  // `gridsearch slurm up` with 2 one-GPU worker tasks and short idle limits.
  int Up(const json& spec, std::string* out, std::string* err) {
    const std::string path = dir_.File("spec.json");
    testing::WriteFile(path, spec.dump());
    return RunCommand({kBin, "slurm", "up", path, "--workers", "2", "--gpus-per-worker", "1",
                       "--state-dir", State(), "--exit-when-idle", "5", "--exit-when-finished",
                       "10", "--lease-timeout", "5"},
                      out, err);
  }

  json SlurmState() { return json::parse(testing::ReadFile(State() + "/slurm.json")); }
  std::string CoordinatorJob() { return SlurmState()["coordinator_job"]; }
  std::string WorkerJob() { return SlurmState()["worker_job"]; }

  int64_t Num(const std::string& sql) { return testing::QueryNumber(Db(), sql); }
  std::string Query(const std::string& sql) { return testing::QueryOne(Db(), sql); }

  // The coordinator's and the workers' Slurm output.
  std::string JobLogs() {
    std::string all;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(State() + "/logs", ec))
      all += "--- " + e.path().filename().string() + "\n" + testing::ReadFile(e.path());
    return all;
  }

  std::string Context() { return JobLogs() + cluster_.Logs(); }

  // Waits until neither the coordinator nor any worker task is pending or running.
  bool AllEnded(double seconds) {
    return WaitFor([&] { return !cluster_.Live(CoordinatorJob()) && !cluster_.Live(WorkerJob()); },
                   seconds);
  }

  TempDir dir_;
  testing::SlurmCluster cluster_;
};

TEST_F(SlurmTest, ASweepRunsToTheEndThroughSlurm) {
  std::string out, err;
  ASSERT_EQ(Up(Spec(1, {1, 2}, {{"sgd", {{"lr", {0.1, 0.01}}}}}), &out, &err), 0) << out << err;
  EXPECT_NE(out.find("submitted sweep 1"), std::string::npos) << out;
  EXPECT_NE(out.find("gridsearch slurm down --state-dir " + State()), std::string::npos) << out;
  // The token is fresh and only its owner can read it.
  EXPECT_EQ(fs::status(State() + "/token").permissions() & fs::perms::all, fs::perms::owner_read |
                                                                              fs::perms::owner_write);
  // Both jobs end by themselves once the sweep is drained.
  ASSERT_TRUE(AllEnded(240)) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 4) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE attempts = 1"), 4);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            4);
  for (const auto& s : cluster_.States(WorkerJob())) EXPECT_EQ(s, "COMPLETED") << Context();
  for (const auto& s : cluster_.States(CoordinatorJob())) EXPECT_EQ(s, "COMPLETED") << Context();
  // Each task was given its own (fake) GPU and said so.
  std::set<std::string> visible;
  const std::string logs = JobLogs();
  std::regex given("CUDA_VISIBLE_DEVICES=([0-9]+), coordinator");
  for (auto it = std::sregex_iterator(logs.begin(), logs.end(), given); it != std::sregex_iterator();
       ++it)
    visible.insert((*it)[1]);
  EXPECT_EQ(visible, (std::set<std::string>{"0", "1"})) << logs;
  EXPECT_NE(logs.find("worker task 0"), std::string::npos) << logs;
  EXPECT_NE(logs.find("worker task 1"), std::string::npos) << logs;
}

TEST_F(SlurmTest, ACancelledWorkerTaskHandsItsJobBack) {
  std::string out, err;
  ASSERT_EQ(Up(Spec(6, {1, 2, 3}, {{"sgd", {{"lr", {0.05}}}}}), &out, &err), 0) << out << err;
  // Both tasks mid-job.
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(DISTINCT job_id) FROM curve_points") == 2; },
                      180))
      << Context();
  const std::vector<std::string> running = cluster_.RunningTasks(WorkerJob());
  ASSERT_EQ(running.size(), 2u) << Context();
  ASSERT_EQ(RunCommand({"/usr/bin/scancel", running[0]}, &out, &err), 0) << err;

  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM leases WHERE outcome = 'released'") == 1; },
                      60))
      << Context();
  const std::string left = Query("SELECT worker_id FROM leases WHERE outcome = 'released'");
  const std::string job = Query("SELECT job_id FROM leases WHERE outcome = 'released'");
  ASSERT_TRUE(AllEnded(240)) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 3) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            3);
  // The handed-back job was finished by the other task, its attempt not counted.
  EXPECT_NE(Query("SELECT worker_id FROM jobs WHERE id = " + job), left);
  EXPECT_EQ(Query("SELECT finished_attempt FROM jobs WHERE id = " + job), "1");
  EXPECT_EQ(cluster_.States(running[0]), std::vector<std::string>{"CANCELLED"});
}

TEST_F(SlurmTest, TheTimeLimitWarningHandsTheJobBackAndRequeuesTheTask) {
  std::string out, err;
  ASSERT_EQ(Up(Spec(6, {1, 2, 3}, {{"sgd", {{"lr", {0.05}}}}}), &out, &err), 0) << out << err;
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(DISTINCT job_id) FROM curve_points") == 2; },
                      180))
      << Context();
  const std::vector<std::string> running = cluster_.RunningTasks(WorkerJob());
  ASSERT_EQ(running.size(), 2u) << Context();
  // What --signal=B:USR1@N sends to the batch shell before the time limit.
  ASSERT_EQ(RunCommand({"/usr/bin/scancel", "-s", "USR1", "--batch", running[0]}, &out, &err), 0)
      << err;
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM leases WHERE outcome = 'released'") == 1; },
                      60))
      << Context();
  // The task was requeued and ran again.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string show;
        RunCommand({"/usr/bin/scontrol", "show", "job", running[0]}, &show);
        return show.find("Restarts=1") != std::string::npos;
      },
      60))
      << Context();
  // Slurm holds a requeued job back for a while; a test need not wait.
  RunCommand({"/usr/bin/scontrol", "update", "JobId=" + running[0], "StartTime=now"}, &out, &err);
  ASSERT_TRUE(AllEnded(300)) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 3) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            3);
  EXPECT_NE(JobLogs().find("requeueing task"), std::string::npos) << JobLogs();
  // Only that task was requeued: the other ran on.
  std::string other;
  RunCommand({"/usr/bin/scontrol", "show", "job", running[1]}, &other);
  EXPECT_NE(other.find("Restarts=0"), std::string::npos) << other;
}

TEST_F(SlurmTest, ACancelledCoordinatorIsResumedAndNothingFinishedReruns) {
  std::string out, err;
  const json spec = Spec(3, {1, 2, 3, 4, 5}, {{"sgd", {{"lr", {0.05}}}}});
  ASSERT_EQ(Up(spec, &out, &err), 0) << out << err;
  const std::string first_coordinator = CoordinatorJob();
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'") >= 1; },
                      180))
      << Context();
  ASSERT_EQ(RunCommand({"/usr/bin/scancel", first_coordinator}, &out, &err), 0) << err;
  ASSERT_TRUE(WaitFor([&] { return !cluster_.Live(first_coordinator); }, 60)) << Context();
  const std::string done_ids = Query("SELECT group_concat(id) FROM jobs WHERE state = 'done'");
  auto finished_of = [&](const std::string& ids) {
    return Query("SELECT group_concat(id || ':' || finished_attempt || ':' || finished_at) FROM "
                 "(SELECT * FROM jobs WHERE id IN (" + ids + ") ORDER BY id)");
  };
  const std::string finished_before = finished_of(done_ids);
  const int64_t done_before = Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'");
  ASSERT_LT(done_before, 5) << "the sweep finished before the coordinator was cancelled";

  // Again on the same state folder: a new coordinator, new workers.
  ASSERT_EQ(Up(spec, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("resumed sweep 1"), std::string::npos) << out;
  EXPECT_NE(CoordinatorJob(), first_coordinator);
  ASSERT_TRUE(AllEnded(300)) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 5) << Context();
  // What was finished stayed as it was; every job was completed once.
  EXPECT_EQ(finished_of(done_ids), finished_before);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            5);
  EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");

  // Up once more: the sweep is finished, nothing is submitted.
  ASSERT_EQ(Up(spec, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("nothing to run"), std::string::npos) << out;
}

TEST_F(SlurmTest, DownCancelsWorkersFirstThenTheCoordinator) {
  std::string out, err;
  ASSERT_EQ(Up(Spec(60, {1, 2}, {{"sgd", {{"lr", {0.05}}}}}), &out, &err), 0) << out << err;
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(DISTINCT job_id) FROM curve_points") == 2; },
                      180))
      << Context();
  ASSERT_EQ(RunCommand({kBin, "slurm", "down", "--state-dir", State()}, &out, &err), 0)
      << out << err;
  EXPECT_FALSE(cluster_.Live(CoordinatorJob()));
  EXPECT_FALSE(cluster_.Live(WorkerJob()));
  // The coordinator was still there to take both jobs back.
  EXPECT_EQ(Num("SELECT COUNT(*) FROM leases WHERE outcome = 'released'"), 2) << Context();
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND attempts = 0"), 2);
  EXPECT_FALSE(fs::exists(State() + "/address"));
}

// No cluster needed: the scripts `slurm up --dry-run` prints.
TEST(SlurmDryRunTest, PrintsTheScriptsWithTheDocumentedOptions) {
  TempDir dir;
  const std::string spec = dir.File("spec.json");
  testing::WriteFile(spec, Spec(30, {1}, {{"sgd", {{"lr", {0.1}}}}}).dump());
  const std::string state = dir.File("state");
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "slurm", "up", spec, "--workers", "3", "--gpus-per-worker", "2",
                        "--partition", "gpu", "--account", "proj", "--time", "2:00:00",
                        "--coordinator-time", "1-00:00:00", "--sbatch-arg=--qos=high",
                        "--state-dir", state, "--dry-run"},
                       &out, &err),
            0)
      << err;
  for (const std::string& line : std::vector<std::string>{
           "#SBATCH --array=0-2", "#SBATCH --gres=gpu:2", "#SBATCH --cpus-per-task=2",
        "#SBATCH --partition=gpu", "#SBATCH --account=proj", "#SBATCH --time=2:00:00",
        "#SBATCH --time=1-00:00:00", "#SBATCH --qos=high", "#SBATCH --signal=B:USR1@120",
        "#SBATCH --requeue", "#SBATCH --cpus-per-task=1", "#SBATCH --open-mode=append", "--dependency=after:",
        "--devices all", "--exit-when-idle 60", "--exit-when-finished 300",
        "--token-file \"$state/token\"", "state=" + state, "scontrol requeue"})
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  EXPECT_EQ(out.find("{{"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(state)) << "a dry run writes nothing";
  // Every #SBATCH option the scripts use is documented in README's Slurm section.
  const std::string readme = testing::ReadFile(std::string(GRIDSEARCH_SOURCE_DIR) + "/README.md");
  const size_t section = readme.find("## Slurm");
  ASSERT_NE(section, std::string::npos);
  const std::string slurm_doc = readme.substr(section, readme.find("\n## ", section + 1) - section);
  std::regex option("#SBATCH (--[a-z-]+)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), option); it != std::sregex_iterator();
       ++it)
    EXPECT_NE(slurm_doc.find((*it)[1].str()), std::string::npos)
        << (*it)[1] << " is not documented in README's Slurm section";
}

TEST(SlurmDryRunTest, BadInputIsRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  const std::string spec = dir.File("spec.json");
  testing::WriteFile(spec, Spec(30, {1}, {{"sgd", {{"lr", {0.1}}}}}).dump());
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "slurm", "up", spec, "--state-dir", dir.File("a b"), "--dry-run"},
                       &out, &err),
            2);
  EXPECT_NE(err.find("--state-dir"), std::string::npos) << err;

  const std::string bad_spec = dir.File("bad.json");
  testing::WriteFile(bad_spec, Spec(30, {1}, {{"sgd", {{"momentun", {0.9}}}}}).dump());
  EXPECT_EQ(RunCommand({kBin, "slurm", "up", bad_spec, "--state-dir", dir.File("s")}, &out, &err),
            2);
  EXPECT_NE(err.find("momentun"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir.File("s")));

  // An edited template with a field slurm up does not fill.
  const std::string templates = dir.File("templates");
  fs::create_directories(templates);
  fs::copy_file(std::string(GRIDSEARCH_SOURCE_DIR) + "/deploy/slurm/worker.sbatch",
                templates + "/worker.sbatch");
  testing::WriteFile(templates + "/coordinator.sbatch", "#!/bin/bash\n#SBATCH --x={{nope}}\n");
  EXPECT_EQ(RunCommand({kBin, "slurm", "up", spec, "--templates", templates, "--state-dir",
                        dir.File("s"), "--dry-run"},
                       &out, &err),
            2);
  EXPECT_NE(err.find("{{nope}}"), std::string::npos) << err;

  EXPECT_EQ(RunCommand({kBin, "slurm", "down", "--state-dir", dir.File("nowhere")}, &out, &err), 2);
  EXPECT_NE(err.find("slurm.json"), std::string::npos) << err;
}

}  // namespace
}  // namespace gridsearch
