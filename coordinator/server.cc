#include "coordinator/server.h"

#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "coordinator/http_server.h"
#include "coordinator/listen_address.h"
#include "coordinator/metrics.h"
#include "coordinator/rpc_metrics.h"
#include "coordinator/service.h"
#include "proto/convert.h"
#include "proto/gridsearch.grpc.pb.h"

namespace gridsearch {

namespace {

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << text;
    if (!f) return Status::IOError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::IOError("cannot write " + path);
  return Status::OK();
}

}  // namespace

std::string CoordinatorServer::http_url() const { return http_ ? http_->url() : std::string(); }

Status CoordinatorServer::Start(const CoordinatorOptions& options, Clock* clock,
                                std::unique_ptr<CoordinatorServer>* out) {
  if (!IsLoopbackListen(options.listen) && options.token.empty() && !options.insecure)
    return Status::FailedPrecondition(
        "refusing to listen on " + options.listen +
        " without a token: anyone who reaches it could submit or cancel sweeps. Give "
        "--token-file (and --tls-cert/--tls-key), or --insecure to accept the risk");
  if (!options.http_listen.empty() && !IsLoopbackListen(options.http_listen) &&
      options.token.empty() && !options.insecure)
    return Status::FailedPrecondition(
        "refusing to serve the dashboard on " + options.http_listen +
        " without a token: anyone who reaches it could read results or cancel sweeps. Give "
        "--token-file (and --tls-cert/--tls-key), or --insecure to accept the risk");
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty())
    return Status::InvalidArgument("TLS needs both a certificate and a key");
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  s->options_ = options;
  s->metrics_ = std::make_unique<CoordinatorMetrics>();
  GS_RETURN_IF_ERROR(JobStore::Open(options, clock, &s->store_));
  s->store_->SetMetrics(s->metrics_.get());
  s->service_ = MakeCoordinatorService(s->store_.get(), options.token);

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_pem.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({options.tls_key_pem, options.tls_cert_pem});
    credentials = grpc::SslServerCredentials(ssl);
  }
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection: generic clients (grpcurl, Postman) list and call the
  // API without the .proto file. Like health, it needs no token: it tells
  // the API's shape, nothing stored.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(MakeRpcMetricsInterceptor(s->metrics_.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0)
    return Status::Unavailable("cannot listen on " + options.listen +
                               " (address in use or not available?)");
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  s->address_ = host + ":" + std::to_string(s->port_);
  if (!options.port_file.empty()) {
    // Clients cannot dial a wildcard address: they are told this host's name.
    std::string advertised = s->address_;
    if (host == "0.0.0.0" || host == "[::]" || host.empty()) {
      char name[256] = {0};
      if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0')
        advertised = std::string(name) + ":" + std::to_string(s->port_);
    }
    GS_RETURN_IF_ERROR(WriteFileAtomically(options.port_file, advertised + "\n"));
  }
  if (!options.http_listen.empty()) {
    HttpServerOptions http;
    http.listen = options.http_listen;
    http.token = options.token;
    http.tls_cert_pem = options.tls_cert_pem;
    http.tls_key_pem = options.tls_key_pem;
    GS_RETURN_IF_ERROR(HttpServer::Start(http, s->store_.get(), s->metrics_.get(), &s->http_));
    if (!options.http_url_file.empty())
      GS_RETURN_IF_ERROR(WriteFileAtomically(options.http_url_file, s->http_->url() + "\n"));
  }
  s->reaper_ = std::thread([p = s.get()] {
    pthread_setname_np(pthread_self(), "gs-leases");
    p->ReaperLoop();
  });
  *out = std::move(s);
  return Status::OK();
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

void CoordinatorServer::ReaperLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  auto interval = std::chrono::duration<double>(options_.lease_check_interval_seconds);
  while (!stopping_) {
    cv_.wait_for(lock, interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    int expired = 0;
    Status s = store_->ExpireLeases(&expired);
    if (!s.ok()) std::fprintf(stderr, "coordinator: lease check failed: %s\n", s.ToString().c_str());
    else if (expired > 0) std::fprintf(stderr, "coordinator: %d lease(s) expired\n", expired);
    lock.lock();
  }
}

void CoordinatorServer::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return stopping_; });
}

void CoordinatorServer::Shutdown() {
  if (shut_down_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  // Long-polls return empty first, so the server's shutdown does not wait for
  // them; RPCs in flight then finish their writes; then the writer stops.
  if (http_) http_->Shutdown();
  if (store_) store_->StopLeasing();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (store_) store_->Shutdown();
}

}  // namespace gridsearch
