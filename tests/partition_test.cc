// A partitioned worker, with real processes: the worker runs in a network
// namespace joined to the coordinator by a veth pair that the test makes
// (as root) and removes whatever happens. Its link is cut mid-job for longer
// than the lease timeout: the job is leased again and finished by another
// worker; when the link comes back, the partitioned worker's late reports
// and completion are refused as stale, it gives the job up and goes on
// leasing; every job is done once, and no curve mixes two attempts.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

const char* kIp = "/usr/sbin/ip";

int Ip(const std::vector<std::string>& args, std::string* err = nullptr) {
  std::vector<std::string> argv{kIp};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out, e;
  const int code = RunCommand(argv, &out, &e);
  if (err != nullptr) *err = out + e;
  return code;
}

// A namespace and a veth pair: `host` (in this namespace, address .1) and
// its peer inside the namespace (address .2), a /30 of 10.213.0.0/16 picked
// from the pid. Removed at destruction.
class NetworkNamespace {
 public:
  NetworkNamespace() {
    const int id = getpid() % 60000;
    name_ = "gs-part-" + std::to_string(id);
    host_ = "gsh" + std::to_string(id);
    peer_ = "gsn" + std::to_string(id);
    const int block = (id % 16000) * 4;
    const std::string prefix = "10.213." + std::to_string(block / 256 % 256) + ".";
    host_addr_ = prefix + std::to_string(block % 256 + 1);
    peer_addr_ = prefix + std::to_string(block % 256 + 2);
    Remove();  // what a killed run may have left
    const std::vector<std::vector<std::string>> steps = {
        {"netns", "add", name_},
        {"link", "add", host_, "type", "veth", "peer", "name", peer_},
        {"link", "set", peer_, "netns", name_},
        {"addr", "add", host_addr_ + "/30", "dev", host_},
        {"link", "set", host_, "up"},
        {"-n", name_, "addr", "add", peer_addr_ + "/30", "dev", peer_},
        {"-n", name_, "link", "set", peer_, "up"},
        {"-n", name_, "link", "set", "lo", "up"},
    };
    for (const auto& step : steps) {
      std::string err;
      if (Ip(step, &err) != 0) {
        error_ = "ip";
        for (const auto& a : step) error_ += " " + a;
        error_ += ": " + err;
        return;
      }
    }
    ok_ = true;
  }
  ~NetworkNamespace() { Remove(); }

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  const std::string& host_address() const { return host_addr_; }
  // Cuts or restores the link (from this side: the namespace's traffic to
  // the coordinator goes nowhere, without a reset).
  bool SetLink(bool up) { return Ip({"link", "set", host_, up ? "up" : "down"}) == 0; }

 private:
  void Remove() {
    Ip({"link", "del", host_});
    Ip({"netns", "del", name_});
  }

  std::string name_, host_, peer_, host_addr_, peer_addr_, error_;
  bool ok_ = false;
};

class PartitionTest : public ::testing::Test {
 protected:
  std::string Bin() const { return GRIDSEARCH_BIN; }
  std::string Db() const { return dir_.File("p.db"); }
  std::string Log() const { return dir_.File("log.txt"); }
  std::string Query(const std::string& sql) { return QueryOne(Db(), sql); }
  int64_t Num(const std::string& sql) { return QueryNumber(Db(), sql); }

  int Submit(const std::string& addr, const std::string& name, std::string* out) {
    const json spec = {{"name", name},          {"model", "logreg"},   {"dataset", "synthetic"},
                       {"batch_size", 32},      {"budget_seconds", 4}, {"seeds", {1}},
                       {"optimizers", {{"sgd", {{"lr", {0.1}}}}}}};
    WriteFile(dir_.File("spec.json"), spec.dump());
    std::string o, e;
    const int code = RunCommand({Bin(), "submit", dir_.File("spec.json"), "--coordinator", addr,
                                 "--token-file", dir_.File("token")},
                                &o, &e);
    *out = o + e;
    return code;
  }

  std::vector<std::string> WorkerArgs(const std::string& addr, const std::string& id) {
    return {Bin(), "worker", "--coordinator", addr, "--threads", "1", "--worker-id", id,
            "--token-file", dir_.File("token")};
  }

  TempDir dir_;
};

TEST_F(PartitionTest, APartitionedWorkersJobRunsElsewhereAndItsLateReportsAreRefused) {
  ASSERT_EQ(geteuid(), 0u) << "the partition test makes a network namespace: it needs root";
  NetworkNamespace ns;
  ASSERT_TRUE(ns.ok()) << ns.error();
  WriteFile(dir_.File("token"), "partition-test-token\n");
  // The coordinator listens on the veth's address (not loopback: hence the
  // token), reachable from the namespace and from here.
  const int port = FreePort();
  const std::string addr = ns.host_address() + ":" + std::to_string(port);
  auto coordinator = std::make_unique<Process>(
      std::vector<std::string>{Bin(), "coordinator", "--db", Db(), "--listen", addr,
                               "--port-file", dir_.File("port"), "--lease-timeout", "3",
                               "--token-file", dir_.File("token")},
      Log());
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(dir_.File("port")).empty(); }, 30)) << ReadFile(Log());
  std::string out;
  ASSERT_EQ(Submit(addr, "partitioned", &out), 0) << out;

  std::vector<std::string> inside{kIp, "netns", "exec", ns.name()};
  for (const auto& a : WorkerArgs(addr, "island")) inside.push_back(a);
  auto island = std::make_unique<Process>(inside, Log());
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM curve_points") > 0; }, 60))
      << ReadFile(Log());
  ASSERT_EQ(Query("SELECT worker_id FROM jobs"), "island");

  // Cut. The island trains on and keeps its points; its lease expires.
  ASSERT_TRUE(ns.SetLink(false));
  const auto cut = std::chrono::steady_clock::now();
  auto mainland = std::make_unique<Process>(WorkerArgs(addr, "mainland"), Log());
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs WHERE id = 1") == "done"; }, 90))
      << ReadFile(Log());
  EXPECT_EQ(Query("SELECT worker_id || '/' || finished_attempt FROM jobs WHERE id = 1"),
            "mainland/2");
  EXPECT_EQ(Query("SELECT outcome FROM leases WHERE job_id = 1 AND attempt = 1"), "expired");
  const int64_t island_points = Num("SELECT COUNT(*) FROM curve_points WHERE attempt = 1");
  // The island's job has long ended by its own budget: it holds points and a
  // result that the coordinator never saw.
  EXPECT_GT(std::chrono::steady_clock::now() - cut, std::chrono::seconds(4));

  // Heal, and take the mainland away: the next job can only go to the island.
  ASSERT_TRUE(ns.SetLink(true));
  mainland->Signal(SIGTERM);
  EXPECT_EQ(mainland->Wait(30), 0);
  ASSERT_EQ(Submit(addr, "after the partition", &out), 0) << out;
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs WHERE id = 2") == "done"; }, 120))
      << ReadFile(Log());
  EXPECT_EQ(Query("SELECT worker_id FROM jobs WHERE id = 2"), "island");
  EXPECT_TRUE(island->Running());

  // The late attempt changed nothing: job 1 is the mainland's, once; its
  // curve is attempt 2's alone, whole; attempt 1 got no point after the cut.
  EXPECT_EQ(Query("SELECT worker_id || '/' || finished_attempt || '/' || state FROM jobs WHERE id = 1"),
            "mainland/2/done");
  EXPECT_EQ(Num("SELECT COUNT(*) FROM leases WHERE job_id = 1 AND outcome = 'completed'"), 1);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM curve_points WHERE job_id = 1 AND attempt = 1"), island_points);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE j.steps = (SELECT COUNT(*) FROM curve_points c "
                "WHERE c.job_id = j.id AND c.attempt = j.finished_attempt)"),
            2);
  EXPECT_NE(ReadFile(Log()).find("stale lease"), std::string::npos) << ReadFile(Log());
  EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");
  island.reset();
  coordinator.reset();
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
