// HttpServer: the coordinator's HTTP front, beside its gRPC one: the
// dashboard's pages (embedded in the binary), the JSON API under /api/v1/
// (DashboardApi) and /metrics in the Prometheus text format.
//
// Security follows the gRPC server's rules. With a token, every request for
// data or an action needs it, as "Authorization: Bearer TOKEN" or as the
// session cookie that POST /api/v1/login (with the token) sets (HttpOnly,
// SameSite=Strict; Secure under TLS; named for the port); anything else
// gets 401 and no data.
// Without a token the server only listens on loopback (unless the caller
// allowed otherwise) and answers only requests that name a loopback host, so
// that a web page cannot reach it through a rebound DNS name. TLS uses the
// gRPC server's certificate and key. Actions (POST) need a JSON content type,
// which a cross-site form cannot send, and a browser's Origin must be this
// server.
//
// Thread-safe; the server runs on its own threads until Shutdown.
#ifndef GRIDSEARCH_COORDINATOR_HTTP_SERVER_H_
#define GRIDSEARCH_COORDINATOR_HTTP_SERVER_H_

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/status.h"
#include "coordinator/dashboard_api.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace gridsearch {

class CoordinatorMetrics;
class JobStore;

struct HttpServerOptions {
  // "host:port" ("[::1]:8080"); port 0 picks a free one.
  std::string listen = "127.0.0.1:8080";
  // Empty: no login (the caller has checked that this is allowed).
  std::string token;
  // PEM contents (not paths); both set: serve HTTPS.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Threads answering requests (each holds one keep-alive connection).
  int threads = 8;
  // A browser session stays logged in this long.
  double session_seconds = 7 * 24 * 3600;
  // Reader connections the API may hold at once, so that open dashboards
  // cannot take every one from `status` and the other gRPC reads.
  int max_readers = 2;
};

class HttpServer {
 public:
  // Binds options.listen and starts serving. `store` and `metrics` (not
  // owned) outlive the server.
  static Status Start(const HttpServerOptions& options, JobStore* store,
                      CoordinatorMetrics* metrics, std::unique_ptr<HttpServer>* server);
  ~HttpServer();

  // "host:port" actually bound, and the URL a browser opens.
  const std::string& address() const { return address_; }
  std::string url() const;

  // Stops accepting connections and waits for the requests in flight.
  void Shutdown();

 private:
  HttpServer(const HttpServerOptions& options, JobStore* store, CoordinatorMetrics* metrics);
  void AddRoutes();
  // Whether the request carries the token or a live session cookie.
  bool Authorized(const httplib::Request& req);
  bool HostAllowed(const httplib::Request& req) const;
  // Whether a browser's Origin, when it sends one, is this server.
  bool SameOrigin(const httplib::Request& req) const;
  std::string NewSession();

  const HttpServerOptions options_;
  JobStore* const store_;
  CoordinatorMetrics* const metrics_;
  DashboardApi api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
  bool tls_ = false;
  bool loopback_ = true;
  // Named for the port: browsers send a host's cookies to all its ports, and
  // two dashboards on one host must not overwrite each other's session.
  std::string cookie_name_;

  std::mutex sessions_mu_;
  std::unordered_map<std::string, double> sessions_;   // id -> expiry (unix seconds)
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_HTTP_SERVER_H_
