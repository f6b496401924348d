#include "worker/progress_reporter.h"

#include <algorithm>
#include <chrono>

#include <grpcpp/grpcpp.h>

#include "proto/convert.h"

namespace gridsearch {

ProgressReporter::ProgressReporter(CoordinatorClient* client, int64_t job_id,
                                   std::string lease_id, double lease_timeout_seconds)
    : client_(client),
      job_id_(job_id),
      lease_id_(std::move(lease_id)),
      heartbeat_seconds_(lease_timeout_seconds > 0 ? lease_timeout_seconds / 3 : 10) {
  thread_ = std::thread([this] { Loop(); });
}

ProgressReporter::~ProgressReporter() { Finish(); }

Status ProgressReporter::Add(const std::vector<CurvePoint>& points) {
  std::lock_guard<std::mutex> lock(mu_);
  if (lost_) return Status::Cancelled("lease lost: " + lost_reason_);
  queued_.insert(queued_.end(), points.begin(), points.end());
  cv_.notify_one();
  return Status::OK();
}

bool ProgressReporter::lease_lost(std::string* reason) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (reason != nullptr) *reason = lost_reason_;
  return lost_;
}

std::vector<CurvePoint> ProgressReporter::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<CurvePoint> rest = std::move(unacked_);
  rest.insert(rest.end(), queued_.begin(), queued_.end());
  queued_.clear();
  unacked_.clear();
  return rest;
}

void ProgressReporter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::duration<double>(heartbeat_seconds_),
                 [&] { return finishing_ || !queued_.empty(); });
    // What is left when the job ends goes with its completion instead.
    if (finishing_) return;
    unacked_.insert(unacked_.end(), queued_.begin(), queued_.end());
    queued_.clear();
    v1::ReportProgressRequest req;
    req.set_job_id(job_id_);
    req.set_lease_id(lease_id_);
    // A backlog (after an outage) goes in pieces under the coordinator's limit.
    const size_t sent = std::min(unacked_.size(), kMaxPointsPerRequest);
    for (size_t i = 0; i < sent; ++i) ToProto(unacked_[i], req.add_points());
    lock.unlock();
    v1::ReportProgressResponse resp;
    auto ctx = client_->Context();
    grpc::Status s = client_->stub()->ReportProgress(ctx.get(), req, &resp);
    lock.lock();
    if (s.ok()) {
      unacked_.erase(unacked_.begin(), unacked_.begin() + sent);
      // More of a backlog: the next piece goes at once.
      if (!unacked_.empty()) {
        queued_.insert(queued_.begin(), unacked_.begin(), unacked_.end());
        unacked_.clear();
      }
    } else if (!IsTransient(s)) {
      lost_ = true;
      lost_reason_ = s.error_message();
      return;
    }
    // A transient failure (unreachable, shutting down, disk full) keeps the
    // points for the next report.
  }
}

}  // namespace gridsearch
