// CoordinatorServer: the gRPC front of a JobStore. Owns the store, the gRPC
// server (with the standard health service) and the lease reaper thread.
#ifndef GRIDSEARCH_COORDINATOR_SERVER_H_
#define GRIDSEARCH_COORDINATOR_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "coordinator/clock.h"
#include "coordinator/job_store.h"
#include "coordinator/options.h"

namespace grpc {
class Server;
class Service;
}

namespace gridsearch {

class CoordinatorMetrics;
class HttpServer;

class CoordinatorServer {
 public:
  // Opens the store and starts serving on options.listen. `clock` may be
  // nullptr (system clock).
  static Status Start(const CoordinatorOptions& options, Clock* clock,
                      std::unique_ptr<CoordinatorServer>* server);
  ~CoordinatorServer();

  // "host:port" actually bound (useful with port 0).
  const std::string& address() const { return address_; }
  int port() const { return port_; }
  JobStore* store() { return store_.get(); }
  // The dashboard's URL ("http://127.0.0.1:8080/"); empty without --http.
  std::string http_url() const;

  // Blocks until Shutdown is called from another thread or a signal handler's
  // helper.
  void Wait();
  // Stops accepting RPCs, lets in-flight ones finish, stops the store.
  void Shutdown();

 private:
  CoordinatorServer() = default;
  void ReaperLoop();

  CoordinatorOptions options_;
  std::unique_ptr<CoordinatorMetrics> metrics_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  int port_ = 0;
  std::thread reaper_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> shut_down_{false};
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_SERVER_H_
