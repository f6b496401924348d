// The workers' calls on gRPC's callback API, against a real coordinator over
// loopback: a thousand long-polls wait without a thread each, jobs go to the
// earliest callers first, a graceful shutdown answers the rest at once, and a
// refused token or request is still answered with its error.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "coordinator/server.h"
#include "proto/gridsearch.grpc.pb.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

const char* kSpec = R"({"name": "polls", "model": "logreg", "dataset": "synthetic",
  "batch_size": 10, "budget_seconds": 1, "seeds": [1, 2, 3, 4, 5],
  "optimizers": {"sgd": {"lr": [0.1, 0.01]}}})";

int ThreadsOfThisProcess() {
  int n = 0;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir("/proc/self/task"), closedir);
  while (dirent* e = readdir(d.get()))
    if (e->d_name[0] != '.') ++n;
  return n;
}

std::chrono::system_clock::time_point In(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

struct Poll {
  int index = 0;
  grpc::ClientContext ctx;
  grpc::Status status;
  v1::LeaseJobResponse response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::LeaseJobResponse>> reader;
};

class WorkerCallsTest : public ::testing::Test {
 protected:
  void Start(const std::string& token = "") {
    CoordinatorOptions o;
    o.db_path = dir_.File("calls.db");
    o.listen = "127.0.0.1:0";
    o.lease_timeout_seconds = 600;
    o.max_lease_wait_seconds = 60;
    o.token = token;
    ASSERT_TRUE(CoordinatorServer::Start(o, nullptr, &server_).ok());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Coordinator::NewStub(channel_);
  }

  // Starts a long-poll of `wait` seconds for worker "w<index>".
  Poll* StartPoll(int index, double wait, grpc::CompletionQueue* cq) {
    auto* p = new Poll();
    p->index = index;
    p->ctx.set_deadline(In(wait + 30));
    v1::LeaseJobRequest req;
    req.set_worker_id("w" + std::to_string(index));
    req.set_wait_seconds(wait);
    p->reader = stub_->AsyncLeaseJob(&p->ctx, req, cq);
    p->reader->Finish(&p->response, &p->status, p);
    return p;
  }

  // The next answered poll, or nullptr after `seconds`.
  static std::unique_ptr<Poll> Next(grpc::CompletionQueue* cq, double seconds) {
    void* tag = nullptr;
    bool ok = false;
    if (cq->AsyncNext(&tag, &ok, In(seconds)) != grpc::CompletionQueue::GOT_EVENT) return nullptr;
    return std::unique_ptr<Poll>(static_cast<Poll*>(tag));
  }

  testing::TempDir dir_;
  std::unique_ptr<CoordinatorServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(WorkerCallsTest, AThousandLongPollsWaitWithoutAThreadEachAndAreServedInOrder) {
  Start();
  ASSERT_TRUE(channel_->WaitForConnected(In(10)));
  const int threads_before = ThreadsOfThisProcess();
  constexpr int kPolls = 1000;
  grpc::CompletionQueue cq;
  for (int i = 0; i < kPolls; ++i) {
    StartPoll(i, 30, &cq);
    // Spaced a little, so that they reach the coordinator in this order.
    if (i < 20) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // All of them reach the coordinator and wait there.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Next(&cq, 0.1), nullptr) << "a long-poll came back before any job existed";
  const int threads_waiting = ThreadsOfThisProcess();
  // The client and the server share this process: a thread per waiting call
  // would be a thousand more.
  EXPECT_LT(threads_waiting - threads_before, 50)
      << threads_before << " threads before, " << threads_waiting << " with the polls waiting";

  int64_t id = 0, total = 0, configs = 0;
  ASSERT_TRUE(server_->store()->SubmitSweep(kSpec, &id, &total, &configs).ok());
  ASSERT_EQ(total, 10);
  std::vector<int> served;
  for (int i = 0; i < 10; ++i) {
    std::unique_ptr<Poll> p = Next(&cq, 10);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->status.ok()) << p->status.error_message();
    ASSERT_TRUE(p->response.found());
    served.push_back(p->index);
  }
  std::sort(served.begin(), served.end());
  // The first twenty went in order, 20 ms apart: the ten jobs went to the
  // first ten callers.
  EXPECT_EQ(served, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

  // A graceful shutdown answers the 990 still waiting, at once, with no job.
  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->Shutdown(); });
  int answered = 0;
  while (answered < kPolls - 10) {
    std::unique_ptr<Poll> p = Next(&cq, 10);
    ASSERT_NE(p, nullptr) << answered << " answered";
    EXPECT_TRUE(p->status.ok()) << p->status.error_message();
    EXPECT_FALSE(p->response.found());
    ++answered;
  }
  stopper.join();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  EXPECT_FALSE(cq.Next(&tag, &ok));
}

TEST_F(WorkerCallsTest, RefusedCallsAreAnsweredWithTheirError) {
  Start("sekrit");
  grpc::CompletionQueue cq;
  Poll* p = StartPoll(1, 5, &cq);  // no token
  std::unique_ptr<Poll> answer = Next(&cq, 10);
  ASSERT_EQ(answer.get(), p);
  EXPECT_EQ(answer->status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer sekrit");
  v1::ReportProgressRequest req;
  req.set_job_id(1);
  req.set_lease_id("nope");
  req.add_points()->set_step(0);
  v1::ReportProgressResponse resp;
  grpc::Status s = stub_->ReportProgress(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("step"), std::string::npos) << s.error_message();

  grpc::ClientContext ctx2;
  ctx2.AddMetadata("authorization", "Bearer sekrit");
  v1::CompleteAndLeaseRequest both;
  both.mutable_complete()->set_job_id(1);
  both.mutable_complete()->set_lease_id("nope");
  both.mutable_lease()->set_worker_id("w");
  v1::LeaseJobResponse next;
  s = stub_->CompleteAndLease(&ctx2, both, &next);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

}  // namespace
}  // namespace gridsearch
