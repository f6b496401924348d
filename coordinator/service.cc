#include "coordinator/service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <future>

#include <grpcpp/grpcpp.h>

#include "proto/convert.h"

namespace gridsearch {
namespace {

// Compares without an early exit, so the time taken does not tell how much
// of a guessed token was right.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

void FillSummary(const SweepSummary& s, v1::SweepStatus* out) {
  out->set_sweep_id(s.id);
  out->set_name(s.name);
  out->set_state(s.state);
  out->set_total(s.total);
  out->set_queued(s.queued);
  out->set_leased(s.leased);
  out->set_done(s.done);
  out->set_failed(s.failed);
  out->set_diverged(s.diverged);
  out->set_cancelled(s.cancelled);
  out->set_created_at(s.created_at);
  out->set_elapsed_seconds(s.elapsed_seconds);
  out->set_jobs_per_minute(s.jobs_per_minute);
  out->set_eta_seconds(s.eta_seconds);
  out->set_budget_seconds(s.budget_seconds);
  out->set_active_workers(s.active_workers);
  out->set_model(s.model);
  out->set_dataset(s.dataset);
}

using Done = std::function<void(const grpc::Status&)>;

WorkerInfo Worker(const v1::LeaseJobRequest& req) {
  return WorkerInfo{req.worker_id(), req.hostname(), req.device(), req.software()};
}

// A lease's long-poll: never past the caller's own deadline, which could
// not receive the job.
double Wait(const grpc::ServerContextBase* ctx, const v1::LeaseJobRequest& req) {
  double wait = req.wait_seconds();
  if (!std::isfinite(wait) || wait < 0) wait = 0;
  auto remaining = ctx->deadline() - std::chrono::system_clock::now();
  double client_left = std::chrono::duration<double>(remaining).count() - 1.0;
  if (client_left < wait) wait = std::max(0.0, client_left);
  return wait;
}

// The answer to a lease (LeaseJob, CompleteAndLease): its error, or the
// job (if any) in `resp`.
LeaseCallback AnswerLease(v1::LeaseJobResponse* resp, Done done) {
  return [resp, done = std::move(done)](LeaseReply r) {
    if (!r.status.ok()) return done(ToGrpc(r.status));
    resp->set_found(r.has_job);
    if (r.has_job) {
      ToProto(r.leased.job, resp->mutable_job());
      resp->set_lease_id(r.leased.lease_id);
      resp->set_lease_timeout_seconds(r.leased.lease_timeout_seconds);
    }
    done(grpc::Status::OK);
  };
}

// The workers' calls, transport aside: each validates its request, starts
// the store's write and, once it is committed, fills the response and calls
// `done` (on the store's answer thread, or at once for a refused request).

void StartLeaseJob(JobStore* store, double wait, const v1::LeaseJobRequest& req,
                   v1::LeaseJobResponse* resp, Done done) {
  store->LeaseJobAsync(Worker(req), wait, AnswerLease(resp, std::move(done)));
}

void StartReportProgress(JobStore* store, const v1::ReportProgressRequest& req,
                         v1::ReportProgressResponse* resp, Done done) {
  const double timeout = store->options().lease_timeout_seconds;
  store->ReportProgressAsync(req.job_id(), req.lease_id(), PointsFromProto(req.points()),
                             [resp, timeout, done = std::move(done)](const Status& s) {
                               if (!s.ok()) return done(ToGrpc(s));
                               resp->set_lease_timeout_seconds(timeout);
                               done(grpc::Status::OK);
                             });
}

void StartCompleteJob(JobStore* store, const v1::CompleteJobRequest& req, Done done) {
  store->CompleteJobAsync(req.job_id(), req.lease_id(), FromProto(req.metrics()),
                          PointsFromProto(req.points()),
                          [done = std::move(done)](const Status& s) { done(ToGrpc(s)); });
}

void StartCompleteAndLease(JobStore* store, const v1::CompleteAndLeaseRequest& req,
                           v1::LeaseJobResponse* resp, Done done) {
  const v1::CompleteJobRequest& c = req.complete();
  store->CompleteAndLeaseAsync(c.job_id(), c.lease_id(), FromProto(c.metrics()),
                               PointsFromProto(c.points()), Worker(req.lease()),
                               AnswerLease(resp, std::move(done)));
}

// Waits for a started call's answer.
grpc::Status Blocking(const std::function<void(Done)>& start) {
  std::promise<grpc::Status> answer;
  std::future<grpc::Status> status = answer.get_future();
  start([&answer](const grpc::Status& s) { answer.set_value(s); });
  return status.get();
}

}  // namespace

// Refuses the call unless it carries the coordinator's token.
#define GS_AUTHORIZE(ctx, method)                          \
  do {                                                     \
    grpc::Status _auth = Authorize(ctx, method);           \
    if (!_auth.ok()) return _auth;                         \
  } while (0)

// Each handler checks the caller's token, validates its request, calls the
// store and maps its Status.
// Every method blocking; the served class below takes the workers' calls
// onto the callback API.
class CoordinatorServiceImpl : public v1::Coordinator::Service {
 public:
  // (Default-constructible, as gRPC's callback wrappers need.)
  void Init(JobStore* store, const std::string& token) {
    store_ = store;
    expected_ = "Bearer " + token;
    check_ = !token.empty();
  }

  grpc::Status Authorize(const grpc::ServerContextBase* ctx, const char* method) {
    if (!check_) return grpc::Status::OK;
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    std::string given = it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
    if (ConstantTimeEquals(given, expected_)) return grpc::Status::OK;
    // Never log the presented value: it may be a near-miss of the real token.
    std::fprintf(stderr, "coordinator: refused %s from %s: %s token\n", method, ctx->peer().c_str(),
                 given.empty() ? "missing" : "wrong");
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this coordinator needs a token: give the client --token-file or "
                        "GRIDSEARCH_TOKEN (sent as 'authorization: Bearer <token>')");
  }

  grpc::Status SubmitSweep(grpc::ServerContext* ctx, const v1::SubmitSweepRequest* req,
                           v1::SubmitSweepResponse* resp) override {
    GS_AUTHORIZE(ctx, "SubmitSweep");
    int64_t id = 0, total = 0, configs = 0;
    Status s = store_->SubmitSweep(req->spec_json(), &id, &total, &configs);
    if (!s.ok()) return ToGrpc(s);
    resp->set_sweep_id(id);
    resp->set_total_jobs(total);
    resp->set_configurations(configs);
    return grpc::Status::OK;
  }

  grpc::Status GetSweep(grpc::ServerContext* ctx, const v1::GetSweepRequest* req,
                        v1::SweepStatus* resp) override {
    GS_AUTHORIZE(ctx, "GetSweep");
    SweepSummary s;
    Status st = store_->GetSweep(req->sweep_id(), &s);
    if (!st.ok()) return ToGrpc(st);
    FillSummary(s, resp);
    return grpc::Status::OK;
  }

  grpc::Status ListSweeps(grpc::ServerContext* ctx, const v1::ListSweepsRequest*,
                          v1::ListSweepsResponse* resp) override {
    GS_AUTHORIZE(ctx, "ListSweeps");
    std::vector<SweepSummary> sweeps;
    Status st = store_->ListSweeps(&sweeps);
    if (!st.ok()) return ToGrpc(st);
    for (const auto& s : sweeps) FillSummary(s, resp->add_sweeps());
    return grpc::Status::OK;
  }

  grpc::Status CancelSweep(grpc::ServerContext* ctx, const v1::CancelSweepRequest* req,
                           v1::CancelSweepResponse* resp) override {
    GS_AUTHORIZE(ctx, "CancelSweep");
    int64_t n = 0;
    Status st = store_->CancelSweep(req->sweep_id(), &n);
    if (!st.ok()) return ToGrpc(st);
    resp->set_cancelled_jobs(n);
    return grpc::Status::OK;
  }

  grpc::Status LeaseJob(grpc::ServerContext* ctx, const v1::LeaseJobRequest* req,
                        v1::LeaseJobResponse* resp) override {
    GS_AUTHORIZE(ctx, "LeaseJob");
    return Blocking([&](Done done) { StartLeaseJob(store_, Wait(ctx, *req), *req, resp, done); });
  }

  grpc::Status CompleteAndLease(grpc::ServerContext* ctx, const v1::CompleteAndLeaseRequest* req,
                                v1::LeaseJobResponse* resp) override {
    GS_AUTHORIZE(ctx, "CompleteAndLease");
    return Blocking([&](Done done) { StartCompleteAndLease(store_, *req, resp, done); });
  }

  grpc::Status ReportProgress(grpc::ServerContext* ctx, const v1::ReportProgressRequest* req,
                              v1::ReportProgressResponse* resp) override {
    GS_AUTHORIZE(ctx, "ReportProgress");
    return Blocking([&](Done done) { StartReportProgress(store_, *req, resp, done); });
  }

  grpc::Status CompleteJob(grpc::ServerContext* ctx, const v1::CompleteJobRequest* req,
                           v1::CompleteJobResponse*) override {
    GS_AUTHORIZE(ctx, "CompleteJob");
    return Blocking([&](Done done) { StartCompleteJob(store_, *req, done); });
  }

  grpc::Status FailJob(grpc::ServerContext* ctx, const v1::FailJobRequest* req,
                       v1::FailJobResponse* resp) override {
    GS_AUTHORIZE(ctx, "FailJob");
    bool retry = false;
    Status st = store_->FailJob(req->job_id(), req->lease_id(), req->error(), &retry);
    if (!st.ok()) return ToGrpc(st);
    resp->set_will_retry(retry);
    return grpc::Status::OK;
  }

  grpc::Status QueryRanking(grpc::ServerContext* ctx, const v1::QueryRankingRequest* req,
                            v1::QueryRankingResponse* resp) override {
    GS_AUTHORIZE(ctx, "QueryRanking");
    std::string metric = req->metric().empty() ? "final_train_loss" : req->metric();
    std::vector<RankedConfigRow> rows;
    Status st = store_->QueryRanking(req->sweep_id(), metric, &rows);
    if (!st.ok()) return ToGrpc(st);
    resp->set_metric(metric);
    for (const auto& r : rows) {
      v1::RankedConfig* c = resp->add_configs();
      c->set_rank(r.rank);
      c->set_config_id(r.config_id);
      c->set_optimizer(r.optimizer);
      c->set_params_json(r.params_json);
      c->set_mean_final_train_loss(r.mean_final_train_loss);
      c->set_mean_log_loss_integral(r.mean_log_loss_integral);
      c->set_mean_test_accuracy(r.mean_test_accuracy);
      c->set_mean_epochs(r.mean_epochs);
      c->set_seeds_done(r.seeds_done);
      c->set_seeds_total(r.seeds_total);
      c->set_diverged(r.diverged);
      c->set_failed(r.failed);
      c->set_incomplete(r.incomplete);
    }
    return grpc::Status::OK;
  }

  grpc::Status ReleaseJob(grpc::ServerContext* ctx, const v1::ReleaseJobRequest* req,
                          v1::ReleaseJobResponse*) override {
    GS_AUTHORIZE(ctx, "ReleaseJob");
    return ToGrpc(store_->ReleaseJob(req->job_id(), req->lease_id()));
  }

  grpc::Status RetrySweep(grpc::ServerContext* ctx, const v1::RetrySweepRequest* req,
                          v1::RetrySweepResponse* resp) override {
    GS_AUTHORIZE(ctx, "RetrySweep");
    int64_t n = 0;
    Status st = store_->RetrySweep(req->sweep_id(), &n);
    if (!st.ok()) return ToGrpc(st);
    resp->set_requeued_jobs(n);
    return grpc::Status::OK;
  }

  grpc::Status QueryTable(grpc::ServerContext* ctx, const v1::QueryTableRequest* req,
                          v1::QueryTableResponse* resp) override {
    GS_AUTHORIZE(ctx, "QueryTable");
    TableRequest t;
    t.kind = req->kind().empty() ? "results" : req->kind();
    t.sweep_id = req->sweep_id();
    if (!req->metric().empty()) t.metric = req->metric();
    if (!req->format().empty()) t.format = req->format();
    t.top = req->top() < 0 ? 0 : static_cast<size_t>(req->top());
    t.split = req->split();
    t.config_ids.assign(req->config_ids().begin(), req->config_ids().end());
    if (req->bins() > 0) t.bins = req->bins();
    t.raw = req->raw();
    if (!req->column().empty()) t.column = req->column();
    std::string text;
    Status st = store_->RenderTable(t, &text);
    if (!st.ok()) return ToGrpc(st);
    resp->set_text(text);
    return grpc::Status::OK;
  }

 protected:
  JobStore* store_ = nullptr;
  std::string expected_;
  bool check_ = false;
};

// The served service: the workers' calls on gRPC's callback API, so that a
// call waiting for its commit, or a long-poll waiting for a job, holds no
// thread (thousands of workers are thousands of such calls); the others on
// the synchronous API's threads (a table can take a while to compute).
using WorkerCallsOnCallbacks = v1::Coordinator::WithCallbackMethod_LeaseJob<
    v1::Coordinator::WithCallbackMethod_ReportProgress<v1::Coordinator::WithCallbackMethod_CompleteJob<
        v1::Coordinator::WithCallbackMethod_CompleteAndLease<CoordinatorServiceImpl>>>>;

class CallbackCoordinatorService final : public WorkerCallsOnCallbacks {
 public:
  grpc::ServerUnaryReactor* LeaseJob(grpc::CallbackServerContext* ctx,
                                     const v1::LeaseJobRequest* req,
                                     v1::LeaseJobResponse* resp) override {
    return Serve(ctx, "LeaseJob",
                 [&](Done done) { StartLeaseJob(store_, Wait(ctx, *req), *req, resp, done); });
  }

  grpc::ServerUnaryReactor* ReportProgress(grpc::CallbackServerContext* ctx,
                                           const v1::ReportProgressRequest* req,
                                           v1::ReportProgressResponse* resp) override {
    return Serve(ctx, "ReportProgress",
                 [&](Done done) { StartReportProgress(store_, *req, resp, done); });
  }

  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* ctx,
                                        const v1::CompleteJobRequest* req,
                                        v1::CompleteJobResponse*) override {
    return Serve(ctx, "CompleteJob", [&](Done done) { StartCompleteJob(store_, *req, done); });
  }

  grpc::ServerUnaryReactor* CompleteAndLease(grpc::CallbackServerContext* ctx,
                                             const v1::CompleteAndLeaseRequest* req,
                                             v1::LeaseJobResponse* resp) override {
    return Serve(ctx, "CompleteAndLease",
                 [&](Done done) { StartCompleteAndLease(store_, *req, resp, done); });
  }

 private:
  // Checks the token, then starts the call; its answer finishes the RPC.
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const char* method,
                                  const std::function<void(Done)>& start) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    grpc::Status auth = Authorize(ctx, method);
    if (!auth.ok()) reactor->Finish(auth);
    else start([reactor](const grpc::Status& s) { reactor->Finish(s); });
    return reactor;
  }
};

std::unique_ptr<grpc::Service> MakeCoordinatorService(JobStore* store, const std::string& token) {
  auto service = std::make_unique<CallbackCoordinatorService>();
  service->Init(store, token);
  return service;
}

std::unique_ptr<v1::Coordinator::Service> MakeBlockingCoordinatorService(JobStore* store,
                                                                        const std::string& token) {
  auto service = std::make_unique<CoordinatorServiceImpl>();
  service->Init(store, token);
  return service;
}

}  // namespace gridsearch
