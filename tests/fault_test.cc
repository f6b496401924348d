// Faults injected into real processes over loopback gRPC: the coordinator
// killed and restarted mid-sweep, a worker that hangs, graceful shutdowns,
// cancel and retry; then the security rules: loopback by default, tokens,
// TLS, and an open health service.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "coordinator/database.h"
#include "tests/health.grpc.pb.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::FreePort;
using testing::Process;
using testing::RunCommand;
using testing::WaitFor;

const std::string kBin = GRIDSEARCH_BIN;

class FaultTest : public ::testing::Test {
 protected:
  std::string Db() const { return dir_.File("f.db"); }
  std::string Log() const { return dir_.File("log.txt"); }

  // Starts (or restarts) a coordinator on `port` over the test's database.
  std::unique_ptr<Process> Coordinator(int port, std::vector<std::string> extra = {}) {
    std::string port_file = dir_.File("port");
    std::remove(port_file.c_str());
    std::vector<std::string> argv = {kBin, "coordinator", "--db", Db(), "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--port-file", port_file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<Process>(argv, Log());
    EXPECT_TRUE(WaitFor([&] { return !testing::ReadFile(port_file).empty(); }, 30))
        << testing::ReadFile(Log());
    return p;
  }

  std::unique_ptr<Process> Worker(int port, const std::string& id) {
    return std::make_unique<Process>(
        std::vector<std::string>{kBin, "worker", "--coordinator", "127.0.0.1:" + std::to_string(port),
                                 "--threads", "1", "--worker-id", id},
        Log());
  }

  int Submit(int port, const json& spec, std::string* out = nullptr) {
    std::string path = dir_.File("spec.json");
    testing::WriteFile(path, spec.dump());
    std::string o, e;
    int code = RunCommand({kBin, "submit", path, "--coordinator", "127.0.0.1:" + std::to_string(port)},
                          &o, &e);
    if (out) *out = o + e;
    return code;
  }

  std::string Query(const std::string& sql) { return testing::QueryOne(Db(), sql); }

  int64_t Num(const std::string& sql) {
    std::string v = Query(sql);
    return v.empty() ? -1 : std::stoll(v);
  }

  testing::TempDir dir_;
};

json SyntheticSpec(double budget, std::vector<int> seeds, std::vector<double> lrs) {
  return {{"name", "faults"},          {"model", "logreg"}, {"dataset", "synthetic"},
          {"batch_size", 32},          {"budget_seconds", budget},
          {"seeds", seeds},            {"optimizers", {{"sgd", {{"lr", lrs}}}}}};
}

TEST_F(FaultTest, CoordinatorKilledRepeatedlyLosesNothing) {
  const int port = FreePort();
  auto coordinator = Coordinator(port, {"--lease-timeout", "3"});
  ASSERT_EQ(Submit(port, SyntheticSpec(1, {1, 2, 3}, {0.1, 0.05, 0.01, 0.005})), 0);
  auto w1 = Worker(port, "w1");
  auto w2 = Worker(port, "w2");
  std::mt19937 rng(7);
  for (int kill = 0; kill < 3; ++kill) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(800, 2500)(rng)));
    coordinator->Signal(SIGKILL);
    coordinator->Wait(10);
    // The workers keep training while nobody answers.
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    coordinator = Coordinator(port, {"--lease-timeout", "3"});
  }
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state IN "
                                       "('done','failed','diverged')") == 12; },
                      180))
      << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "1");  // the acknowledged submission, once
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), 12)
      << Query("SELECT group_concat(error, ' | ') FROM jobs");
  EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");
  // Each job has exactly one completed lease, and its curve is that attempt's.
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE (SELECT COUNT(*) FROM leases l WHERE "
                "l.job_id = j.id AND l.outcome = 'completed') = 1"),
            12);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE j.steps = (SELECT COUNT(*) FROM curve_points c "
                "WHERE c.job_id = j.id AND c.attempt = j.finished_attempt)"),
            12);
}

TEST_F(FaultTest, HungWorkersJobRunsElsewhereAndItsLateResultIsRefused) {
  const int port = FreePort();
  auto coordinator = Coordinator(port, {"--lease-timeout", "2"});
  ASSERT_EQ(Submit(port, SyntheticSpec(3, {1}, {0.1})), 0);
  auto hung = Worker(port, "hung");
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM curve_points") > 0; }, 60));
  hung->Signal(SIGSTOP);  // alive but silent
  auto rescuer = Worker(port, "rescuer");
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs") == "done"; }, 60))
      << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT worker_id FROM jobs"), "rescuer");
  EXPECT_EQ(Query("SELECT finished_attempt FROM jobs"), "2");
  const int64_t frozen_points = Num("SELECT COUNT(*) FROM curve_points WHERE attempt = 1");
  hung->Signal(SIGCONT);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  // The late attempt changed nothing, and the worker lives on.
  EXPECT_EQ(Query("SELECT worker_id || '/' || finished_attempt FROM jobs"), "rescuer/2");
  EXPECT_EQ(Query("SELECT outcome FROM leases WHERE attempt = 1"), "expired");
  EXPECT_TRUE(hung->Running());
  // Its late reports were refused (attempt 1 got no point after the
  // freeze), and the finished curve is attempt 2's alone, whole.
  EXPECT_EQ(Num("SELECT COUNT(*) FROM curve_points WHERE attempt = 1"), frozen_points);
  EXPECT_EQ(Num("SELECT COUNT(*) FROM jobs j WHERE j.steps = (SELECT COUNT(*) FROM curve_points c "
                "WHERE c.job_id = j.id AND c.attempt = j.finished_attempt)"),
            1);
  // It gave the job up and goes on leasing: with the rescuer gone, the
  // next job is the formerly frozen worker's.
  rescuer->Signal(SIGTERM);
  EXPECT_EQ(rescuer->Wait(30), 0);
  ASSERT_EQ(Submit(port, SyntheticSpec(1, {2}, {0.1})), 0);
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs WHERE id = 2") == "done"; }, 60))
      << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT worker_id || '/' || attempts FROM jobs WHERE id = 2"), "hung/1");
}

TEST_F(FaultTest, WorkerSigtermHandsItsJobBack) {
  const int port = FreePort();
  auto coordinator = Coordinator(port, {"--lease-timeout", "60"});
  ASSERT_EQ(Submit(port, SyntheticSpec(4, {1}, {0.1})), 0);
  auto leaving = Worker(port, "leaving");
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM curve_points") > 0; }, 60));
  leaving->Signal(SIGTERM);
  int status = leaving->Wait(15);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Query("SELECT state || '/' || attempts FROM jobs"), "queued/0");
  EXPECT_EQ(Query("SELECT outcome FROM leases"), "released");
  auto next = Worker(port, "next");
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs") == "done"; }, 60));
  EXPECT_EQ(Query("SELECT finished_attempt FROM jobs"), "1");  // the handed-back try did not count
}

TEST_F(FaultTest, CoordinatorSigtermShutsDownCleanly) {
  const int port = FreePort();
  auto coordinator = Coordinator(port);
  auto idle = Worker(port, "idle");  // long-polling with nothing to do
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(Submit(port, SyntheticSpec(0.5, {1}, {0.1})), 0);
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs") == "done"; }, 60));
  auto start = std::chrono::steady_clock::now();
  coordinator->Signal(SIGTERM);
  int status = coordinator->Wait(20);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 15);
  EXPECT_EQ(Query("PRAGMA integrity_check"), "ok");
}

TEST_F(FaultTest, CancelStopsTheRunningJobAtItsNextReport) {
  const int port = FreePort();
  auto coordinator = Coordinator(port);
  ASSERT_EQ(Submit(port, SyntheticSpec(60, {1, 2}, {0.1})), 0);
  auto w = Worker(port, "w");
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM curve_points") > 0; }, 60));
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "cancel", "--sweep", "1", "--coordinator",
                        "127.0.0.1:" + std::to_string(port)}, &out, &err), 0) << err;
  EXPECT_NE(out.find("2 jobs stopped or dequeued"), std::string::npos) << out;
  // The worker learns at its next report (within about a second) and drops it.
  ASSERT_TRUE(WaitFor([&] { return testing::ReadFile(Log()).find("abandoned") != std::string::npos; },
                      20)) << testing::ReadFile(Log());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'cancelled'"), "2");
  ASSERT_EQ(RunCommand({kBin, "status", "--db", Db(), "--sweep", "1", "--format", "json"}, &out, &err), 0);
  EXPECT_EQ(json::parse(out)["state"], "cancelled");
}

TEST_F(FaultTest, RetryRequeuesFailedJobs) {
  const int port = FreePort();
  auto coordinator = Coordinator(port, {"--max-attempts", "1"});
  json spec = SyntheticSpec(0.5, {1, 2}, {0.1});
  spec["dataset"] = {{"name", "mnist"}, {"path", dir_.File("no-such-folder")}};
  ASSERT_EQ(Submit(port, spec), 0);
  auto w = Worker(port, "w");
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state = 'failed'") == 2; }, 60))
      << testing::ReadFile(Log());
  // The stored error names the missing files.
  EXPECT_NE(Query("SELECT error FROM jobs LIMIT 1").find("no-such-folder"), std::string::npos)
      << Query("SELECT error FROM jobs LIMIT 1");
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "retry", "--sweep", "1", "--coordinator",
                        "127.0.0.1:" + std::to_string(port)}, &out, &err), 0) << err;
  EXPECT_NE(out.find("2 failed job(s) queued again"), std::string::npos) << out;
  // They run again (and fail again: the folder is still missing).
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM leases") == 4; }, 60));
  ASSERT_TRUE(WaitFor([&] { return Num("SELECT COUNT(*) FROM jobs WHERE state = 'failed'") == 2; }, 60));
}

// --- Security ---

std::string HealthStatus(const std::string& address,
                         std::shared_ptr<grpc::ChannelCredentials> creds =
                             grpc::InsecureChannelCredentials()) {
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) return "error: " + s.error_message();
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING ? "SERVING" : "other";
}

TEST_F(FaultTest, ListeningBeyondLoopbackNeedsATokenOrInsecure) {
  std::string out, err;
  int code = RunCommand({kBin, "coordinator", "--db", Db(), "--listen", "0.0.0.0:0"}, &out, &err);
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("refusing to listen on 0.0.0.0:0 without a token"), std::string::npos) << err;
  EXPECT_EQ(Num("SELECT COUNT(*) FROM sweeps"), -1);  // the file was never created
}

TEST_F(FaultTest, TokenIsRequiredAndNeverLogged) {
  const int port = FreePort();
  const std::string secret = "s3cret-token-value";
  testing::WriteFile(dir_.File("token"), secret + "\n");
  testing::WriteFile(dir_.File("wrong"), "guessed-token-value\n");
  auto coordinator = Coordinator(port, {"--token-file", dir_.File("token")});
  const std::string addr = "127.0.0.1:" + std::to_string(port);
  std::string spec = dir_.File("spec.json");
  testing::WriteFile(spec, SyntheticSpec(0.5, {1}, {0.1}).dump());

  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "submit", spec, "--coordinator", addr}, &out, &err), 1);
  EXPECT_NE(err.find("UNAUTHENTICATED"), std::string::npos) << err;
  EXPECT_EQ(RunCommand({kBin, "submit", spec, "--coordinator", addr, "--token-file", dir_.File("wrong")},
                       &out, &err), 1);
  EXPECT_NE(err.find("UNAUTHENTICATED"), std::string::npos) << err;
  EXPECT_EQ(Num("SELECT COUNT(*) FROM sweeps"), 0);

  // The right token, from the environment.
  setenv("GRIDSEARCH_TOKEN", secret.c_str(), 1);
  EXPECT_EQ(RunCommand({kBin, "submit", spec, "--coordinator", addr}, &out, &err), 0) << err;
  auto w = Worker(port, "w");  // inherits the token from the environment
  unsetenv("GRIDSEARCH_TOKEN");
  ASSERT_TRUE(WaitFor([&] { return Query("SELECT state FROM jobs") == "done"; }, 60))
      << testing::ReadFile(Log());
  // Health checks need no token.
  EXPECT_EQ(HealthStatus(addr), "SERVING");
  std::string log = testing::ReadFile(Log());
  EXPECT_NE(log.find("refused SubmitSweep"), std::string::npos) << log;
  EXPECT_EQ(log.find("guessed-token-value"), std::string::npos);
  EXPECT_EQ(log.find(secret), std::string::npos);
}

TEST_F(FaultTest, TlsWithAToken) {
  std::string out, err;
  int rc = RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                       "-keyout", dir_.File("key.pem"), "-out", dir_.File("cert.pem"), "-days", "1",
                       "-subj", "/CN=localhost", "-addext",
                       "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                      &out, &err);
  ASSERT_EQ(rc, 0) << err;
  testing::WriteFile(dir_.File("token"), "tls-token\n");
  const int port = FreePort();
  auto coordinator = Coordinator(port, {"--token-file", dir_.File("token"), "--tls-cert",
                                        dir_.File("cert.pem"), "--tls-key", dir_.File("key.pem")});
  const std::string addr = "localhost:" + std::to_string(port);
  EXPECT_EQ(RunCommand({kBin, "status", "--coordinator", addr, "--token-file", dir_.File("token"),
                        "--tls-ca", dir_.File("cert.pem")},
                       &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("no sweeps"), std::string::npos) << out;
  // Plaintext to a TLS port does not get through.
  EXPECT_NE(RunCommand({kBin, "status", "--coordinator", addr, "--token-file", dir_.File("token")},
                       &out, &err),
            0);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = testing::ReadFile(dir_.File("cert.pem"));
  EXPECT_EQ(HealthStatus(addr, grpc::SslCredentials(ssl)), "SERVING");
}

}  // namespace
}  // namespace gridsearch
