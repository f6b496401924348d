// One worker process per device (`gridsearch worker --devices`), with real
// processes over loopback gRPC: a sweep drained by two CPU processes, a child
// killed mid-job and restarted, SIGTERM handing every job back, refused
// devices; `run --devices`; and `gridsearch train` giving exactly what the
// same job stores when it runs through a coordinator with the same step limit.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/coordinator_fixture.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::Process;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

const std::string kBin = GRIDSEARCH_BIN;

// The pids of the running children of `parent`, with their command lines.
std::vector<std::pair<pid_t, std::string>> Children(pid_t parent) {
  std::vector<std::pair<pid_t, std::string>> out;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    const std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 4 > stat.size()) continue;
    std::istringstream rest(stat.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent || state == "Z") continue;
    std::string cmdline = testing::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    out.emplace_back(pid, cmdline);
  }
  closedir(proc);
  return out;
}

pid_t ChildWithWorkerId(pid_t parent, const std::string& id) {
  // Arguments are separated (and ended) by spaces in Children()'s lines.
  for (const auto& [pid, cmdline] : Children(parent))
    if (cmdline.find("--worker-id " + id + " ") != std::string::npos) return pid;
  return -1;
}

class DevicesEndToEndTest : public testing::CoordinatorFixture {
 protected:
  void Submit(const std::string& addr, const json& spec) {
    int code = 0;
    const std::string out = CoordinatorFixture::Submit(addr, spec, &code);
    ASSERT_EQ(code, 0) << out;
  }

  std::unique_ptr<Process> Workers(const std::string& addr, const std::string& devices,
                                   std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {kBin,        "worker",      "--coordinator", addr,
                                     "--devices", devices,       "--threads",     "1",
                                     "--worker-id", "node"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(argv, Log());
  }

  int64_t Num(const std::string& sql) { return testing::QueryNumber(Db(), sql); }
};

json Spec(double budget, std::vector<int> seeds, json optimizers) {
  return testing::FashionSpec("devices", budget, seeds, optimizers);
}

TEST_F(DevicesEndToEndTest, TwoCpuProcessesDrainASweep) {
  const std::string addr = StartCoordinator(10);
  Submit(addr, Spec(1, {1, 2}, {{"sgd", {{"lr", {0.1, 0.01}}}}, {"adam", {{"lr", {0.001}}}}}));
  auto workers = Workers(addr, "cpu,cpu");
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'") == 6; },
                      180))
      << testing::ReadFile(Log());
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE attempts = 1"), 6);
  EXPECT_EQ(Query("SELECT group_concat(DISTINCT worker_id) FROM (SELECT worker_id FROM jobs "
                  "ORDER BY worker_id)"),
            "node-cpu0,node-cpu1");
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            6);
  // One job per device at a time: no worker ever held two leases at once.
  EXPECT_EQ(Num("SELECT COUNT(*) FROM leases a JOIN leases b ON a.worker_id = b.worker_id AND "
                "a.lease_id < b.lease_id AND a.leased_at < b.ended_at AND b.leased_at < a.ended_at"),
            0);
  const std::string log = testing::ReadFile(Log());
  EXPECT_NE(log.find("worker node-cpu0 cpu:"), std::string::npos) << log;
  EXPECT_NE(log.find("worker node-cpu1 cpu:"), std::string::npos) << log;
  EXPECT_EQ(Children(workers->pid()).size(), 2u);

  workers->Signal(SIGTERM);
  const int status = workers->Wait(20);
  ASSERT_TRUE(WIFEXITED(status)) << status << testing::ReadFile(Log());
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(DevicesEndToEndTest, AKilledChildIsStartedAgainAndItsJobFinishesOnce) {
  const std::string addr = StartCoordinator(2);
  Submit(addr, Spec(3, {1, 2}, {{"sgd", {{"lr", {0.05}}}}}));
  auto workers = Workers(addr, "cpu,cpu");
  // Both jobs mid-training.
  ASSERT_TRUE(WaitFor([&] {
                return Num("SELECT COUNT(DISTINCT job_id) FROM curve_points") == 2;
              }, 90))
      << testing::ReadFile(Log());
  const std::string victim_id = Query("SELECT worker_id FROM jobs WHERE id = 1");
  ASSERT_FALSE(victim_id.empty());
  const pid_t victim = ChildWithWorkerId(workers->pid(), victim_id);
  ASSERT_GT(victim, 0) << victim_id;
  kill(victim, SIGKILL);

  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'") == 2; },
                      120))
      << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT attempts FROM jobs WHERE id = 1"), "2");
  EXPECT_NE(Query("SELECT error FROM jobs WHERE id = 1").find("lease expired"), std::string::npos);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM leases WHERE outcome = 'completed'"), 2);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE j.steps = (SELECT COUNT(*) FROM curve_points c "
                "WHERE c.job_id = j.id AND c.attempt = j.finished_attempt)"),
            2);
  // The supervisor started the victim's device again, under the same name.
  const pid_t again = ChildWithWorkerId(workers->pid(), victim_id);
  EXPECT_GT(again, 0);
  EXPECT_NE(again, victim);
  const std::string log = testing::ReadFile(Log());
  EXPECT_NE(log.find("killed by signal 9"), std::string::npos) << log;
  EXPECT_NE(log.find("starting it again"), std::string::npos) << log;

  workers->Signal(SIGTERM);
  const int status = workers->Wait(20);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(DevicesEndToEndTest, SigtermHandsEveryJobBackAndExitsZero) {
  const std::string addr = StartCoordinator(60);
  Submit(addr, Spec(120, {1, 2}, {{"sgd", {{"lr", {0.05}}}}}));
  auto workers = Workers(addr, "cpu,cpu");
  ASSERT_TRUE(WaitFor([&] {
                return Num("SELECT COUNT(DISTINCT job_id) FROM curve_points") == 2;
              }, 90))
      << testing::ReadFile(Log());
  const auto children = Children(workers->pid());
  ASSERT_EQ(children.size(), 2u);
  const auto start = std::chrono::steady_clock::now();
  workers->Signal(SIGTERM);
  const int status = workers->Wait(20);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(WIFEXITED(status)) << status << testing::ReadFile(Log());
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(took, 10) << "handing back took too long";
  EXPECT_EQ(Query("SELECT group_concat(state || '/' || attempts) FROM jobs"), "queued/0,queued/0");
  EXPECT_EQ(Num("SELECT COUNT(*) FROM leases WHERE outcome = 'released'"), 2);
  // The supervisor waited for its children: none is left running.
  for (const auto& [pid, cmdline] : children) EXPECT_NE(kill(pid, 0), 0) << cmdline;
}

TEST_F(DevicesEndToEndTest, UnknownDevicesAreRefusedBeforeAnythingStarts) {
  const std::string addr = StartCoordinator(10);
  for (const std::string devices : {"cpu,cuda:3", "tpu", "cpu,,cpu"}) {
    std::string out, err;
    EXPECT_EQ(RunCommand({kBin, "worker", "--coordinator", addr, "--devices", devices}, &out, &err),
              2)
        << devices;
    const std::string named = devices == "cpu,,cpu" ? "empty entry" : devices.substr(devices.find_last_of(',') + 1);
    EXPECT_NE(err.find(named), std::string::npos) << err;
    EXPECT_EQ(err.find("started"), std::string::npos) << err;
  }
  EXPECT_EQ(Num("SELECT COUNT(*) FROM workers"), 0);

  // `run` checks its devices before it creates a database.
  const std::string spec = dir_.File("spec.json");
  testing::WriteFile(spec, Spec(1, {1}, {{"sgd", {{"lr", {0.1}}}}}).dump());
  const std::string db = dir_.File("never.db");
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "run", spec, "--devices", "cuda:5", "--db", db}, &out, &err), 2);
  EXPECT_NE(err.find("cuda:5"), std::string::npos) << err;
  EXPECT_TRUE(testing::ReadFile(db).empty());
}

TEST_F(DevicesEndToEndTest, AllMeansTheCpuHereAndIdleProcessesEndByThemselves) {
  const std::string addr = StartCoordinator(10);
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "worker", "--coordinator", addr, "--devices", "all",
                        "--exit-when-idle", "1"},
                       &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("1 process(es)"), std::string::npos) << err;
  EXPECT_NE(err.find(": cpu;"), std::string::npos) << err;
  EXPECT_NE(err.find("finished"), std::string::npos) << err;
}

TEST_F(DevicesEndToEndTest, RunWithDevicesUsesOneWorkerPerDevice) {
  const std::string spec = dir_.File("spec.json");
  testing::WriteFile(spec, Spec(0.5, {1, 2}, {{"sgd", {{"lr", {0.1, 0.01}}}}}).dump());
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "run", spec, "--devices", "cpu,cpu", "--db", Db(), "--quiet",
                        "--no-plots"},
                       &out, &err),
            0)
      << out << err;
  EXPECT_NE(out.find("rank"), std::string::npos) << out;
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 4);
  EXPECT_EQ(Query("SELECT group_concat(id) FROM (SELECT DISTINCT worker_id AS id FROM jobs "
                  "ORDER BY id)"),
            "local-cpu0,local-cpu1");
  EXPECT_NE(err.find("2 worker(s) x 1 thread(s) on cpu,cpu"), std::string::npos) << err;
}

TEST_F(DevicesEndToEndTest, TrainGivesWhatTheCoordinatorStoresForTheSameJob) {
  const json spec = Spec(60, {5}, {{"sgd", {{"lr", {0.05}}, {"momentum", {0.9}}}}});
  const std::string addr = StartCoordinator(30);
  Submit(addr, spec);
  auto worker = std::make_unique<Process>(
      std::vector<std::string>{kBin, "worker", "--coordinator", addr, "--threads", "1",
                               "--max-steps", "25", "--max-jobs", "1"},
      Log());
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs") == "done"; }, 120))
      << testing::ReadFile(Log());
  ASSERT_EQ(Num("SELECT steps FROM jobs"), 25);

  // The sweep spec is a valid job file: one configuration, one seed.
  const std::string job_file = dir_.File("spec.json");
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "train", job_file, "--max-steps", "25", "--threads", "1", "--format",
                        "jsonl"},
                       &out, &err),
            0)
      << err;
  std::vector<json> points;
  json result;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    json j = json::parse(line);
    if (j.contains("result")) result = j["result"];
    else points.push_back(j);
  }
  ASSERT_EQ(points.size(), 25u);
  // The doubles as stored, read through the C API: bit for bit.
  const std::vector<double> stored =
      testing::QueryDoubles(Db(), "SELECT loss FROM curve_points ORDER BY step");
  ASSERT_EQ(stored.size(), points.size());
  for (size_t i = 0; i < points.size(); ++i)
    EXPECT_EQ(stored[i], points[i]["loss"].get<double>()) << "step " << i + 1;
  const std::vector<double> lr =
      testing::QueryDoubles(Db(), "SELECT learning_rate FROM curve_points ORDER BY step");
  ASSERT_EQ(lr.size(), points.size());
  EXPECT_EQ(lr.back(), points.back()["learning_rate"].get<double>());
  EXPECT_EQ(testing::QueryDoubles(Db(), "SELECT final_train_loss FROM jobs").at(0),
            result["final_train_loss"].get<double>());
  EXPECT_EQ(testing::QueryDoubles(Db(), "SELECT test_accuracy FROM jobs").at(0),
            result["test_accuracy"].get<double>());
  EXPECT_EQ(result["steps"], 25);
}

}  // namespace
}  // namespace gridsearch
