#include "coordinator/rpc_metrics.h"

#include <chrono>
#include <string>

#include <grpcpp/grpcpp.h>

#include "coordinator/metrics.h"

namespace gridsearch {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RpcTimer : public grpc::experimental::Interceptor {
 public:
  RpcTimer(grpc::experimental::ServerRpcInfo* info, CoordinatorMetrics* metrics)
      : metrics_(metrics), start_(std::chrono::steady_clock::now()) {
    // "/gridsearch.v1.Coordinator/LeaseJob" -> "LeaseJob"
    const std::string full = info->method() == nullptr ? "" : info->method();
    method_ = full.substr(full.rfind('/') + 1);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      metrics_->ObserveRpc(method_, seconds, static_cast<int>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  CoordinatorMetrics* const metrics_;
  const std::chrono::steady_clock::time_point start_;
  std::string method_;
};

class RpcTimerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcTimerFactory(CoordinatorMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcTimer(info, metrics_);
  }

 private:
  CoordinatorMetrics* const metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsInterceptor(
    CoordinatorMetrics* metrics) {
  return std::make_unique<RpcTimerFactory>(metrics);
}

}  // namespace gridsearch
