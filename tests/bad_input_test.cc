// Malformed requests and specs against a real coordinator over loopback
// gRPC: each is refused with the right code and a message naming the
// problem, and the database files are byte-for-byte unchanged afterwards.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "coordinator/server.h"
#include "proto/gridsearch.grpc.pb.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

const char* kValidSpec = R"({"name": "ok", "model": "logreg", "dataset": "synthetic",
  "batch_size": 10, "budget_seconds": 1, "seeds": [1, 2],
  "optimizers": {"sgd": {"lr": [0.1, 0.01]}}})";

std::string SpecWith(const std::string& field, const std::string& json_value) {
  std::string spec = R"({"name": "x", "model": "logreg", "dataset": "synthetic",
    "batch_size": 10, "budget_seconds": 1, "seeds": [1], "optimizers": {"sgd": {"lr": [0.1]}}})";
  if (field.empty()) return spec;
  // Replace or add one top-level field.
  std::string key = "\"" + field + "\":";
  size_t pos = spec.find(key);
  if (pos == std::string::npos) return "{" + key + " " + json_value + ", " + spec.substr(1);
  size_t start = pos + key.size();
  int depth = 0;
  size_t end = start;
  for (; end < spec.size(); ++end) {
    char c = spec[end];
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (depth == 0) break;
      --depth;
    }
    if (c == ',' && depth == 0) break;
  }
  return spec.substr(0, start) + " " + json_value + spec.substr(end);
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions o;
    o.db_path = dir_.File("bad.db");
    o.listen = "127.0.0.1:0";
    o.lease_timeout_seconds = 600;
    o.lease_check_interval_seconds = 3600;  // nothing but the requests writes
    o.spec_limits.max_jobs = 1000;
    o.spec_limits.max_spec_bytes = 64 << 10;
    o.max_message_bytes = 1 << 20;
    o.max_points_per_report = 1000;
    ASSERT_TRUE(CoordinatorServer::Start(o, nullptr, &server_).ok());
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(64 << 20);
    stub_ = v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(server_->address(), grpc::InsecureChannelCredentials(), args));
    // One sweep, one job leased by its owner.
    v1::SubmitSweepRequest req;
    req.set_spec_json(kValidSpec);
    v1::SubmitSweepResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->SubmitSweep(&ctx, req, &resp).ok());
    v1::LeaseJobRequest lease;
    lease.set_worker_id("owner");
    grpc::ClientContext lctx;
    ASSERT_TRUE(stub_->LeaseJob(&lctx, lease, &lease_).ok());
    ASSERT_TRUE(lease_.found());
  }

  std::string Snapshot() {
    return testing::ReadFile(dir_.File("bad.db")) + "|wal|" + testing::ReadFile(dir_.File("bad.db-wal"));
  }

  testing::TempDir dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  v1::LeaseJobResponse lease_;
};

struct Case {
  std::string what;
  std::function<grpc::Status(v1::Coordinator::Stub*, grpc::ClientContext*)> call;
  grpc::StatusCode code;
  std::string in_message;
};

TEST_F(BadInputTest, EveryMalformedRequestIsRefusedAndNothingIsWritten) {
  const int64_t job = lease_.job().job_id();
  const std::string lease = lease_.lease_id();
  auto submit = [](std::string spec) {
    return [spec](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
      v1::SubmitSweepRequest r;
      r.set_spec_json(spec);
      v1::SubmitSweepResponse out;
      return s->SubmitSweep(c, r, &out);
    };
  };
  auto report = [](int64_t job_id, std::string lease_id, int points, int64_t step = 1,
                   double elapsed = 0.5) {
    return [=](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
      v1::ReportProgressRequest r;
      r.set_job_id(job_id);
      r.set_lease_id(lease_id);
      for (int i = 0; i < points; ++i) {
        auto* p = r.add_points();
        p->set_step(step + i);
        p->set_elapsed_seconds(elapsed);
        p->set_loss(1);
      }
      v1::ReportProgressResponse out;
      return s->ReportProgress(c, r, &out);
    };
  };
  auto complete = [](int64_t job_id, std::string lease_id) {
    return [=](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
      v1::CompleteJobRequest r;
      r.set_job_id(job_id);
      r.set_lease_id(lease_id);
      v1::CompleteJobResponse out;
      return s->CompleteJob(c, r, &out);
    };
  };
  auto sweep_call = [](std::string which, int64_t id, std::string metric = "") {
    return [=](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
      if (which == "get") {
        v1::GetSweepRequest r;
        r.set_sweep_id(id);
        v1::SweepStatus out;
        return s->GetSweep(c, r, &out);
      }
      if (which == "cancel") {
        v1::CancelSweepRequest r;
        r.set_sweep_id(id);
        v1::CancelSweepResponse out;
        return s->CancelSweep(c, r, &out);
      }
      if (which == "retry") {
        v1::RetrySweepRequest r;
        r.set_sweep_id(id);
        v1::RetrySweepResponse out;
        return s->RetrySweep(c, r, &out);
      }
      v1::QueryRankingRequest r;
      r.set_sweep_id(id);
      r.set_metric(metric);
      v1::QueryRankingResponse out;
      return s->QueryRanking(c, r, &out);
    };
  };
  using C = grpc::StatusCode;
  std::string seeds;
  for (int i = 0; i < 1001; ++i) seeds += (i ? "," : "") + std::to_string(i);

  const std::vector<Case> cases = {
      {"not JSON", submit("name: x"), C::INVALID_ARGUMENT, "not valid JSON"},
      {"truncated JSON", submit(std::string(kValidSpec).substr(0, 40)), C::INVALID_ARGUMENT, "not valid JSON"},
      {"empty spec", submit(""), C::INVALID_ARGUMENT, "not valid JSON"},
      {"JSON array", submit("[1, 2]"), C::INVALID_ARGUMENT, "expected a JSON object"},
      {"missing name", submit(R"({"model": "mlp"})"), C::INVALID_ARGUMENT, "name: missing"},
      {"wrong type", submit(SpecWith("batch_size", "\"100\"")), C::INVALID_ARGUMENT, "batch_size: expected an integer"},
      {"unknown key", submit(SpecWith("colour", "1")), C::INVALID_ARGUMENT, "colour: unknown field"},
      {"unknown model", submit(SpecWith("model", "\"resnet999\"")), C::INVALID_ARGUMENT, "model: unknown model"},
      {"out of range", submit(SpecWith("optimizers", R"({"sgd": {"momentum": [2]}})")), C::INVALID_ARGUMENT, "optimizers.sgd.momentum[0]: 2 is outside"},
      {"number beyond double", submit(SpecWith("optimizers", R"({"sgd": {"lr": [1e999]}})")), C::INVALID_ARGUMENT, "not valid JSON"},
      {"NaN as a string", submit(SpecWith("optimizers", R"({"sgd": {"lr": ["NaN"]}})")), C::INVALID_ARGUMENT, "optimizers.sgd.lr[0]: expected a number, got string"},
      {"infinity as a string", submit(SpecWith("budget_seconds", "\"inf\"")), C::INVALID_ARGUMENT, "budget_seconds: expected a number"},
      {"empty grid list", submit(SpecWith("optimizers", R"({"sgd": {"lr": []}})")), C::INVALID_ARGUMENT, "empty list"},
      {"no optimizers", submit(SpecWith("optimizers", "{}")), C::INVALID_ARGUMENT, "at least one optimizer"},
      {"grid over the job limit", submit(SpecWith("seeds", "[" + seeds + "]")), C::RESOURCE_EXHAUSTED, "more than the limit of 1000"},
      {"huge name", submit(SpecWith("name", "\"" + std::string(5000, 'n') + "\"")), C::INVALID_ARGUMENT, "name: longer than 4096"},
      {"invalid UTF-8", submit(SpecWith("name", "\"bad \xff\xfe bytes\"")), C::INVALID_ARGUMENT, "not valid JSON"},
      {"spec over the byte limit", submit(SpecWith("name", "\"" + std::string(70000, 'n') + "\"")), C::INVALID_ARGUMENT, "more than the limit of 65536"},
      {"oversized message", submit(std::string(2 << 20, ' ')), C::RESOURCE_EXHAUSTED, ""},
      {"duplicate seeds", submit(SpecWith("seeds", "[3, 3]")), C::INVALID_ARGUMENT, "duplicate seed"},
      {"negative budget", submit(SpecWith("budget_seconds", "-1")), C::INVALID_ARGUMENT, "budget_seconds: must be a positive"},
      {"unknown sweep", sweep_call("get", 999), C::NOT_FOUND, "no sweep with id 999"},
      {"sweep id 0", sweep_call("get", 0), C::NOT_FOUND, "no sweep with id 0"},
      {"cancel unknown sweep", sweep_call("cancel", 42), C::NOT_FOUND, "no sweep with id 42"},
      {"retry unknown sweep", sweep_call("retry", 42), C::NOT_FOUND, "no sweep with id 42"},
      {"ranking of unknown sweep", sweep_call("rank", 7, "final_train_loss"), C::NOT_FOUND, "no sweep with id 7"},
      {"unknown metric", sweep_call("rank", 1, "accuracy"), C::INVALID_ARGUMENT, "unknown metric 'accuracy'"},
      {"lease without worker id",
       [](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
         v1::LeaseJobRequest r;
         v1::LeaseJobResponse out;
         return s->LeaseJob(c, r, &out);
       },
       C::INVALID_ARGUMENT, "worker_id is empty"},
      {"huge worker id",
       [](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
         v1::LeaseJobRequest r;
         r.set_worker_id(std::string(1000, 'w'));
         v1::LeaseJobResponse out;
         return s->LeaseJob(c, r, &out);
       },
       C::INVALID_ARGUMENT, "limited to 256"},
      {"report for unknown job", report(12345, lease, 1), C::NOT_FOUND, "no job with id 12345"},
      {"report without lease", report(job, "", 1), C::INVALID_ARGUMENT, "lease_id is empty"},
      {"report for someone else's lease", report(job, "0123456789abcdef0123456789abcdef", 1), C::FAILED_PRECONDITION, "stale lease"},
      {"too many points", report(job, lease, 1001), C::RESOURCE_EXHAUSTED, "more than the limit of 1000"},
      {"point with step 0", report(job, lease, 1, 0), C::INVALID_ARGUMENT, "points[0].step"},
      {"point with negative time", report(job, lease, 1, 1, -3), C::INVALID_ARGUMENT, "points[0].elapsed_seconds"},
      {"complete unknown job", complete(777, lease), C::NOT_FOUND, "no job with id 777"},
      {"complete with someone else's lease", complete(job, "feedfacefeedfacefeedfacefeedface"), C::FAILED_PRECONDITION, "was never given"},
      {"complete without lease", complete(job, ""), C::INVALID_ARGUMENT, "lease_id is empty"},
      {"fail with someone else's lease",
       [job](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
         v1::FailJobRequest r;
         r.set_job_id(job);
         r.set_lease_id("nope");
         r.set_error("x");
         v1::FailJobResponse out;
         return s->FailJob(c, r, &out);
       },
       C::FAILED_PRECONDITION, "stale lease"},
      {"release with someone else's lease",
       [job](v1::Coordinator::Stub* s, grpc::ClientContext* c) {
         v1::ReleaseJobRequest r;
         r.set_job_id(job);
         r.set_lease_id("nope");
         v1::ReleaseJobResponse out;
         return s->ReleaseJob(c, r, &out);
       },
       C::FAILED_PRECONDITION, "stale lease"},
  };
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    std::string before = Snapshot();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Status s = c.call(stub_.get(), &ctx);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(c.in_message), std::string::npos)
        << c.what << ": \"" << s.error_message() << "\" lacks \"" << c.in_message << "\"";
    EXPECT_TRUE(Snapshot() == before) << c.what << ": the database changed";
  }
  // The owner's lease still works after all that.
  grpc::ClientContext ctx;
  EXPECT_TRUE(report(job, lease, 1)(stub_.get(), &ctx).ok());
}

}  // namespace
}  // namespace gridsearch
