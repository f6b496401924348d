// CoordinatorClient: a worker's or CLI's connection to the coordinator. Owns
// the stub; each call returns a gridsearch::Status a caller can act on.
// Calls that reach no coordinator are retried with capped exponential
// backoff when `retry` is set.
//
// Thread-safe (gRPC stubs are).
#ifndef GRIDSEARCH_WORKER_CLIENT_H_
#define GRIDSEARCH_WORKER_CLIENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "proto/gridsearch.grpc.pb.h"

namespace gridsearch {

// How a client proves itself and checks the coordinator.
struct ClientSecurity {
  std::string token;        // sent as "authorization: Bearer <token>" when set
  std::string tls_ca_pem;   // PEM of the CA that signed the coordinator's certificate; set: TLS
};

struct RetryPolicy {
  double initial_seconds = 0.2;
  double max_seconds = 10;
  double give_up_seconds = 3600;
};

// At most this many curve points go in one request (the coordinator's
// default limit is 100,000): a backlog is sent in pieces.
constexpr size_t kMaxPointsPerRequest = 10000;
// A completion carries up to this many (a backlog beyond goes ahead as
// reports of kMaxPointsPerRequest).
constexpr size_t kMaxPointsPerCompletion = 90000;

// Whether a failed call is worth repeating: the coordinator is unreachable
// or shutting down (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED), or its disk
// is full (RESOURCE_EXHAUSTED).
bool IsTransient(const grpc::Status& s);

class CoordinatorClient {
 public:
  CoordinatorClient(const std::string& address, double rpc_timeout_seconds,
                    ClientSecurity security = ClientSecurity());

  v1::Coordinator::Stub* stub() { return stub_.get(); }

  // Runs `call` until it succeeds, fails with an error that is not
  // IsTransient, `stop` becomes true, or the policy gives up.
  Status WithRetry(const RetryPolicy& policy, const std::atomic<bool>* stop,
                   const std::function<grpc::Status(grpc::ClientContext*)>& call);

  // A context with this client's deadline (or `seconds` when positive).
  std::unique_ptr<grpc::ClientContext> Context(double seconds = 0) const;

  // Waits until the channel is connected or `seconds` pass.
  bool WaitForConnected(double seconds);

  const std::string& address() const { return address_; }

 private:
  std::string address_;
  double rpc_timeout_seconds_;
  std::string authorization_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_CLIENT_H_
