#include "worker/client.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "proto/convert.h"

namespace gridsearch {

CoordinatorClient::CoordinatorClient(const std::string& address, double rpc_timeout_seconds,
                                     ClientSecurity security)
    : address_(address), rpc_timeout_seconds_(rpc_timeout_seconds) {
  if (!security.token.empty()) authorization_ = "Bearer " + security.token;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // Reconnect quickly once a restarted coordinator is back.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!security.tls_ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(address, credentials, args);
  stub_ = v1::Coordinator::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> CoordinatorClient::Context(double seconds) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  double s = seconds > 0 ? seconds : rpc_timeout_seconds_;
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
  if (!authorization_.empty()) ctx->AddMetadata("authorization", authorization_);
  return ctx;
}

bool CoordinatorClient::WaitForConnected(double seconds) {
  auto deadline = std::chrono::system_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  return channel_->WaitForConnected(deadline);
}

bool IsTransient(const grpc::Status& s) {
  // CANCELLED: a coordinator shutting down ends the calls in flight.
  // RESOURCE_EXHAUSTED: its disk is full; it takes writes again once space
  // is freed (a worker never sends more than a report's limit of points).
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

Status CoordinatorClient::WithRetry(const RetryPolicy& policy, const std::atomic<bool>* stop,
                                    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  auto start = std::chrono::steady_clock::now();
  double backoff = policy.initial_seconds;
  while (true) {
    auto ctx = Context();
    grpc::Status s = call(ctx.get());
    if (s.ok()) return Status::OK();
    if (!IsTransient(s)) return FromGrpc(s);
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > policy.give_up_seconds || (stop != nullptr && stop->load()))
      return FromGrpc(s).WithContext("coordinator " + address_ + " unreachable");
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2, policy.max_seconds);
  }
}

}  // namespace gridsearch
