// What a new user meets, with the real binary: `validate` (every problem, or
// the expansion and a measured estimate), `submit` naming a bad field with
// no coordinator running, `--version`, `status --watch`, the failure summary
// of `run`, gRPC server reflection, the papers cited by name, and the schema
// as stored in a new file.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/database.h"
#include "coordinator/job_store.h"
#include "tests/coordinator_fixture.h"
#include "tests/reflection.grpc.pb.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using testing::Process;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

const std::string kBin = GRIDSEARCH_BIN;
const std::string kSource = GRIDSEARCH_SOURCE_DIR;

class CliTest : public testing::CoordinatorFixture {
 protected:
  std::string WriteSpec(const json& spec, const std::string& name = "spec.json") {
    const std::string path = dir_.File(name);
    testing::WriteFile(path, spec.dump());
    return path;
  }
};

json BadSpec() {
  json j = testing::FashionSpec("bad", 1, {1, 1}, {{"sgd", {{"momentun", {0.9}}}}});
  j["modle"] = "mlp";
  j["batch_size"] = 0;
  return j;
}

TEST_F(CliTest, ValidateListsEveryProblem) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "validate", WriteSpec(BadSpec())}, &out, &err), 2) << err;
  EXPECT_NE(out.find("4 problem(s)"), std::string::npos) << out;
  for (const char* field : {"modle: unknown field (did you mean 'model'?)", "batch_size:",
                            "seeds[1]: duplicate seed 1", "optimizers.sgd.momentun:"})
    EXPECT_NE(out.find(field), std::string::npos) << field << "\n" << out;

  ASSERT_EQ(RunCommand({kBin, "validate", WriteSpec(BadSpec()), "--format", "json"}, &out, &err), 2);
  const json j = json::parse(out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["problems"].size(), 4u);
}

TEST_F(CliTest, ValidateShowsTheExpansionAndTheComputeItNeeds) {
  const std::string spec = kSource + "/examples/fashion_mnist_quick.json";
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "validate", spec}, &out, &err), 0) << err;
  EXPECT_NE(out.find("configurations: adam 2, rmsprop 2, sgd 4; 8 in all x 2 seed(s) = 16 jobs"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("measured on cpu"), std::string::npos) << out;
  EXPECT_NE(out.find("device-hours"), std::string::npos) << out;

  ASSERT_EQ(RunCommand({kBin, "validate", spec, "--format", "json"}, &out, &err), 0) << err;
  const json measured = json::parse(out);
  EXPECT_EQ(measured["jobs"], 16);
  EXPECT_EQ(measured["configurations_per_optimizer"]["sgd"], 4);
  const double setup = measured["measured"]["setup_seconds"];
  const double eval = measured["measured"]["eval_seconds"];
  EXPECT_GT(eval, 0);
  EXPECT_NEAR(measured["device_hours"].get<double>(), 16 * (5 + setup + eval) / 3600, 1e-9);

  ASSERT_EQ(RunCommand({kBin, "validate", spec, "--format", "json", "--no-measure"}, &out, &err), 0);
  const json budget_only = json::parse(out);
  EXPECT_FALSE(budget_only.contains("measured"));
  EXPECT_DOUBLE_EQ(budget_only["device_hours"].get<double>(), 16 * 5 / 3600.0);

  // Data that is not on this machine: still valid, the estimate says so.
  json elsewhere = testing::FashionSpec("elsewhere", 60, {1}, {{"sgd", {{"lr", {0.1}}}}});
  elsewhere["dataset"] = {{"name", "cifar10"}, {"path", "/nonexistent/cifar"}};
  ASSERT_EQ(RunCommand({kBin, "validate", WriteSpec(elsewhere)}, &out, &err), 0) << err;
  EXPECT_NE(out.find("not measured on this machine"), std::string::npos) << out;
  EXPECT_NE(out.find("/nonexistent/cifar"), std::string::npos) << out;
}

TEST_F(CliTest, SubmitNamesTheBadFieldWithNoCoordinatorRunning) {
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "submit", WriteSpec(BadSpec()), "--coordinator",
                        "127.0.0.1:" + std::to_string(testing::FreePort())},
                       &out, &err),
            2);
  EXPECT_NE(err.find("INVALID_ARGUMENT: modle: unknown field"), std::string::npos) << err;
  EXPECT_NE(err.find("3 more problem(s)"), std::string::npos) << err;
  EXPECT_EQ(err.find("UNAVAILABLE"), std::string::npos) << err;
}

TEST_F(CliTest, VersionNamesLibTorchGrpcSqliteAndTheSchema) {
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "--version"}, &out, &err), 0) << err;
  const std::string schema = "database schema version " +
                             std::to_string(Database::LatestSchemaVersion());
  for (const std::string part :
       {"gridsearch 0.", "libtorch 1.", "gRPC 1.", "SQLite 3.", schema.c_str()})
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
}

// LibTorch is loaded only by the commands that train or build models
// (worker/torch_plugin.h): a coordinator serving and answering holds none of
// it, and `models` loads it from the plugin beside the binary.
TEST_F(CliTest, TheCoordinatorRunsWithoutLibTorch) {
  const std::string addr = StartCoordinator(60);
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "status", "--coordinator", addr}, &out, &err), 0) << err;
  const std::string maps = testing::ReadFile("/proc/" + std::to_string(coordinator_->pid()) + "/maps");
  ASSERT_FALSE(maps.empty());
  EXPECT_EQ(maps.find("libtorch"), std::string::npos);
  EXPECT_EQ(maps.find("libgridsearch_torch"), std::string::npos);
  ASSERT_EQ(RunCommand({kBin, "models", "--format", "json"}, &out, &err), 0) << err;
  EXPECT_NE(out.find("resnet32"), std::string::npos) << out;
}

TEST_F(CliTest, ThePapersAreCitedByName) {
  std::string out, err;
  for (const std::vector<std::string>& help :
       {std::vector<std::string>{kBin, "ablation", "--help"}, {kBin, "epochs", "--help"},
        {kBin, "results", "--help"}, {kBin, "--help"}}) {
    RunCommand(help, &out, &err);
    EXPECT_EQ(out.find("paper 00"), std::string::npos) << out;
  }
  RunCommand({kBin, "ablation", "--help"}, &out, &err);
  EXPECT_NE(out.find("PAL 2019 Table 1"), std::string::npos) << out;
  const std::string readme = testing::ReadFile(kSource + "/README.md");
  EXPECT_EQ(readme.find("paper 00"), std::string::npos);
  const size_t refs = readme.find("## References");
  ASSERT_NE(refs, std::string::npos);
  EXPECT_NE(readme.find("PAL: A fast DNN\n  optimization method based on curvature information",
                        refs),
            std::string::npos);
  EXPECT_NE(readme.find("Parabolic Approximation\n  Line Search for DNNs", refs), std::string::npos);
}

TEST_F(CliTest, RunSummarisesTheDistinctErrorsOfFailedJobs) {
  json spec = testing::FashionSpec("fails", 0.2, {1, 2}, {{"sgd", {{"lr", {0.1, 0.01}}}}});
  spec["dataset"] = {{"name", "mnist"}, {"path", "/nonexistent/mnist-files"}};
  std::string out, err;
  EXPECT_EQ(RunCommand({kBin, "run", WriteSpec(spec), "--workers", "2", "--db", Db(), "--quiet",
                        "--no-plots", "--lease-timeout", "5"},
                       &out, &err),
            1);
  EXPECT_NE(err.find("4 job(s) failed:"), std::string::npos) << err;
  // One cause, counted once over both workers and every attempt.
  EXPECT_NE(err.find("  4 x NOT_FOUND: data set folder /nonexistent/mnist-files"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("gridsearch retry"), std::string::npos) << err;
}

TEST_F(CliTest, StatusWatchRefreshesUntilTheSweepEnds) {
  const std::string addr = StartCoordinator(10);
  int code = 0;
  Submit(addr, testing::FashionSpec("watched", 1, {1, 2}, {{"sgd", {{"lr", {0.1}}}}}), &code);
  ASSERT_EQ(code, 0);
  Process worker({kBin, "worker", "--coordinator", addr, "--threads", "1"}, Log());
  std::string out, err;
  ASSERT_EQ(RunCommand({kBin, "status", "--coordinator", addr, "--sweep", "1", "--watch",
                        "--interval", "0.2"},
                       &out, &err),
            0)
      << err;
  const std::regex header("sweep 1 \"watched\": (\\w+)");
  std::vector<std::string> states;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), header); it != std::sregex_iterator();
       ++it)
    states.push_back((*it)[1]);
  ASSERT_GE(states.size(), 2u) << out;
  EXPECT_EQ(states.front(), "running") << out;
  EXPECT_EQ(states.back(), "finished") << out;
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 'done'"), "2");
}

TEST_F(CliTest, ServerReflectionListsTheServices) {
  const std::string addr = StartCoordinator(10);
  auto channel = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  std::vector<std::string> names;
  for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
  for (const char* service : {"gridsearch.v1.Coordinator", "grpc.health.v1.Health",
                              "grpc.reflection.v1alpha.ServerReflection"})
    EXPECT_NE(std::find(names.begin(), names.end(), service), names.end())
        << service << " in " << ::testing::PrintToString(names);
  // A generic client can fetch the API's descriptor and call it.
  grpc::reflection::v1alpha::ServerReflectionRequest file;
  file.set_file_containing_symbol("gridsearch.v1.Coordinator");
  ASSERT_TRUE(stream->Write(file));
  ASSERT_TRUE(stream->Read(&resp));
  ASSERT_GT(resp.file_descriptor_response().file_descriptor_proto_size(), 0)
      << resp.error_response().error_message();
  EXPECT_NE(resp.file_descriptor_response().file_descriptor_proto(0).find("SubmitSweep"),
            std::string::npos);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(CliTest, SchemaCommentsStayWithTheirColumnsAfterTheMigrations) {
  {
    CoordinatorOptions options;
    options.db_path = Db();
    std::unique_ptr<JobStore> store;
    ASSERT_TRUE(JobStore::Open(options, nullptr, &store).ok());
  }
  const std::string sql = Query("SELECT sql FROM sqlite_master WHERE name = 'jobs'");
  std::istringstream lines(sql);
  std::string line, previous;
  bool saw_error = false;
  while (std::getline(lines, line)) {
    // No comment at the end of a line describes a column the migrations added.
    EXPECT_FALSE(line.find("finished_attempt") != std::string::npos &&
                 line.find("--") != std::string::npos)
        << line;
    if (line.find("error ") != std::string::npos && line.find("TEXT") != std::string::npos) {
      saw_error = true;
      EXPECT_NE(previous.find("the last failure's message"), std::string::npos) << sql;
    }
    previous = line;
  }
  EXPECT_TRUE(saw_error) << sql;
}

}  // namespace
}  // namespace gridsearch
