// A test fixture for end-to-end tests: a temporary folder with the sweep's
// SQLite file and a shared log, a real `gridsearch coordinator` process on a
// free loopback port, and `gridsearch submit`. Needs GRIDSEARCH_BIN.
#ifndef GRIDSEARCH_TESTS_COORDINATOR_FIXTURE_H_
#define GRIDSEARCH_TESTS_COORDINATOR_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace gridsearch {
namespace testing {

// A small Fashion-MNIST sweep: the MLP on the first 2000 training images,
// batches of 50.
inline nlohmann::json FashionSpec(const std::string& name, double budget, std::vector<int> seeds,
                                  nlohmann::json optimizers) {
  return {{"name", name},
          {"model", "mlp"},
          {"dataset", {{"name", "fashion-mnist"}, {"train_size", 2000}}},
          {"batch_size", 50},
          {"budget_seconds", budget},
          {"seeds", seeds},
          {"optimizers", optimizers}};
}

class CoordinatorFixture : public ::testing::Test {
 protected:
  std::string Bin() const { return GRIDSEARCH_BIN; }
  std::string Db() const { return dir_.File("sweep.db"); }
  std::string Log() const { return dir_.File("log.txt"); }

  // Starts a coordinator on a free loopback port, with `extra` flags;
  // returns its address.
  std::string StartCoordinator(double lease_timeout, const std::vector<std::string>& extra = {}) {
    const std::string port_file = dir_.File("port");
    std::vector<std::string> argv{Bin(), "coordinator", "--db", Db(), "--listen", "127.0.0.1:0",
                                  "--port-file", port_file, "--lease-timeout",
                                  std::to_string(lease_timeout)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    coordinator_ = std::make_unique<Process>(argv, Log());
    EXPECT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 30)) << ReadFile(Log());
    std::string addr = ReadFile(port_file);
    while (!addr.empty() && (addr.back() == '\n' || addr.back() == ' ')) addr.pop_back();
    return addr;
  }

  // Runs `gridsearch submit`; returns its output, its exit code in *code.
  std::string Submit(const std::string& addr, const nlohmann::json& spec, int* code) {
    const std::string path = dir_.File("spec.json");
    WriteFile(path, spec.dump());
    std::string out, err;
    *code = RunCommand({Bin(), "submit", path, "--coordinator", addr}, &out, &err);
    return out + err;
  }

  std::string Query(const std::string& sql) { return QueryOne(Db(), sql); }

  TempDir dir_;
  std::unique_ptr<Process> coordinator_;
};

}  // namespace testing
}  // namespace gridsearch

#endif  // GRIDSEARCH_TESTS_COORDINATOR_FIXTURE_H_
