// Input an attacker (or an unlucky user) would try, against a real
// coordinator process over loopback: control characters in names, NUL in
// paths, duplicate JSON keys and bad curve columns are refused with the
// field named; text that is stored anyway (a worker's error message, a file
// written by an older version) reaches the terminal and the tables with its
// control characters written out.
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "proto/gridsearch.grpc.pb.h"
#include "tests/coordinator_fixture.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

json SyntheticSpec(const std::string& name) {
  return {{"name", name},          {"model", "logreg"},   {"dataset", "synthetic"},
          {"batch_size", 10},      {"budget_seconds", 1}, {"seeds", {1}},
          {"optimizers", {{"sgd", {{"lr", {0.1}}}}}}};
}

// The first byte a terminal would obey as a control (C0 but newline, DEL,
// or a UTF-8 C1), as "\xNN"; "" when there is none.
std::string RawControl(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xc2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if ((c < 0x20 && c != '\n') || c == 0x7f || c1) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      return std::string(buf) + " at byte " + std::to_string(i);
    }
  }
  return "";
}

class HostileInputTest : public CoordinatorFixture {
 protected:
  void SetUp() override {
    addr_ = StartCoordinator(600);
    stub_ = v1::Coordinator::NewStub(grpc::CreateChannel(addr_, grpc::InsecureChannelCredentials()));
  }

  // `gridsearch submit` of a spec file holding exactly `text`.
  std::string SubmitText(const std::string& text, int* code) {
    const std::string path = dir_.File("raw.json");
    WriteFile(path, text);
    std::string out, err;
    *code = RunCommand({Bin(), "submit", path, "--coordinator", addr_}, &out, &err);
    return out + err;
  }

  std::string Cli(std::vector<std::string> argv, int* code = nullptr) {
    argv.insert(argv.begin(), Bin());
    std::string out, err;
    const int c = RunCommand(argv, &out, &err);
    if (code != nullptr) *code = c;
    return out + err;
  }

  std::string addr_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(HostileInputTest, ControlCharactersInANameAreRefusedAtSubmit) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"clear\x1b[2Jscreen", "\\x1b"},
      {"carriage\rreturn", "\\r"},
      {std::string("nul\0byte", 8), "NUL"},
      {"c1 \xc2\x9b" "31m", "\\u009b"},
      {"bell\x07", "\\x07"},
  };
  for (const auto& [name, shown] : names) {
    int code = 0;
    const std::string out = Submit(addr_, SyntheticSpec(name), &code);
    EXPECT_EQ(code, 2) << out;
    const std::string message = shown == "NUL" ? "name: contains a NUL character"
                                               : "name: contains a control character (" + shown + ")";
    EXPECT_NE(out.find(message), std::string::npos) << out;
    EXPECT_EQ(RawControl(out), "") << out;  // the refusal itself is safe to print
  }
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "0");
  // Printable text of any script is a name like any other.
  int code = 0;
  EXPECT_EQ((Submit(addr_, SyntheticSpec("résumé: 学习率 — ok"), &code), code), 0);
}

TEST_F(HostileInputTest, ANulInADataSetPathIsRefused) {
  json spec = SyntheticSpec("nul path");
  spec["model"] = "mlp";
  spec["dataset"] = {{"name", "fashion-mnist"},
                     {"path", std::string("/usr/share/datasets/fashion-mnist\0/etc", 38)}};
  int code = 0;
  const std::string out = Submit(addr_, spec, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("dataset.path: contains a NUL character"), std::string::npos) << out;
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "0");
}

TEST_F(HostileInputTest, ADuplicateKeyIsRefusedWithItsPath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name": "a", "name": "b", "model": "logreg", "dataset": "synthetic", "batch_size": 10,
          "budget_seconds": 1, "seeds": [1], "optimizers": {"sgd": {"lr": [0.1]}}})",
       "name: given twice in the same object"},
      {R"({"name": "a", "model": "logreg", "dataset": "synthetic", "batch_size": 10,
          "budget_seconds": 1, "seeds": [1],
          "optimizers": {"sgd": {"lr": [0.1, 0.01], "momentum": [0.9], "lr": [0.5]}}})",
       "optimizers.sgd.lr: given twice in the same object"},
      {R"({"name": "a", "model": "logreg", "budget_seconds": 1, "seeds": [1], "batch_size": 10,
          "dataset": {"name": "synthetic", "path": "x", "path": "y"},
          "optimizers": {"sgd": {"lr": [0.1]}}})",
       "dataset.path: given twice"},
      {R"({"name": "a", "program": {"command": ["python3"], "env": {"A": "1", "A": "2"}},
          "budget_seconds": 1, "seeds": [1], "optimizers": {"x": {}}})",
       "program.env.A: given twice"},
  };
  for (const auto& [text, message] : cases) {
    int code = 0;
    const std::string out = SubmitText(text, &code);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(message), std::string::npos) << out;
    // validate names it too, among the spec's problems.
    const std::string checked = Cli({"validate", dir_.File("raw.json"), "--no-measure"}, &code);
    EXPECT_EQ(code, 2) << checked;
    EXPECT_NE(checked.find(message), std::string::npos) << checked;
  }
  EXPECT_EQ(Query("SELECT COUNT(*) FROM sweeps"), "0");
}

TEST_F(HostileInputTest, AnUnknownCurveColumnIsRefusedBeforeAnyQuery) {
  auto curves = [&](const std::string& column, grpc::Status* status) {
    v1::QueryTableRequest req;
    req.set_kind("curves");
    req.set_format("csv");
    req.set_column(column);
    v1::QueryTableResponse resp;
    grpc::ClientContext ctx;
    *status = stub_->QueryTable(&ctx, req, &resp);
    return resp.text();
  };
  grpc::Status s;
  // No sweep at all, then a sweep with no data yet: the column is refused
  // either way, not only once the sweep has points.
  curves("loss; DROP TABLE jobs", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("unknown curve column"), std::string::npos) << s.error_message();
  int code = 0;
  ASSERT_EQ((Submit(addr_, SyntheticSpec("no data yet"), &code), code), 0);
  curves("bogus", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("unknown curve column 'bogus' (known: loss, learning_rate)"),
            std::string::npos)
      << s.error_message();
  curves("loss", &s);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The CLI refuses it before it connects.
  const std::string out = Cli({"curves", "--coordinator", "127.0.0.1:1", "--column", "bogus"}, &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--column"), std::string::npos) << out;
}

TEST_F(HostileInputTest, StoredControlCharactersArePrintedWrittenOut) {
  int code = 0;
  ASSERT_EQ((Submit(addr_, SyntheticSpec("victim | sweep"), &code), code), 0);
  // A worker's id with a control character is refused; its error message
  // is stored as sent.
  {
    v1::LeaseJobRequest req;
    req.set_worker_id("w\x1b[2J");
    v1::LeaseJobResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub_->LeaseJob(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("worker_id: contains a control character (\\x1b)"),
              std::string::npos)
        << s.error_message();
  }
  v1::LeaseJobRequest req;
  req.set_worker_id("hostile");
  v1::LeaseJobResponse lease;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->LeaseJob(&ctx, req, &lease).ok());
    ASSERT_TRUE(lease.found());
  }
  // An older file may hold names and parameters with control characters:
  // they are written here as such a file would have them.
  QueryOne(Db(), "SELECT 1");  // the file exists
  std::string out, err;
  ASSERT_EQ(RunCommand({"/usr/bin/sqlite3", Db(),
                        "UPDATE sweeps SET name = 'old' || char(27) || ']0;pwned' || char(7) || "
                        "char(13) || 'name'; UPDATE configs SET params_json = '{\"tag\":\"' || "
                        "char(27) || '[1mbold\"}'"},
                       &out, &err),
            0)
      << err;

  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{"status", "--db", Db()},
                                             {"status", "--db", Db(), "--sweep", "1"},
                                             {"results", "--db", Db()},
                                             {"results", "--db", Db(), "--format", "markdown"},
                                             {"results", "--db", Db(), "--format", "csv"}}) {
    const std::string text = Cli(argv, &code);
    EXPECT_EQ(code, 0) << text;
    EXPECT_EQ(RawControl(text), "") << argv[0] << " " << argv.back() << ":\n" << text;
  }
  EXPECT_NE(Cli({"status", "--db", Db()}).find("old\\x1b]0;pwned\\x07\\rname"), std::string::npos);
  EXPECT_NE(Cli({"results", "--db", Db()}).find("\\x1b[1mbold"), std::string::npos);
}

TEST_F(HostileInputTest, AProgramsControlOutputReachesTheRunSummaryWrittenOut) {
  // A program that clears the screen and sets the window title as it dies.
  json spec = {{"name", "noisy"},
               {"program",
                {{"command", {"sh", "-c",
                              "printf '\\033[2J\\033]0;pwned\\007 boom\\r\\n' >&2; exit 3"}}}},
               {"budget_seconds", 1},
               {"seeds", {1}},
               {"optimizers", {{"x", json::object()}}}};
  WriteFile(dir_.File("noisy.json"), spec.dump());
  int code = 0;
  const std::string out = Cli({"run", dir_.File("noisy.json"), "--workers", "1", "--db",
                               dir_.File("noisy.db"), "--no-plots"},
                              &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("exited with status 3"), std::string::npos) << out;
  EXPECT_NE(out.find("\\x1b[2J\\x1b]0;pwned\\x07 boom"), std::string::npos) << out;
  EXPECT_EQ(RawControl(out), "") << out;
  EXPECT_EQ(RawControl(ReadFile(dir_.File("noisy.db.workers.log"))), "");
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
