// The dashboard's JSON API and /metrics against a real coordinator process
// over loopback HTTP (and HTTPS), with real workers running python3 programs
// into a real SQLite file. Every table the API serves is compared with what
// `gridsearch <command> --db FILE --format json` prints for the same sweep.
#include <string>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/coordinator_fixture.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

const std::string kPrograms = std::string(GRIDSEARCH_SOURCE_DIR) + "/tests/programs/";

json LeastSquaresSpec() {
  return {{"name", "lstsq <api>"},
          {"program", {{"command", {"python3", kPrograms + "lstsq.py"}}}},
          {"budget_seconds", 30},
          {"seeds", {1, 2}},
          {"optimizers",
           {{"sgd", {{"lr", {0.01, 0.08}}, {"schedule", {"constant", "inverse"}}, {"steps", 100}}}}},
          {"ablation", {{"optimizer", "sgd"}, {"features", {{"schedule", "constant"}}}}}};
}

json CrashSpec() {
  return {{"name", "crash"},
          {"program", {{"command", {"python3", kPrograms + "misbehave.py"}}}},
          {"budget_seconds", 5},
          {"seeds", {1}},
          {"optimizers", {{"sgd", {{"mode", "crash"}}}}}};
}

class DashboardApiTest : public CoordinatorFixture {
 protected:
  // A coordinator with the dashboard on a free loopback port; returns the
  // gRPC address and sets url_ ("http://127.0.0.1:PORT/").
  std::string StartWithHttp(const std::vector<std::string>& extra = {},
                            const std::string& http = "127.0.0.1:0") {
    std::vector<std::string> flags{"--http", http, "--http-url-file", dir_.File("url"),
                                   "--max-attempts", "1"};
    flags.insert(flags.end(), extra.begin(), extra.end());
    std::string addr = StartCoordinator(30, flags);
    EXPECT_TRUE(WaitFor([&] { return !ReadFile(dir_.File("url")).empty(); }, 30)) << ReadFile(Log());
    url_ = ReadFile(dir_.File("url"));
    while (!url_.empty() && url_.back() == '\n') url_.pop_back();
    host_port_ = url_.substr(url_.find("://") + 3);
    host_port_.pop_back();   // the trailing '/'
    return addr;
  }

  httplib::Client Client() {
    httplib::Client c("http://" + host_port_);
    c.set_read_timeout(30);
    return c;
  }

  // GET path; the status in *status; the body parsed (null when not JSON).
  json Get(const std::string& path, int* status, httplib::Headers headers = {}) {
    auto c = Client();
    auto res = c.Get(path.c_str(), headers);
    if (!res) {
      ADD_FAILURE() << "GET " << path << ": no answer";
      *status = 0;
      return nullptr;
    }
    *status = res->status;
    return json::parse(res->body, nullptr, false);
  }

  json GetOk(const std::string& path) {
    int status = 0;
    json body = Get(path, &status);
    EXPECT_EQ(status, 200) << path << ": " << body.dump();
    return body;
  }

  json Cli(std::vector<std::string> argv) {
    std::string out, err;
    argv.insert(argv.begin(), Bin());
    argv.insert(argv.end(), {"--db", Db(), "--format", "json"});
    EXPECT_EQ(RunCommand(argv, &out, &err), 0) << argv[1] << ": " << err;
    return json::parse(out, nullptr, false);
  }

  bool WaitJobs(int64_t sweep, const std::string& states, int64_t n, double seconds) {
    return WaitFor(
        [&] {
          return QueryNumber(Db(), "SELECT COUNT(*) FROM jobs WHERE sweep_id = " +
                                       std::to_string(sweep) + " AND state IN (" + states +
                                       ")") == n;
        },
        seconds);
  }

  std::unique_ptr<Process> Worker(const std::string& addr, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{Bin(), "worker", "--coordinator", addr, "--threads", "1",
                                  "--worker-id", "api-worker"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(argv, Log());
  }

  std::string url_, host_port_;
};

TEST_F(DashboardApiTest, EveryEndpointAgreesWithTheCliOnARealSweep) {
  const std::string addr = StartWithHttp();
  auto worker = Worker(addr);
  int code = 0;
  ASSERT_EQ((Submit(addr, LeastSquaresSpec(), &code), code), 0);
  ASSERT_TRUE(WaitJobs(1, "'done'", 8, 120)) << ReadFile(Log());

  // The sweeps, newest first, with the status command's numbers.
  json sweeps = GetOk("/api/v1/sweeps");
  ASSERT_EQ(sweeps["sweeps"].size(), 1u) << sweeps.dump();
  json summary = sweeps["sweeps"][0];
  json status = Cli({"status", "--sweep", "1"});
  for (const char* key : {"sweep_id", "name", "state", "total", "done", "failed", "queued",
                          "running", "diverged", "cancelled", "budget_seconds"})
    EXPECT_EQ(summary[key], status[key]) << key;
  EXPECT_EQ(summary["name"], "lstsq <api>");
  EXPECT_EQ(summary["state"], "finished");

  // One sweep: its spec, seeds, configurations, optimizers and ablation.
  json sweep = GetOk("/api/v1/sweeps/1");
  EXPECT_EQ(sweep["configurations"], 4);
  EXPECT_EQ(sweep["optimizers"], json({"sgd"}));
  EXPECT_EQ(sweep["seeds"], json({1, 2}));
  EXPECT_EQ(sweep["ablation"]["optimizer"], "sgd");
  EXPECT_EQ(sweep["ablation"]["features"]["schedule"], "constant");
  EXPECT_EQ(sweep["program"]["command"][0], "python3");
  EXPECT_EQ(sweep["partial"], false);
  EXPECT_EQ(sweep["spec"]["budget_seconds"], 30);
  {
    auto c = Client();
    auto res = c.Get("/api/v1/sweeps/1/spec?download=1");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_NE(res->get_header_value("Content-Disposition").find("sweep-1.json"), std::string::npos);
    EXPECT_EQ(json::parse(res->body), sweep["spec"]);
  }

  // Every table equals the CLI's, number for number.
  for (const char* metric : {"final_train_loss", "log_loss_integral", "test_accuracy"}) {
    json api = GetOk(std::string("/api/v1/sweeps/1/results?metric=") + metric);
    EXPECT_EQ(api["metric"], metric);
    EXPECT_EQ(api["partial"], false);
    json cli = Cli({"results", "--sweep", "1", "--top", "0", "--metric", metric});
    EXPECT_EQ(api["rows"], cli) << metric;
    ASSERT_EQ(api["rows"].size(), 4u);
    EXPECT_GT(api["rows"][0]["config_id"].get<int64_t>(), 0);
  }
  EXPECT_EQ(GetOk("/api/v1/sweeps/1/best?split=all")["rows"],
            Cli({"results", "--sweep", "1", "--best-per-optimizer", "--split", "all"}));
  EXPECT_EQ(GetOk("/api/v1/sweeps/1/best")["rows"],
            Cli({"results", "--sweep", "1", "--best-per-optimizer"}));
  json best = GetOk("/api/v1/sweeps/1/best?split=none");
  EXPECT_EQ(best["rows"], Cli({"results", "--sweep", "1", "--best-per-optimizer", "--split", "none"}));
  EXPECT_EQ(best["rows"].size(), 1u);
  json ablation = GetOk("/api/v1/sweeps/1/ablation");
  json ablation_cli = Cli({"ablation", "--sweep", "1"});
  EXPECT_EQ(ablation["rows"], ablation_cli["rows"]);
  EXPECT_EQ(ablation["rows"].size(), 2u);
  EXPECT_EQ(GetOk("/api/v1/sweeps/1/epochs")["rows"], Cli({"epochs", "--sweep", "1"})["rows"]);
  EXPECT_EQ(GetOk("/api/v1/sweeps/1/curves?bins=20")["curves"],
            Cli({"curves", "--sweep", "1", "--bins", "20"})["curves"]);
  const int64_t config = GetOk("/api/v1/sweeps/1/results")["rows"][2]["config_id"];
  json one = GetOk("/api/v1/sweeps/1/curves?bins=10&column=learning_rate&config=" +
                   std::to_string(config));
  EXPECT_EQ(one["curves"],
            Cli({"curves", "--sweep", "1", "--bins", "10", "--column", "learning_rate",
                 "--config", std::to_string(config)})["curves"]);
  ASSERT_EQ(one["curves"].size(), 1u);
  EXPECT_EQ(one["curves"][0]["config_id"], config);

  // The jobs, a page at a time, and one job.
  json jobs = GetOk("/api/v1/sweeps/1/jobs?limit=3&offset=2");
  EXPECT_EQ(jobs["total"], 8);
  ASSERT_EQ(jobs["rows"].size(), 3u);
  EXPECT_EQ(jobs["rows"][0]["job_id"], 3);
  EXPECT_EQ(jobs["rows"][0]["state"], "done");
  EXPECT_EQ(jobs["rows"][0]["worker_id"], "api-worker");
  EXPECT_EQ(jobs["rows"][0]["attempts"], 1);
  EXPECT_EQ(jobs["rows"][0]["steps"], 100);
  EXPECT_EQ(GetOk("/api/v1/sweeps/1/jobs?state=failed")["total"], 0);
  json job = GetOk("/api/v1/jobs/3");
  EXPECT_EQ(job, jobs["rows"][0]);
  EXPECT_DOUBLE_EQ(job["final_train_loss"].get<double>(),
                   QueryDoubles(Db(), "SELECT final_train_loss FROM jobs WHERE id = 3").at(0));

  // Bad ids and requests: a status and a message, never a table.
  struct Bad {
    std::string path;
    int status;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {"/api/v1/sweeps/999", 404, "no sweep with id 999"},
      {"/api/v1/sweeps/999/results", 404, "no sweep with id 999"},
      {"/api/v1/sweeps/999/jobs", 404, "no sweep with id 999"},
      {"/api/v1/sweeps/abc", 404, "sweep id must be a positive integer, got 'abc'"},
      {"/api/v1/sweeps/0/results", 404, "sweep id must be a positive integer"},
      {"/api/v1/jobs/12345", 404, "no job with id 12345"},
      {"/api/v1/jobs/-1", 404, "job id must be a positive integer"},
      {"/api/v1/sweeps/1/curves?config=999999", 404, "has no configuration 999999"},
      {"/api/v1/sweeps/1/results?metric=speed", 400, "unknown metric 'speed'"},
      {"/api/v1/sweeps/1/results?metrc=x", 400, "unknown query parameter 'metrc'"},
      {"/api/v1/sweeps/1/jobs?limit=0", 400, "limit must be an integer in 1..1000"},
      {"/api/v1/sweeps/1/jobs?state=exploded", 400, "unknown job state 'exploded'"},
      {"/api/v1/sweeps/1/curves?bins=x", 400, "bins must be an integer"},
      {"/api/v1/sweeps/1/curves?column=speed", 400, "unknown curve column 'speed'"},
      {"/api/v1/sweeps/1/tables", 404, "no such endpoint: GET /api/v1/sweeps/1/tables"},
      {"/api/v2/sweeps", 404, "no such endpoint"},
      {"/api/v1/sweeps/+1", 404, "sweep id must be a positive integer, got '+1'"},
      {"/api/v1/sweeps/99999999999999999999", 404, "sweep id must be a positive integer"},
      {"/api/v1/sweeps/1/best?split=momentum", 400, "'momentum' is not an ablation feature"},
      {"/api/v1/sweeps/1/jobs?offset=-1", 400, "offset must be an integer"},
      {"/api/v1/sweeps/1/curves?bins=100000", 400, "bins must be an integer in 1..5000"},
      // Bytes that are not UTF-8 (a surrogate, an overlong form) in the path
      // and the query: refused with a message, and the server lives on.
      {"/api/%ED%A0%80", 404, "no such endpoint"},
      {"/api/v1/sweeps/%ED%A0%80", 404, "sweep id must be a positive integer"},
      {"/api/v1/sweeps?%ED%A0%80=1", 400, "unknown query parameter"},
      {"/api/v1/sweeps/1/jobs?state=%C0%AF", 400, "unknown job state"},
  };
  for (const auto& b : bad) {
    int got = 0;
    json body = Get(b.path, &got);
    EXPECT_EQ(got, b.status) << b.path << ": " << body.dump();
    ASSERT_TRUE(body.is_object() && body.contains("error")) << b.path << ": " << body.dump();
    EXPECT_NE(body["error"].get<std::string>().find(b.says), std::string::npos)
        << b.path << ": " << body["error"];
    EXPECT_FALSE(body.contains("rows")) << b.path;
  }

  EXPECT_EQ(GetOk("/api/v1/sweeps")["sweeps"].size(), 1u) << "the server lives on";

  // A page of another origin cannot reach a token-less loopback server
  // through a rebound DNS name, however much the name looks like loopback.
  int got = 0;
  for (const char* host : {"attacker.example:80", "127.0.0.1.rebind.example", "127.evil.example:8080",
                           "localhost.example"}) {
    json refused = Get("/api/v1/sweeps", &got, {{"Host", host}});
    EXPECT_EQ(got, 403) << host << ": " << refused.dump();
    EXPECT_FALSE(refused.contains("sweeps")) << host;
  }
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3:99"}) {
    Get("/api/v1/sweeps", &got, {{"Host", host}});
    EXPECT_EQ(got, 200) << host;
  }
  // An action from another site's page (its Origin) is refused.
  {
    auto c = Client();
    auto res = c.Post("/api/v1/sweeps/1/retry", {{"Origin", "http://evil.example"}}, "{}",
                      "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << res->body;
    auto own = c.Post("/api/v1/sweeps/1/retry", {{"Origin", "http://" + host_port_}}, "{}",
                      "application/json");
    ASSERT_TRUE(own);
    EXPECT_EQ(own->status, 200) << own->body;
  }
  // A second coordinator cannot take the same port (no SO_REUSEPORT).
  {
    TempDir other;
    std::string out, err;
    int rc = RunCommand({Bin(), "coordinator", "--db", other.File("other.db"), "--listen",
                         "127.0.0.1:0", "--http", host_port_},
                        &out, &err);
    EXPECT_NE(rc, 0);
    EXPECT_NE(err.find("cannot listen for HTTP on " + host_port_), std::string::npos) << err;
  }
  // Actions need a JSON content type (a cross-site form cannot send one).
  {
    auto c = Client();
    auto res = c.Post("/api/v1/sweeps/1/cancel", "x=1", "application/x-www-form-urlencoded");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 415) << res->body;
  }

  // The pages and their files are served from the binary.
  {
    auto c = Client();
    for (const char* path : {"/", "/sweeps/1", "/static/app.js", "/static/style.css",
                             "/static/chart.min.js"}) {
      auto res = c.Get(path);
      ASSERT_TRUE(res) << path;
      EXPECT_EQ(res->status, 200) << path;
      EXPECT_GT(res->body.size(), 100u) << path;
    }
    auto missing = c.Get("/static/nothing.js");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
  }

  // /metrics: jobs by state, completions, RPC latency, commits.
  auto c = Client();
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  for (const char* line :
       {"gridsearch_jobs{sweep=\"1\",state=\"done\"} 8", "gridsearch_jobs{sweep=\"1\",state=\"queued\"} 0",
        "gridsearch_job_completions_total{outcome=\"done\"} 8",
        "gridsearch_sweeps{state=\"finished\"} 1", "gridsearch_lease_expiries_total{final=\"false\"} 0",
        "# TYPE gridsearch_rpc_duration_seconds histogram",
        "gridsearch_rpc_duration_seconds_count{method=\"SubmitSweep\"} 1",
        "# TYPE gridsearch_sqlite_commit_seconds histogram",
        "gridsearch_sqlite_group_commit_operations_bucket", "gridsearch_workers_active 1",
        "# TYPE gridsearch_sqlite_wal_sync_seconds histogram",
        "gridsearch_sqlite_wal_sync_failures_total 0"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  // Every answered write waited for a flush of the WAL.
  const std::string syncs = "gridsearch_sqlite_wal_sync_seconds_count ";
  const size_t at = text.find(syncs);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_GE(std::atof(text.c_str() + at + syncs.size()), 1.0) << text;
  EXPECT_NE(text.find("gridsearch_rpc_duration_seconds_count{method=\"LeaseJob\"}"),
            std::string::npos);
  EXPECT_NE(text.find("gridsearch_http_requests_total{route=\"/api/v1/sweeps/:id\",status=\"404\"}"),
            std::string::npos);
}

TEST_F(DashboardApiTest, FailedJobsShowTheirErrorAndActionsRetryAndCancel) {
  const std::string addr = StartWithHttp();
  auto worker = Worker(addr);
  int code = 0;
  ASSERT_EQ((Submit(addr, CrashSpec(), &code), code), 0);
  ASSERT_TRUE(WaitJobs(1, "'failed'", 1, 60)) << ReadFile(Log());

  json failed = GetOk("/api/v1/sweeps/1/jobs?state=failed");
  ASSERT_EQ(failed["total"], 1);
  const std::string error = failed["rows"][0]["error"];
  EXPECT_NE(error.find("boom: the training loop crashed"), std::string::npos) << error;
  EXPECT_NE(error.find('\n'), std::string::npos) << "the whole message, lines and all";
  EXPECT_EQ(GetOk("/api/v1/sweeps/1")["summary"]["failed"], 1);

  auto c = Client();
  auto retry = c.Post("/api/v1/sweeps/1/retry", "{}", "application/json");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200) << retry->body;
  EXPECT_EQ(json::parse(retry->body)["requeued"], 1);
  ASSERT_TRUE(WaitJobs(1, "'failed'", 1, 60)) << "the retried job runs (and crashes) again";
  EXPECT_EQ(QueryNumber(Db(), "SELECT attempts FROM jobs WHERE id = 1"), 1);

  // Cancel: a second sweep's queued jobs, with no worker left to take them.
  worker.reset();
  ASSERT_EQ((Submit(addr, LeastSquaresSpec(), &code), code), 0);
  auto cancel = c.Post("/api/v1/sweeps/2/cancel", "{}", "application/json");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_EQ(json::parse(cancel->body)["cancelled"], 8);
  EXPECT_EQ(GetOk("/api/v1/sweeps/2")["summary"]["state"], "cancelled");
  auto unknown = c.Post("/api/v1/sweeps/77/cancel", "{}", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("no sweep with id 77"), std::string::npos);
}

TEST_F(DashboardApiTest, WithATokenNothingIsServedWithoutIt) {
  WriteFile(dir_.File("token"), "s3cret-token\n");
  StartWithHttp({"--token-file", dir_.File("token")});
  auto c = Client();

  // No token: 401 and no data, for the API, the actions and the metrics.
  for (const char* path : {"/api/v1/sweeps", "/api/v1/sweeps/1", "/api/v1/sweeps/1/results",
                           "/api/v1/jobs/1", "/metrics"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 401) << path;
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer") << path;
    EXPECT_EQ(res->body.find("sweeps\""), std::string::npos) << path;
    EXPECT_EQ(res->body.find("gridsearch_jobs"), std::string::npos) << path;
  }
  auto action = c.Post("/api/v1/sweeps/1/cancel", "{}", "application/json");
  ASSERT_TRUE(action);
  EXPECT_EQ(action->status, 401);
  auto wrong_bearer = c.Get("/api/v1/sweeps", {{"Authorization", "Bearer s3cret-tokeX"}});
  ASSERT_TRUE(wrong_bearer);
  EXPECT_EQ(wrong_bearer->status, 401);
  // The page itself holds no data: it loads and asks for the token.
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  json session = json::parse(c.Get("/api/v1/session")->body);
  EXPECT_EQ(session["auth_required"], true);
  EXPECT_EQ(session["authenticated"], false);

  // The token as a header (Prometheus, scripts).
  auto bearer = c.Get("/api/v1/sweeps", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200) << bearer->body;
  auto metrics = c.Get("/metrics", {{"Authorization", "Bearer s3cret-token"}});
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);

  // A browser logs in once and gets a cookie.
  auto wrong = c.Post("/api/v1/login", R"({"token":"guess"})", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));
  auto login = c.Post("/api/v1/login", R"({"token":"s3cret-token"})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200) << login->body;
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_EQ(cookie.rfind("gridsearch_session_" + host_port_.substr(host_port_.rfind(':') + 1) + "=", 0),
            0u)
      << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("s3cret-token"), std::string::npos) << "the cookie is not the token";
  const std::string pair = cookie.substr(0, cookie.find(';'));
  auto with_cookie = c.Get("/api/v1/sweeps", {{"Cookie", pair}});
  ASSERT_TRUE(with_cookie);
  EXPECT_EQ(with_cookie->status, 200);
  const std::string name = pair.substr(0, pair.find('='));
  auto forged = c.Get("/api/v1/sweeps", {{"Cookie", name + "=0123456789abcdef"}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);
  auto logout = c.Post("/api/v1/logout", {{"Cookie", pair}}, "{}", "application/json");
  ASSERT_TRUE(logout);
  auto after = c.Get("/api/v1/sweeps", {{"Cookie", pair}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401) << "a logged-out session is gone";
}

TEST_F(DashboardApiTest, BeyondLoopbackOnlyWithATokenAndHttpsWithTheSameCertificate) {
  // No token: refused before anything is served.
  std::string out, err;
  int rc = RunCommand({Bin(), "coordinator", "--db", Db(), "--listen", "127.0.0.1:0", "--http",
                       "0.0.0.0:0"},
                      &out, &err);
  EXPECT_NE(rc, 0);
  EXPECT_NE(err.find("refusing to serve the dashboard on 0.0.0.0:0 without a token"),
            std::string::npos)
      << err;

  // With the token and TLS: HTTPS with the gRPC server's certificate.
  ASSERT_EQ(RunCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", dir_.File("key.pem"), "-out", dir_.File("cert.pem"), "-days",
                        "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"},
                       &out, &err),
            0)
      << err;
  WriteFile(dir_.File("token"), "tls-token\n");
  StartWithHttp({"--token-file", dir_.File("token"), "--tls-cert", dir_.File("cert.pem"),
                 "--tls-key", dir_.File("key.pem")},
                "0.0.0.0:0");
  ASSERT_EQ(url_.rfind("https://", 0), 0u) << url_;
  const std::string port = host_port_.substr(host_port_.rfind(':') + 1);
  httplib::SSLClient tls("127.0.0.1", std::stoi(port));
  tls.set_ca_cert_path(dir_.File("cert.pem").c_str());
  tls.enable_server_certificate_verification(true);
  auto denied = tls.Get("/api/v1/sweeps");
  ASSERT_TRUE(denied) << httplib::to_string(denied.error());
  EXPECT_EQ(denied->status, 401);
  auto login = tls.Post("/api/v1/login", R"({"token":"tls-token"})", "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  auto ok = tls.Get("/api/v1/sweeps", {{"Authorization", "Bearer tls-token"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["sweeps"], json::array());
  // Plain HTTP to the HTTPS port gets nothing.
  httplib::Client plain("http://127.0.0.1:" + port);
  plain.set_read_timeout(5);
  auto res = plain.Get("/api/v1/sweeps", {{"Authorization", "Bearer tls-token"}});
  EXPECT_TRUE(!res || res->status != 200);
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
