#include "worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <grpcpp/grpcpp.h>

#include "common/text_escape.h"
#include "proto/convert.h"
#include "worker/program_runner.h"
#include "worker/progress_reporter.h"

namespace gridsearch {
namespace {

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown-host";
  return buf;
}

std::string FormatIdle(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", seconds);
  return buf;
}

}  // namespace

// "HH:MM:SS worker <id> <device>: <message>": with several workers writing
// to one log, every line says which one and on which device.
void Worker::Log(const char* fmt, const std::string& a, const std::string& b) const {
  std::time_t t = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s worker %s %s: ", ts, options_.worker_id.c_str(),
               trainer_->DeviceName().c_str());
  std::fprintf(stderr, fmt, a.c_str(), b.c_str());
  std::fprintf(stderr, "\n");
}

std::string DefaultWorkerId() { return Hostname() + "-" + std::to_string(getpid()); }

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
  client_ = std::make_unique<CoordinatorClient>(options_.coordinator, options_.rpc_timeout_seconds,
                                                options_.security);
  trainer_ = std::make_unique<Trainer>(options_.trainer);
  retry_.initial_seconds = options_.retry_initial_seconds;
  retry_.max_seconds = options_.retry_max_seconds;
  retry_.give_up_seconds = options_.retry_give_up_seconds;
}

Worker::~Worker() = default;

Status Worker::Run() {
  RemoveStaleJobFolders();
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  Log("leasing jobs from %s (%s)", options_.coordinator,
      std::string("CUDA_VISIBLE_DEVICES=") + (visible != nullptr ? visible : "unset"));
  auto idle_since = std::chrono::steady_clock::now();
  v1::LeaseJobResponse next;  // a job leased with the last completion
  while (!stop_.load()) {
    if (options_.max_jobs > 0 && jobs_done_ >= options_.max_jobs) break;
    v1::LeaseJobResponse resp;
    if (next.found()) {
      resp = std::move(next);  // leased with the last completion
      next.Clear();
    } else {
      const v1::LeaseJobRequest req = LeaseRequest();
      // With an idle limit, a coordinator that cannot be reached counts as no
      // job: a worker whose coordinator has finished and exited ends too.
      RetryPolicy retry = retry_;
      const double idle_so_far =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_since).count();
      if (options_.exit_when_idle_seconds > 0)
        retry.give_up_seconds = std::min(
            retry.give_up_seconds, std::max(0.0, options_.exit_when_idle_seconds - idle_so_far));
      Status s = client_->WithRetry(retry, &stop_, [&](grpc::ClientContext* ctx) {
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(
                              static_cast<int64_t>((options_.lease_wait_seconds + 10) * 1000)));
        resp.Clear();
        return client_->stub()->LeaseJob(ctx, req, &resp);
      });
      if (stop_.load()) break;
      if (!s.ok() && options_.exit_when_idle_seconds > 0 &&
          (s.code() == Status::kUnavailable || s.code() == Status::kDeadlineExceeded ||
           s.code() == Status::kCancelled)) {
        Log("no job for %s s (%s); exiting", FormatIdle(options_.exit_when_idle_seconds),
            s.ToString());
        break;
      }
      if (!s.ok()) return s.WithContext("leasing a job");
      if (!resp.found()) {
        double idle = std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_since).count();
        if (options_.exit_when_idle_seconds > 0 && idle >= options_.exit_when_idle_seconds) {
          Log("no job for %s s; exiting", FormatIdle(options_.exit_when_idle_seconds));
          break;
        }
        continue;
      }
    }
    Status job = RunJob(resp, &next);
    if (!job.ok()) Log("job %s: %s", std::to_string(resp.job().job_id()), job.ToString());
    ++jobs_done_;
    idle_since = std::chrono::steady_clock::now();
  }
  if (next.found()) {
    // Leased with the last completion as the worker began to stop: given
    // back untouched, its attempt not counted.
    v1::ReleaseJobRequest req;
    req.set_job_id(next.job().job_id());
    req.set_lease_id(next.lease_id());
    v1::ReleaseJobResponse resp;
    auto ctx = client_->Context();
    Status s = FromGrpc(client_->stub()->ReleaseJob(ctx.get(), req, &resp));
    if (!s.ok()) Log("handing back job %s: %s", std::to_string(next.job().job_id()), s.ToString());
  }
  return Status::OK();
}

v1::LeaseJobRequest Worker::LeaseRequest() const {
  v1::LeaseJobRequest req;
  req.set_worker_id(options_.worker_id);
  req.set_hostname(Hostname());
  req.set_device(trainer_->DeviceName());
  req.set_software(Trainer::SoftwareVersion());
  req.set_wait_seconds(options_.lease_wait_seconds);
  return req;
}

Status Worker::RunJob(const v1::LeaseJobResponse& lease, v1::LeaseJobResponse* next) {
  const JobSpec job = FromProto(lease.job());
  const std::string lease_id = lease.lease_id();
  ProgressReporter reporter(client_.get(), job.job_id, lease_id, lease.lease_timeout_seconds());
  CurveSink sink = [&](const std::vector<CurvePoint>& points) -> Status {
    // A program is stopped through its runner's stop check instead, so
    // that a result already in is completed, not handed back.
    if (stop_.load() && !job.program.present()) return Status::Cancelled("worker stopped");
    return reporter.Add(points);
  };

  JobResult result;
  Status trained;
  if (job.program.present()) {
    // The user's program trains it, under the same budget and stop rules.
    ProgramRunnerOptions po;
    po.device = options_.trainer.device;
    po.device_name = trainer_->DeviceName();
    po.threads = options_.trainer.threads;
    po.silence_limit_seconds =
        lease.lease_timeout_seconds() > 0 ? lease.lease_timeout_seconds() : 60;
    po.flush_interval_seconds = options_.trainer.flush_interval_seconds;
    const std::string job_label = "job " + std::to_string(job.job_id) + " |";
    po.output = [&](const std::string& line) { Log("%s %s", job_label, line); };
    std::string command;
    for (size_t i = 0; i < job.program.command.size() && i < 4; ++i)
      command += (i ? " " : "") + job.program.command[i];
    Log("job %s: running %s", std::to_string(job.job_id),
        command + " (" + job.optimizer + " " + job.params_json + ", seed " +
            std::to_string(job.seed) + ")");
    ProgramRunner runner(std::move(po));
    // A lost lease (expired and leased again, or the sweep cancelled) stops
    // the program too, even while it reports nothing (setup, evaluation).
    trained = runner.Run(
        job, sink, [&] { return stop_.load() || reporter.lease_lost(nullptr); }, &result);
  } else {
    trained = trainer_->Run(job, sink, &result);
    result.device = trainer_->DeviceName();
    result.software = Trainer::SoftwareVersion();
  }
  std::vector<CurvePoint> unsent = reporter.Finish();
  std::string lost_reason;
  if (reporter.lease_lost(&lost_reason)) {
    Log("job %s abandoned: %s", std::to_string(job.job_id), lost_reason);
    return Status::OK();
  }
  if (!trained.ok() && stop_.load()) {
    // Shutting down: hand the job back unfinished; the attempt is not counted.
    v1::ReleaseJobRequest req;
    req.set_job_id(job.job_id);
    req.set_lease_id(lease_id);
    v1::ReleaseJobResponse resp;
    auto ctx = client_->Context();
    Status s = FromGrpc(client_->stub()->ReleaseJob(ctx.get(), req, &resp));
    if (s.ok())
      Log("job %s handed back: %s", std::to_string(job.job_id), "worker stopping");
    else
      Log("handing back job %s: %s", std::to_string(job.job_id), s.ToString());
    return Status::OK();
  }
  if (!trained.ok()) {
    v1::FailJobRequest req;
    req.set_job_id(job.job_id);
    req.set_lease_id(lease_id);
    req.set_error(ToValidUtf8(trained.ToString()));  // a proto string must be UTF-8
    v1::FailJobResponse resp;
    std::atomic<bool> never{false};
    Status s = client_->WithRetry(retry_, &never, [&](grpc::ClientContext* ctx) {
      return client_->stub()->FailJob(ctx, req, &resp);
    });
    if (!s.ok()) Log("reporting failure of job %s: %s", std::to_string(job.job_id), s.ToString());
    return trained;
  }
  // A backlog longer than one request's limit goes ahead as reports; the
  // completion carries the last piece.
  std::atomic<bool> never{false};
  // (Up to kMaxPointsPerCompletion go with the completion itself, which a
  // late attempt can still land, unlike a report.)
  while (unsent.size() > kMaxPointsPerCompletion) {
    v1::ReportProgressRequest report;
    report.set_job_id(job.job_id);
    report.set_lease_id(lease_id);
    for (size_t i = 0; i < kMaxPointsPerRequest; ++i) ToProto(unsent[i], report.add_points());
    v1::ReportProgressResponse ack;
    Status s = client_->WithRetry(retry_, &never, [&](grpc::ClientContext* ctx) {
      return client_->stub()->ReportProgress(ctx, report, &ack);
    });
    if (!s.ok()) return s.WithContext("reporting the last points of job " + std::to_string(job.job_id));
    unsent.erase(unsent.begin(), unsent.begin() + kMaxPointsPerRequest);
  }
  v1::CompleteJobRequest req;
  req.set_job_id(job.job_id);
  req.set_lease_id(lease_id);
  ToProto(result, req.mutable_metrics());
  for (const auto& p : unsent) ToProto(p, req.add_points());
  // The completion leases the next job in the same round trip, unless this
  // was the last job or the worker is stopping (or the coordinator predates
  // CompleteAndLease).
  const bool last = options_.max_jobs > 0 && jobs_done_ + 1 >= options_.max_jobs;
  if (complete_and_lease_ && !last && !stop_.load()) {
    v1::CompleteAndLeaseRequest both;
    *both.mutable_complete() = req;
    *both.mutable_lease() = LeaseRequest();
    Status s = client_->WithRetry(retry_, &never, [&](grpc::ClientContext* ctx) {
      next->Clear();
      return client_->stub()->CompleteAndLease(ctx, both, next);
    });
    if (s.code() != Status::kUnimplemented)
      return s.WithContext("completing job " + std::to_string(job.job_id));
    complete_and_lease_ = false;
    next->Clear();
  }
  v1::CompleteJobResponse resp;
  Status s = client_->WithRetry(retry_, &never, [&](grpc::ClientContext* ctx) {
    return client_->stub()->CompleteJob(ctx, req, &resp);
  });
  return s.WithContext("completing job " + std::to_string(job.job_id));
}

}  // namespace gridsearch
