// A gRPC server interceptor that times every call and records it in
// CoordinatorMetrics (latency per method, errors per method and code).
#ifndef GRIDSEARCH_COORDINATOR_RPC_METRICS_H_
#define GRIDSEARCH_COORDINATOR_RPC_METRICS_H_

#include <memory>

#include <grpcpp/support/server_interceptor.h>

namespace gridsearch {

class CoordinatorMetrics;

// `metrics` (not owned) outlives the server the factory is given to.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeRpcMetricsInterceptor(
    CoordinatorMetrics* metrics);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_RPC_METRICS_H_
