#include "coordinator/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <functional>
#include <random>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include "common/text_escape.h"
#include "coordinator/job_store.h"
#include "coordinator/listen_address.h"
#include "coordinator/metrics.h"
#include "web/embedded_web.h"

namespace gridsearch {
namespace {

using json = nlohmann::json;
using httplib::Request;
using httplib::Response;

constexpr size_t kMaxSessions = 10000;
constexpr const char* kJson = "application/json";
// Replies carry this type; kJson is what actions must be sent as.
constexpr const char* kJsonReply = "application/json; charset=utf-8";

// JSON text of `j`. Strings that are not valid UTF-8 (a path, a stored
// message) have the bad bytes replaced instead of throwing.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool SameSecret(const std::string& a, const std::string& b) {
  // Compares every byte whatever the first difference, so that the time
  // taken tells nothing of the token.
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0, y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0 && !a.empty();
}

int HttpCode(const Status& s) {
  switch (s.code()) {
    case Status::kInvalidArgument:
    case Status::kOutOfRange:
      return 400;
    case Status::kUnauthenticated:
      return 401;
    case Status::kPermissionDenied:
      return 403;
    case Status::kNotFound:
      return 404;
    case Status::kFailedPrecondition:
    case Status::kAlreadyExists:
    case Status::kAborted:
      return 409;
    case Status::kUnavailable:
    case Status::kResourceExhausted:
      return 503;
    default:
      return 500;
  }
}

bool AcceptsGzip(const Request& req) {
  return req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos;
}

// gzip at `level`; empty on failure.
std::string Gzip(const std::string& data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return "";
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return rc == Z_STREAM_END ? out : "";
}

// Sets the body, gzipped (fast level) when the client takes it and it is
// worth it. The content types used here are ones the HTTP library does not
// compress by itself (its choice would be brotli at its slowest level).
void SetBody(const Request& req, Response& res, const std::string& body, const char* type) {
  if (!res.has_header("Vary")) res.set_header("Vary", "Accept-Encoding");
  if (body.size() >= 1024 && AcceptsGzip(req)) {
    std::string packed = Gzip(body, 1);
    if (!packed.empty()) {
      res.set_header("Content-Encoding", "gzip");
      res.set_content(packed, type);
      return;
    }
  }
  res.set_content(body, type);
}

void ReplyError(Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(Dump(json{{"error", message}}), kJsonReply);
}

// An answer; a GET whose body the client already holds (If-None-Match) is
// answered 304 with no body, which spares a polling page the transfer and
// the parse of an unchanged ranking.
// A weak ETag: the same for the plain and the gzipped form of a body.
std::string WeakEtag(const std::string& body) {
  char etag[40];
  std::snprintf(etag, sizeof(etag), "W/\"%zx\"", std::hash<std::string>()(body));
  return etag;
}

void Reply(const Request& req, Response& res, const Status& s, const std::string& body) {
  if (!s.ok()) return ReplyError(res, HttpCode(s), s.message());
  if (req.method == "GET") {
    const std::string etag = WeakEtag(body);
    res.set_header("ETag", etag);
    res.set_header("Vary", "Accept-Encoding");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
  }
  res.status = 200;
  SetBody(req, res, body, kJsonReply);
}

// The id in a path ("/api/v1/sweeps/12"): a positive integer in digits
// alone, else 404.
bool PathId(const Request& req, size_t index, const char* what, Response& res, int64_t* id) {
  const std::string text = req.matches[index];
  errno = 0;
  char* end = nullptr;
  const bool digits =
      !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
  long long v = digits ? std::strtoll(text.c_str(), &end, 10) : 0;
  if (!digits || errno != 0 || v < 1) {
    ReplyError(res, 404,
               std::string(what) + " id must be a positive integer, got '" + EscapeControl(text) + "'");
    return false;
  }
  *id = v;
  return true;
}

QueryParams Query(const Request& req) { return QueryParams(req.params.begin(), req.params.end()); }

std::string ContentType(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "application/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

struct StaticFile {
  std::string content, type, etag;
  std::string gzipped;   // for types the HTTP library leaves alone; else empty
};

const std::unordered_map<std::string, StaticFile>& StaticFiles() {
  static const auto* files = [] {
    auto* m = new std::unordered_map<std::string, StaticFile>();
    auto add = [&](const std::string& name, const std::string& content) {
      StaticFile f{content, ContentType(name), WeakEtag(content), ""};
      if (f.type.rfind("text/", 0) != 0) f.gzipped = Gzip(content, 9);
      (*m)[name] = std::move(f);
    };
    for (const auto& f : DashboardFiles()) add(f.first, f.second);
    for (const auto& f : ChartJsFiles()) add(f.first, f.second);
    return m;
  }();
  return *files;
}

void ServeFile(const Request& req, Response& res, const std::string& name) {
  const auto& files = StaticFiles();
  auto it = files.find(name);
  if (it == files.end()) return ReplyError(res, 404, "no file " + EscapeControl(name));
  res.set_header("ETag", it->second.etag);
  res.set_header("Cache-Control", "no-cache");   // revalidate: a new binary serves new files
  res.set_header("Vary", "Accept-Encoding");
  if (req.get_header_value("If-None-Match") == it->second.etag) {
    res.status = 304;
    return;
  }
  res.status = 200;
  if (!it->second.gzipped.empty() && AcceptsGzip(req)) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(it->second.gzipped, it->second.type.c_str());
  } else {
    res.set_content(it->second.content, it->second.type.c_str());
  }
}

std::string CookieValue(const Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string item = header.substr(pos, end - pos);
    size_t start = item.find_first_not_of(' ');
    if (start != std::string::npos) item = item.substr(start);
    if (item.compare(0, name.size() + 1, name + "=") == 0) return item.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

// Loads a PEM certificate chain and key into the TLS context.
bool UseCertificate(SSL_CTX& ctx, const std::string& cert_pem, const std::string& key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(&ctx, leaf) == 1;
  if (leaf != nullptr) X509_free(leaf);
  while (ok) {   // the rest of the chain, if any
    X509* extra = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add_extra_chain_cert(&ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(&ctx, key) == 1 &&
       SSL_CTX_check_private_key(&ctx) == 1;
  if (key != nullptr) EVP_PKEY_free(key);
  BIO_free(key_bio);
  ERR_clear_error();   // the end of the chain reads as an error; it is not one
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  return ok;
}

}  // namespace

HttpServer::HttpServer(const HttpServerOptions& options, JobStore* store,
                       CoordinatorMetrics* metrics)
    : options_(options), store_(store), metrics_(metrics), api_(store, options.max_readers) {}

HttpServer::~HttpServer() { Shutdown(); }

std::string HttpServer::url() const { return std::string(tls_ ? "https" : "http") + "://" + address_ + "/"; }

Status HttpServer::Start(const HttpServerOptions& options, JobStore* store,
                         CoordinatorMetrics* metrics, std::unique_ptr<HttpServer>* out) {
  size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= options.listen.size())
    return Status::InvalidArgument("--http wants host:port, got '" + EscapeControl(options.listen) + "'");
  std::string host = options.listen.substr(0, colon);
  const std::string port_text = options.listen.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 0 || port > 65535)
    return Status::InvalidArgument("--http port must be 0..65535, got '" + EscapeControl(port_text) + "'");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty())
    return Status::InvalidArgument("TLS needs both a certificate and a key");

  std::unique_ptr<HttpServer> s(new HttpServer(options, store, metrics));
  s->loopback_ = IsLoopbackListen(options.listen);
  if (!options.tls_cert_pem.empty()) {
    const std::string cert = options.tls_cert_pem, key = options.tls_key_pem;
    auto tls = std::make_unique<httplib::SSLServer>(
        [cert, key](SSL_CTX& ctx) { return UseCertificate(ctx, cert, key); });
    if (!tls->is_valid())
      return Status::InvalidArgument("the TLS certificate or key cannot be used for HTTPS");
    s->server_ = std::move(tls);
    s->tls_ = true;
  } else {
    s->server_ = std::make_unique<httplib::Server>();
  }
  const int threads = std::max(2, options.threads);
  s->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Each open connection holds a thread while it waits for its next
  // request: idle ones are let go soon.
  s->server_->set_keep_alive_timeout(2);
  s->server_->set_read_timeout(5);
  s->server_->set_write_timeout(10);
  // SO_REUSEADDR only (the library's default adds SO_REUSEPORT, which lets
  // a second coordinator bind the same port and answer half the requests).
  // TCP_NODELAY on every connection: an answer's headers and body are
  // written apart, and Nagle's algorithm would hold the body until the
  // client's delayed ACK, some 40 ms per request.
  s->server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  s->server_->set_tcp_nodelay(true);
  s->server_->set_payload_max_length(1 << 20);
  s->AddRoutes();

  int bound = static_cast<int>(port);
  if (port == 0) {
    bound = s->server_->bind_to_any_port(host);
    if (bound <= 0) bound = 0;
  } else if (!s->server_->bind_to_port(host, bound)) {
    bound = 0;
  }
  if (bound == 0)
    return Status::Unavailable("cannot listen for HTTP on " + options.listen +
                               " (address in use or not available?)");
  s->address_ = options.listen.substr(0, colon) + ":" + std::to_string(bound);
  s->cookie_name_ = "gridsearch_session_" + std::to_string(bound);
  httplib::Server* raw = s->server_.get();
  auto listening = std::make_shared<std::atomic<bool>>(true);
  s->thread_ = std::thread([raw, listening] {
    raw->listen_after_bind();
    listening->store(false);
  });
  // stop() does nothing before the loop runs: wait until it does (or ended).
  for (int i = 0; i < 5000 && listening->load() && !raw->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  *out = std::move(s);
  return Status::OK();
}

void HttpServer::Shutdown() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

bool HttpServer::HostAllowed(const Request& req) const {
  // Without a token, a loopback server answers only requests that name a
  // loopback host: a page elsewhere cannot reach it through a DNS name that
  // it rebinds to 127.0.0.1.
  if (!options_.token.empty() || !loopback_) return true;
  std::string host = req.get_header_value("Host");
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return IsLoopbackHost(host);
}

bool HttpServer::SameOrigin(const Request& req) const {
  // A browser names the page that sent a request in Origin: an action must
  // come from a page of this server. (Scripts and curl send no Origin.)
  if (!req.has_header("Origin")) return true;
  return req.get_header_value("Origin") ==
         std::string(tls_ ? "https://" : "http://") + req.get_header_value("Host");
}

bool HttpServer::Authorized(const Request& req) {
  if (options_.token.empty()) return true;
  const std::string auth = req.get_header_value("Authorization");
  if (auth.compare(0, 7, "Bearer ") == 0 && SameSecret(auth.substr(7), options_.token)) return true;
  const std::string session = CookieValue(req, cookie_name_);
  if (session.empty()) return false;
  std::lock_guard<std::mutex> lock(sessions_mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return false;
  if (it->second < UnixNow()) {
    sessions_.erase(it);
    return false;
  }
  return true;
}

std::string HttpServer::NewSession() {
  std::random_device rd;
  std::string id;
  char buf[9];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(rd()));
    id += buf;
  }
  const double now = UnixNow();
  std::lock_guard<std::mutex> lock(sessions_mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second < now ? sessions_.erase(it) : std::next(it);
  if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  sessions_[id] = now + options_.session_seconds;
  return id;
}

void HttpServer::AddRoutes() {
  using Handler = std::function<void(const Request&, Response&)>;
  enum Access { kOpen, kToken };
  // Every route: the host check, the token check, security headers and the
  // request's metrics. `route` names the pattern in the metrics.
  auto wrap = [this](const char* route, Access access, Handler handler) {
    return [this, route, access, handler](const Request& req, Response& res) {
      const auto start = std::chrono::steady_clock::now();
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Referrer-Policy", "no-referrer");
      if (!HostAllowed(req)) {
        ReplyError(res, 403,
                   "this coordinator serves requests to a loopback host only (localhost, "
                   "127.0.0.1); use --token-file to serve other names");
      } else if (access == kToken && !Authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        ReplyError(res, 401,
                   "this coordinator needs its token: log in on the dashboard, or send "
                   "'Authorization: Bearer TOKEN'");
      } else {
        handler(req, res);
      }
      if (res.status < 0) res.status = 200;
      if (metrics_ != nullptr)
        metrics_->ObserveHttp(
            route,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            res.status);
    };
  };
  // Actions come from the dashboard's script as JSON: a cross-site form
  // cannot send that content type.
  auto json_body = [this](const Request& req, Response& res) {
    if (!SameOrigin(req)) {
      ReplyError(res, 403, "actions are taken from this server's own pages only");
      return false;
    }
    if (req.get_header_value("Content-Type").rfind(kJson, 0) == 0) return true;
    ReplyError(res, 415, "send actions with 'Content-Type: application/json'");
    return false;
  };
  httplib::Server& s = *server_;

  // Pages: one document; its script draws the page the path names.
  Handler page = [](const Request& req, Response& res) {
    ServeFile(req, res, "index.html");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                   "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  };
  s.Get("/", wrap("/", kOpen, page));
  s.Get(R"(/sweeps/(\d+))", wrap("/sweeps/:id", kOpen, page));
  s.Get(R"(/static/([A-Za-z0-9_.-]+))", wrap("/static", kOpen, [](const Request& req, Response& res) {
          ServeFile(req, res, req.matches[1]);
        }));
  s.Get("/healthz", wrap("/healthz", kOpen, [](const Request&, Response& res) {
          res.set_content("ok\n", "text/plain");
        }));

  // Session.
  s.Get("/api/v1/session", wrap("/api/v1/session", kOpen, [this](const Request& req, Response& res) {
          res.set_header("Cache-Control", "no-store");
          Reply(req, res, Status::OK(),
                Dump(json{{"auth_required", !options_.token.empty()},
                          {"authenticated", Authorized(req)}}));
        }));
  s.Post("/api/v1/login", wrap("/api/v1/login", kOpen, [this, json_body](const Request& req, Response& res) {
           if (!json_body(req, res)) return;
           json body = json::parse(req.body, nullptr, false);
           if (!body.is_object() || !body.contains("token") || !body["token"].is_string())
             return ReplyError(res, 400, "send {\"token\": \"...\"}");
           if (options_.token.empty()) return Reply(req, res, Status::OK(), R"({"ok":true})");
           if (!SameSecret(body["token"].get<std::string>(), options_.token))
             return ReplyError(res, 401, "wrong token");
           std::string cookie = cookie_name_ + "=" + NewSession() +
                                "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                std::to_string(static_cast<long>(options_.session_seconds));
           if (tls_) cookie += "; Secure";
           res.set_header("Set-Cookie", cookie);
           Reply(req, res, Status::OK(), R"({"ok":true})");
         }));
  s.Post("/api/v1/logout", wrap("/api/v1/logout", kOpen, [this](const Request& req, Response& res) {
           {
             std::lock_guard<std::mutex> lock(sessions_mu_);
             sessions_.erase(CookieValue(req, cookie_name_));
           }
           res.set_header("Set-Cookie",
                          cookie_name_ + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
           Reply(req, res, Status::OK(), R"({"ok":true})");
         }));

  // The API.
  auto api = [this, wrap](const char* route, std::function<Status(const Request&, Response&, std::string*)> fn) {
    return wrap(route, kToken, [fn](const Request& req, Response& res) {
      // Revalidated every time: the browser asks with the ETag it holds.
      res.set_header("Cache-Control", "no-cache");
      std::string body;
      Status st = fn(req, res, &body);
      if (res.status > 0 && !res.body.empty()) return;   // a bad id or request, answered
      Reply(req, res, st, body);
    });
  };
  s.Get("/api/v1/sweeps", api("/api/v1/sweeps", [this](const Request& req, Response&, std::string* body) {
          return api_.Sweeps(Query(req), body);
        }));
  s.Get(R"(/api/v1/sweeps/([^/]+))",
        api("/api/v1/sweeps/:id", [this](const Request& req, Response& res, std::string* body) {
          int64_t id = 0;
          if (!PathId(req, 1, "sweep", res, &id)) return Status::OK();
          return api_.Sweep(id, Query(req), body);
        }));
  s.Get(R"(/api/v1/sweeps/([^/]+)/spec)",
        api("/api/v1/sweeps/:id/spec", [this](const Request& req, Response& res, std::string* body) {
          int64_t id = 0;
          if (!PathId(req, 1, "sweep", res, &id)) return Status::OK();
          Status st = api_.Spec(id, Query(req), body);
          if (st.ok() && req.has_param("download"))
            res.set_header("Content-Disposition",
                           "attachment; filename=\"sweep-" + std::to_string(id) + ".json\"");
          return st;
        }));
  s.Get(R"(/api/v1/sweeps/([^/]+)/(results|best|ablation|epochs|curves))",
        api("/api/v1/sweeps/:id/:table", [this](const Request& req, Response& res, std::string* body) {
          int64_t id = 0;
          if (!PathId(req, 1, "sweep", res, &id)) return Status::OK();
          return api_.Table(id, req.matches[2], Query(req), body);
        }));
  s.Get(R"(/api/v1/sweeps/([^/]+)/jobs)",
        api("/api/v1/sweeps/:id/jobs", [this](const Request& req, Response& res, std::string* body) {
          int64_t id = 0;
          if (!PathId(req, 1, "sweep", res, &id)) return Status::OK();
          return api_.Jobs(id, Query(req), body);
        }));
  s.Get(R"(/api/v1/jobs/([^/]+))",
        api("/api/v1/jobs/:id", [this](const Request& req, Response& res, std::string* body) {
          int64_t id = 0;
          if (!PathId(req, 1, "job", res, &id)) return Status::OK();
          return api_.Job(id, Query(req), body);
        }));
  s.Post(R"(/api/v1/sweeps/([^/]+)/(cancel|retry))",
         api("/api/v1/sweeps/:id/:action",
             [this, json_body](const Request& req, Response& res, std::string* body) {
               if (!json_body(req, res)) return Status::OK();
               int64_t id = 0;
               if (!PathId(req, 1, "sweep", res, &id)) return Status::OK();
               return req.matches[2] == "cancel" ? api_.Cancel(id, body) : api_.Retry(id, body);
             }));

  s.Get("/metrics", wrap("/metrics", kToken, [this](const Request&, Response& res) {
          std::vector<SweepSummary> sweeps;
          WorkerCounts workers;
          Status st = store_->ListSweeps(&sweeps);
          if (st.ok()) st = store_->CountWorkers(&workers);
          if (!st.ok()) return ReplyError(res, HttpCode(st), st.message());
          res.status = 200;
          res.set_content(metrics_->Render(sweeps, workers), "text/plain; version=0.0.4; charset=utf-8");
        }));

  // Anything else: 404 with a message (JSON under /api/, text elsewhere).
  // (The library calls this outside its own exception handling: it must
  // not throw.)
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    try {
      if (metrics_ != nullptr) metrics_->ObserveHttp("unrouted", 0, res.status);
      const std::string what = "no such endpoint: " + req.method + " " + EscapeControl(req.path);
      if (req.path.rfind("/api/", 0) == 0) {
        ReplyError(res, res.status, what);
      } else {
        res.set_content(what + "\n", "text/plain; charset=utf-8");
      }
    } catch (...) {
      res.set_content("no such endpoint\n", "text/plain; charset=utf-8");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    ReplyError(res, 500, what);
  });
}

}  // namespace gridsearch
