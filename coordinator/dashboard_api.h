// DashboardApi: the JSON API under /api/v1/ that the dashboard's pages use
// (README "Dashboard and metrics" lists every endpoint). It knows nothing of
// HTTP: each call takes the request's path ids and query parameters and
// returns the JSON body, or a Status that the HTTP server maps to a code
// (InvalidArgument 400, NotFound 404, FailedPrecondition 409, ...).
//
// The tables come from RenderTable, the same code behind the QueryTable RPC
// and `gridsearch results|ablation|epochs|curves --format json`, so the
// browser, the CLI and the gRPC API never disagree on a number.
//
// A table is computed again only when its sweep's jobs per state have
// changed since the last time (every result changes a job's state): an open
// page that polls a big, finished sweep costs a count, not a ranking.
//
// Thread-safe: calls run on the store's reader connections, each in one read
// transaction (a consistent snapshot), at most max_readers at once; actions
// run on its writer. Bodies are valid UTF-8 whatever the stored text holds.
#ifndef GRIDSEARCH_COORDINATOR_DASHBOARD_API_H_
#define GRIDSEARCH_COORDINATOR_DASHBOARD_API_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"

namespace gridsearch {

class Database;
class JobStore;

// A request's query parameters (a name may repeat).
using QueryParams = std::multimap<std::string, std::string>;

class DashboardApi {
 public:
  // At most `max_readers` calls read the store at once; others wait.
  DashboardApi(JobStore* store, int max_readers) : store_(store), max_readers_(max_readers) {}

  // GET /api/v1/sweeps: {"now", "sweeps": [summary...]}, newest first.
  Status Sweeps(const QueryParams& query, std::string* body);
  // GET /api/v1/sweeps/ID: {"summary", "spec", "seeds", "configurations",
  // "optimizers", "ablation", "program", "partial"}.
  Status Sweep(int64_t sweep_id, const QueryParams& query, std::string* body);
  // GET /api/v1/sweeps/ID/spec: the stored spec (canonical); the server adds
  // a download name with ?download=1.
  Status Spec(int64_t sweep_id, const QueryParams& query, std::string* body);
  // GET /api/v1/sweeps/ID/{results,best,ablation,epochs,curves}: the CLI's
  // JSON of the same table (results and best as {"rows": [...]}), with
  // "sweep_id", "partial" and "metric". best's split defaults to "all", as
  // `results --best-per-optimizer` does; "none" gives one row per optimizer.
  Status Table(int64_t sweep_id, const std::string& kind, const QueryParams& query,
               std::string* body);
  // GET /api/v1/sweeps/ID/jobs?state=S&limit=N&offset=K: {"total", "offset", "rows"}.
  Status Jobs(int64_t sweep_id, const QueryParams& query, std::string* body);
  // GET /api/v1/jobs/ID: one job.
  Status Job(int64_t job_id, const QueryParams& query, std::string* body);
  // POST /api/v1/sweeps/ID/cancel: {"cancelled": N}; .../retry: {"requeued": N}.
  Status Cancel(int64_t sweep_id, std::string* body);
  Status Retry(int64_t sweep_id, std::string* body);

 private:
  // The store's Read, within the readers' limit.
  Status Read(const std::function<Status(Database*)>& fn);
  // A table's body computed earlier for the same request and the same
  // sweep stamp (jobs per state), if any.
  bool FindCached(const std::string& key, const std::string& stamp, std::string* body);
  void Remember(const std::string& key, const std::string& stamp, const std::string& body);

  struct CachedTable {
    std::string stamp;
    std::string body;
  };

  JobStore* const store_;
  const int max_readers_;
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  int readers_ = 0;
  std::mutex cache_mu_;
  std::map<std::string, CachedTable> cache_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_DASHBOARD_API_H_
