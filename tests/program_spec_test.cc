// Program sweeps without a coordinator: the spec's "program" block and a
// program's grids (common/program_spec.h), the report protocol's lines
// (worker/program_protocol.h), and the runner with small shell programs
// (worker/program_runner.h).
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sweep_spec.h"
#include "common/text_escape.h"
#include "worker/program_protocol.h"
#include "worker/program_runner.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;

json ProgramSpecJson() {
  return {{"name", "mine"},
          {"program", {{"command", {"python3", "train.py", "--data", "/data"}}}},
          {"budget_seconds", 60},
          {"seeds", {1, 2}},
          {"optimizers",
           {{"adamw", {{"lr", {0.001, 0.01}}, {"schedule", {"cosine", "step"}}, {"amsgrad", false}}},
            {"sgd", {{"lr", 0.1}, {"batch_size", {64, 128}}}}}}};
}

Status Parse(const json& j, SweepSpec* spec) { return ParseSweepSpec(j.dump(), SpecLimits(), spec); }

TEST(ProgramSpec, ValuesAreTheProgramsOwnAndExpandLikeAnyGrid) {
  SweepSpec spec;
  ASSERT_TRUE(Parse(ProgramSpecJson(), &spec).ok()) << Parse(ProgramSpecJson(), &spec).ToString();
  ASSERT_TRUE(spec.program.present());
  EXPECT_EQ(spec.program.command.size(), 4u);
  EXPECT_EQ(spec.program.setup_timeout_seconds, 600);
  EXPECT_EQ(spec.program.eval_timeout_seconds, 60);
  EXPECT_EQ(CountConfigurations(spec), 4 + 2);
  EXPECT_EQ(CountJobs(spec), 12);
  const std::vector<GridPoint> points = ExpandGrid(spec);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].optimizer, "adamw");
  EXPECT_EQ(points[0].params_json, R"({"amsgrad":false,"lr":0.001,"schedule":"cosine"})");
  EXPECT_EQ(points[3].params_json, R"({"amsgrad":false,"lr":0.01,"schedule":"step"})");
  // Integers stay integers: a program's batch size is not 64.0.
  EXPECT_EQ(points[4].params_json, R"({"batch_size":64,"lr":0.1})");
  EXPECT_EQ(SweepModelLabel(spec), "program");
  EXPECT_EQ(SweepDatasetLabel(spec), "python3 train.py");

  // The canonical spec reads back to the same sweep (the coordinator
  // re-reads it at every lease).
  SweepSpec again;
  ASSERT_TRUE(ParseSweepSpec(spec.canonical_json, SpecLimits(), &again).ok()) << spec.canonical_json;
  EXPECT_EQ(again.canonical_json, spec.canonical_json);
  ASSERT_EQ(ExpandGrid(again).size(), 6u);
  EXPECT_EQ(ExpandGrid(again)[5].params_json, points[5].params_json);

  JobSpec job;
  ASSERT_TRUE(MakeJobSpec(spec, points[2].optimizer, points[2].params_json, 2, &job).ok());
  EXPECT_TRUE(job.program.present());
  EXPECT_EQ(job.params_json, points[2].params_json);
  EXPECT_TRUE(job.params.empty());
  EXPECT_EQ(job.budget_seconds, 60);
  EXPECT_EQ(job.seed, 2);
}

TEST(ProgramSpec, EveryProblemIsNamedByItsField) {
  struct Case {
    std::function<void(json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j["model"] = "mlp"; }, "model: not used by a program sweep"},
      {[](json& j) { j["dataset"] = "mnist"; }, "dataset: not used by a program sweep"},
      {[](json& j) { j["program"]["command"] = json::array(); }, "program.command: must name"},
      {[](json& j) { j["program"]["command"] = "python3 train.py"; },
       "program.command: expected an array of strings, got string"},
      {[](json& j) { j["program"]["command"][1] = 3; }, "program.command[1]: expected a string"},
      {[](json& j) { j["program"]["command"][0] = ""; }, "program.command[0]: must not be empty"},
      {[](json& j) { j["program"]["command"][1] = std::string("a\0b", 3); },
       "program.command[1]: contains a NUL character"},
      {[](json& j) { j["program"]["comand"] = json::array({"x"}); },
       "program.comand: unknown field (did you mean 'command'?)"},
      {[](json& j) { j["program"]["env"] = {{"GRIDSEARCH_JOB", "x"}}; },
       "program.env.GRIDSEARCH_JOB: set by the worker"},
      {[](json& j) { j["program"]["env"] = {{"CUDA_VISIBLE_DEVICES", "0"}}; },
       "program.env.CUDA_VISIBLE_DEVICES: set by the worker"},
      {[](json& j) { j["program"]["env"] = {{"1X", "0"}}; }, "program.env.1X: not a variable name"},
      {[](json& j) { j["program"]["env"] = {{"X", 1}}; }, "program.env.X: expected a string"},
      {[](json& j) { j["program"]["setup_timeout_seconds"] = 0; },
       "program.setup_timeout_seconds: must be a positive number"},
      {[](json& j) { j["program"]["eval_timeout_seconds"] = "1"; },
       "program.eval_timeout_seconds: expected a number of seconds"},
      {[](json& j) { j["optimizers"]["sgd"]["lr"] = {0.1, {1, 2}}; },
       "optimizers.sgd.lr[1]: expected a number, a string or a boolean, got array"},
      {[](json& j) { j["optimizers"]["sgd"]["lr"] = nullptr; },
       "optimizers.sgd.lr: expected a number, a string or a boolean, got null"},
      {[](json& j) { j["optimizers"]["sgd"]["lr"] = {0.1, 0.1}; },
       "optimizers.sgd.lr[1]: duplicate value"},
      {[](json& j) { j["optimizers"]["sgd"]["lr"] = json::array(); }, "optimizers.sgd.lr: empty list"},
      {[](json& j) { j["optimizers"]["sgd"]["a b"] = 1; }, "optimizers.sgd.a b: a parameter's name"},
      {[](json& j) { j["optimizers"]["my opt"] = json::object(); }, "optimizers.my opt: an optimizer's name"},
      {[](json& j) { j["optimizers"]["sgd"]["tag"] = "a\x1b[2Jb"; },
       "optimizers.sgd.tag: contains a control character"},
      {[](json& j) { j["optimizers"]["sgd"]["tag"] = std::string(2000, 'x'); },
       "optimizers.sgd.tag: longer than 1024 characters"},
      {[](json& j) { j["ablation"] = {{"optimizer", "sgd"}, {"features", {{"momentum", 0}}}}; },
       "ablation.features.momentum: not a parameter of the sgd grid"},
  };
  for (const auto& c : cases) {
    json j = ProgramSpecJson();
    c.edit(j);
    SweepSpec spec;
    Status s = Parse(j, &spec);
    EXPECT_FALSE(s.ok()) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos)
        << "expected '" << c.message << "', got '" << s.message() << "'";
  }
  // A parameter with 200 values in each of 6 axes is over the job limit.
  json big = ProgramSpecJson();
  std::vector<int> many(200);
  for (int i = 0; i < 200; ++i) many[i] = i;
  big["optimizers"] = {{"x", {{"a", many}, {"b", many}, {"c", many}, {"d", many}}}};
  SweepSpec spec;
  EXPECT_EQ(Parse(big, &spec).code(), Status::kResourceExhausted);
}

TEST(ProgramSpec, AblationOfAProgramMayUseStrings) {
  json j = ProgramSpecJson();
  j["ablation"] = {{"optimizer", "adamw"}, {"features", {{"schedule", "step"}, {"amsgrad", false}}}};
  SweepSpec spec;
  EXPECT_TRUE(Parse(j, &spec).ok()) << Parse(j, &spec).ToString();
}

TEST(ReportProtocol, EventsParse) {
  ReportEvent e;
  ASSERT_TRUE(ParseReportLine(R"({"event": "train_start", "protocol": 1, "software": "torch 2"})", &e).ok());
  EXPECT_EQ(e.kind, ReportEvent::kTrainStart);
  EXPECT_EQ(e.software, "torch 2");
  ASSERT_TRUE(ParseReportLine(R"({"event":"point","step":3,"loss":0.5,"epoch":0.25,"learning_rate":0.1,"extra":1})", &e).ok());
  EXPECT_EQ(e.kind, ReportEvent::kPoint);
  EXPECT_EQ(e.point.step, 3);
  EXPECT_EQ(e.point.loss, 0.5);
  EXPECT_TRUE(e.has_epoch);
  EXPECT_FALSE(e.has_elapsed);
  EXPECT_EQ(e.point.learning_rate, 0.1);
  // Python's json.dumps writes NaN bare; null and "inf" mean non-finite too.
  for (const char* line : {R"({"event": "point", "step": 4, "loss": NaN})",
                           R"({"event": "point", "step": 4, "loss": -Infinity})",
                           R"({"event": "point", "step": 4, "loss": null})",
                           R"({"event": "point", "step": 4, "loss": "inf"})"}) {
    ASSERT_TRUE(ParseReportLine(line, &e).ok()) << line;
    EXPECT_FALSE(std::isfinite(e.point.loss)) << line;
  }
  // ...but not inside a string.
  ASSERT_TRUE(ParseReportLine(R"({"event": "train_start", "software": "NaN Infinity"})", &e).ok());
  EXPECT_EQ(e.software, "NaN Infinity");
  ASSERT_TRUE(ParseReportLine(R"({"event": "result", "final_train_loss": 0.25, "test_accuracy": 0.9})", &e).ok());
  EXPECT_EQ(e.kind, ReportEvent::kResult);
  EXPECT_TRUE(e.has_final_train_loss);
  EXPECT_EQ(e.result.final_train_loss, 0.25);
  EXPECT_EQ(e.result.test_accuracy, 0.9);
  EXPECT_TRUE(std::isnan(e.result.test_loss));
}

TEST(ReportProtocol, BadLinesSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello", "not JSON: \"hello\""},
      {"[1, 2]", "not an event"},
      {R"({"step": 1})", "not an event"},
      {R"({"event": "pointt"})", "unknown event \"pointt\""},
      {R"({"event": "point", "loss": 1})", "step must be a positive integer"},
      {R"({"event": "point", "step": 0, "loss": 1})", "step must be a positive integer"},
      {R"({"event": "point", "step": 1.5, "loss": 1})", "step must be a positive integer"},
      {R"({"event": "point", "step": 1})", "loss is missing"},
      {R"({"event": "point", "step": 1, "loss": "low"})", "loss must be a number"},
      {R"({"event": "point", "step": 1, "loss": 1, "elapsed_seconds": -1})", "elapsed_seconds is out of range"},
      {R"({"event": "result", "test_accuracy": 7})", "test_accuracy is out of range"},
      {R"({"event": "train_start", "protocol": 2})", "protocol 2 is not supported"},
  };
  for (const auto& [line, message] : cases) {
    ReportEvent e;
    Status s = ParseReportLine(line, &e);
    EXPECT_FALSE(s.ok()) << line;
    EXPECT_NE(s.message().find(message), std::string::npos) << line << " -> " << s.message();
  }
}

JobSpec ShellJob(const std::string& script, double budget = 5) {
  JobSpec job;
  job.job_id = 7;
  job.sweep_id = 2;
  job.attempt = 1;
  job.optimizer = "sgd";
  job.params_json = R"({"lr":0.5,"tag":"a b"})";
  job.seed = 11;
  job.budget_seconds = budget;
  job.program.command = {"sh", "-c", script};
  job.program.eval_timeout_seconds = 1;
  return job;
}

TEST(ProgramRunner, TheProgramGetsItsJobAndItsReportsBecomeTheResult) {
  std::vector<std::string> output;
  ProgramRunnerOptions options;
  options.output = [&](const std::string& line) { output.push_back(line); };
  ProgramRunner runner(options);
  const JobSpec job = ShellJob(
      "cat \"$GRIDSEARCH_JOB\"; echo \"cuda=[$CUDA_VISIBLE_DEVICES] fd=$GRIDSEARCH_REPORT_FD\"; "
      "test -f \"$(dirname \"$GRIDSEARCH_JOB\")/gridsearch.py\" && echo helper; "
      "echo '{\"event\": \"train_start\"}' >&3; "
      "echo '{\"event\": \"point\", \"step\": 1, \"loss\": 2.0, \"elapsed_seconds\": 0.5}' >&3; "
      "echo '{\"event\": \"point\", \"step\": 2, \"loss\": 1.0, \"elapsed_seconds\": 1.5, "
      "\"epoch\": 0.5}' >&3; "
      "echo '{\"event\": \"result\", \"test_accuracy\": 0.75}' >&3");
  std::vector<CurvePoint> points;
  JobResult result;
  Status s = runner.Run(job, [&](const std::vector<CurvePoint>& p) {
    points.insert(points.end(), p.begin(), p.end());
    return Status::OK();
  }, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string all;
  for (const auto& line : output) all += line + "\n";
  const json written = json::parse(all.substr(0, all.find("cuda=")));
  EXPECT_EQ(written["protocol"], 1);
  EXPECT_EQ(written["job_id"], 7);
  EXPECT_EQ(written["params"]["tag"], "a b");
  EXPECT_EQ(written["seed"], 11);
  EXPECT_EQ(written["device"], "cpu");
  EXPECT_NE(all.find("cuda=[] fd=3"), std::string::npos) << all;  // no GPU for a CPU worker
  EXPECT_NE(all.find("helper"), std::string::npos) << all;
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1].epoch, 0.5);
  EXPECT_EQ(points[0].epoch, 0);
  EXPECT_FALSE(result.diverged);
  EXPECT_EQ(result.steps, 2);
  EXPECT_EQ(result.final_train_loss, 1.0);  // the last loss, since the result gave none
  EXPECT_EQ(result.test_accuracy, 0.75);
  // log10 from 2 to 1 over one second: the trapezoid's mean.
  EXPECT_NEAR(result.log_loss_integral, std::log10(2.0) / 2, 1e-12);
}

TEST(ProgramRunner, OutOfOrderStepsAndAPointBeforeTrainStartFail) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  Status s = runner.Run(ShellJob("echo '{\"event\": \"point\", \"step\": 1, \"loss\": 1}' >&3"),
                        nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("point before its train_start event"), std::string::npos) << s.ToString();
  s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
                          "echo '{\"event\": \"point\", \"step\": 2, \"loss\": 1}' >&3; "
                          "echo '{\"event\": \"point\", \"step\": 2, \"loss\": 1}' >&3; sleep 5"),
                 nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("reported step 2 after step 2"), std::string::npos) << s.ToString();
  s = runner.Run(ShellJob("echo oops; exit 3"), nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("exited with status 3 before its train_start event. Its last output:\n  oops"),
            std::string::npos)
      << s.ToString();
  s = runner.Run(ShellJob("kill -SEGV $$"), nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("killed by signal 11"), std::string::npos) << s.ToString();
}

TEST(ProgramRunner, ALineWithoutEndIsRefusedAndStopTurnsIntoCancelled) {
  ProgramRunnerOptions options;
  options.max_line_bytes = 1000;
  ProgramRunner runner(options);
  JobResult result;
  Status s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
                                 "head -c 5000 /dev/zero >&3; sleep 30"),
                        nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("report line longer than 1000 bytes"), std::string::npos)
      << s.ToString();
  int polls = 0;
  s = runner.Run(ShellJob("sleep 30"), nullptr, [&] { return ++polls > 5; }, &result);
  EXPECT_EQ(s.code(), Status::kCancelled) << s.ToString();
}

TEST(ProgramRunner, ALastResultWithoutItsNewlineCounts) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  Status s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
                                 "echo '{\"event\": \"point\", \"step\": 1, \"loss\": 0.5}' >&3; "
                                 "printf '{\"event\": \"result\", \"final_train_loss\": 0.25}' >&3"),
                        nullptr, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(result.final_train_loss, 0.25);
}

TEST(ProgramRunner, AWholeLineOverTheLimitIsRefusedEvenInOneRead) {
  ProgramRunnerOptions options;
  options.max_line_bytes = 1000;
  ProgramRunner runner(options);
  JobResult result;
  // One 5,000-byte point line, newline included, written at once.
  Status s = runner.Run(
      ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
               "printf '{\"event\": \"point\", \"step\": 1, \"loss\": 0.5, \"pad\": \"%05000d\"}\n' 0 >&3; "
               "echo '{\"event\": \"result\"}' >&3"),
      nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("report line longer than 1000 bytes"), std::string::npos)
      << s.ToString();
}

TEST(ProgramRunner, ANonFiniteFinalLossIsADivergence) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  Status s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
                                 "echo '{\"event\": \"result\", \"final_train_loss\": NaN}' >&3"),
                        nullptr, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(result.diverged);
  // No point and no final loss: nothing to rank by either.
  s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; echo '{\"event\": \"result\"}' >&3"),
                 nullptr, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(result.diverged);
}

TEST(ProgramRunner, AFailedJobsMessageIsValidUtf8WhateverTheProgramWrote) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  // 200 three-byte characters (cut at the tail's width), then bytes that
  // are not UTF-8 at all.
  Status s = runner.Run(ShellJob("i=0; while [ $i -lt 200 ]; do printf '\342\226\210'; i=$((i+1)); "
                                 "done; echo; printf 'bad \377\376 bytes\n'; exit 1"),
                        nullptr, nullptr, &result);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(ToValidUtf8(s.message()), s.message());
  EXPECT_NE(s.message().find("bad \\xff\\xfe bytes"), std::string::npos) << s.message();
}

TEST(TextEscape, OnlyRfc3629Utf8PassesAsIs) {
  // Surrogates, overlong forms and code points past U+10FFFF are not UTF-8
  // (JSON writers and protobuf refuse them): each byte is written out.
  EXPECT_EQ(ToValidUtf8("a\xed\xa0\x80z"), "a\\xed\\xa0\\x80z");
  EXPECT_EQ(ToValidUtf8("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
  EXPECT_EQ(ToValidUtf8("\xf0\x80\x80\xaf"), "\\xf0\\x80\\x80\\xaf");
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(ToValidUtf8("\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80");
  // The edges of the valid ranges stay.
  for (const char* ok : {"\xed\x9f\xbf", "\xee\x80\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80",
                         "\xf4\x8f\xbf\xbf", "\xc2\xa9"})
    EXPECT_EQ(ToValidUtf8(ok), ok);
  EXPECT_EQ(EscapeControl("x\xed\xb0\x80"), "x\\xed\\xb0\\x80");
}

TEST(ProgramRunner, ClosingTheReportDescriptorEarlyFailsAtOnce) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  const auto start = std::chrono::steady_clock::now();
  Status s = runner.Run(ShellJob("exec 3>&-; sleep 60"), nullptr, nullptr, &result);
  EXPECT_NE(s.message().find("closed its report descriptor (fd 3) before its result"),
            std::string::npos)
      << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(ProgramRunner, AStopAfterTheResultCompletesTheJob) {
  ProgramRunner runner{ProgramRunnerOptions()};
  JobResult result;
  int polls = 0;
  // The stop comes after about 2 s of polls, with the result long in and
  // the program still running.
  Status s = runner.Run(ShellJob("echo '{\"event\": \"train_start\"}' >&3; "
                                 "echo '{\"event\": \"result\", \"final_train_loss\": 1}' >&3; "
                                 "sleep 60"),
                        nullptr, [&] { return ++polls > 20; }, &result);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(result.final_train_loss, 1);
}

}  // namespace
}  // namespace gridsearch
