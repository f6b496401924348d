// query_scale: the read side at the PAL papers' full scale. Times the real
// `gridsearch` CLI (`--db FILE`, as a user runs it) on three files made by
// paper_grid_db: the full study (4,080 configurations x 10 seeds x 1,000
// curve points), a tenth and a hundredth of its configurations (408 and 40;
// same seeds and points, so a tenth of the jobs and points). Prints one table:
// each query's median wall time at the three sizes against its goal (1 s;
// 100 ms for status), the rows it must read at each size, and how its cost
// grows against those rows. Also the files' sizes and the coordinator's
// resident memory after it opened the full file and answered one status.
//
// Growth: a query's cost is its fastest run (the one least disturbed by
// other processes) less the process's floor, the fastest `status` on a file
// with no sweep (start-up and opening the file). For two sizes,
// growth = (cost ratio) / (rows ratio); at most 1.5 (or a cost that grew by
// under 5 ms, too little to measure) says the query grows no faster than what
// it must read. Rows: status reads its sweep's kept job counts (one row per
// state); results, best per optimizer and epochs read every job of the
// sweep; ablation the ablated optimizer's jobs (twice, once per metric);
// curves of one configuration its curve points; curves of the best per
// optimizer the jobs (to rank) and the best configurations' points; plot the
// same with both curve columns. A query that reads two kinds of rows (jobs
// and points) at costs linear in each grows by at most the larger of their
// ratios: that is its rows ratio.
//
// Exit status 1 when a goal or a growth check fails.
//
// usage: query_scale [--dir /tmp/gridsearch-query-scale] [--full F] [--tenth F] [--hundredth F]
//                    [--gridsearch BIN] [--generator BIN] [--runs 11] [--seeds 10]
//                    [--points 1000] [--threads 8] [--no-memory]
// Files that exist are reused; missing ones are generated (the full one takes
// a few minutes and about 2 GB).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace {

using json = nlohmann::json;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

double FileBytes(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
}

// Runs argv with stdout to `out_path` (or /dev/null), stderr to `err_path`.
// Returns the exit status (-1: not run) and the wall time.
int Run(const std::vector<std::string>& argv, const std::string& out_path,
        const std::string& err_path, double* seconds, pid_t* started = nullptr) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const double t0 = Now();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int out = open(out_path.empty() ? "/dev/null" : out_path.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  if (started != nullptr) {
    *started = pid;
    return 0;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *seconds = Now() - t0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// One number from a read-only SQLite connection (any schema version).
class Reader {
 public:
  explicit Reader(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(db_);
      db_ = nullptr;
    }
  }
  ~Reader() { sqlite3_close(db_); }
  bool ok() const { return db_ != nullptr; }
  double Number(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    double v = NAN;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
      v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr)
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

struct Size {
  const char* label;
  int scale;
  std::string path;
  // What the file holds, and what each query must read.
  int64_t sweep = 0, configs = 0, jobs = 0, points = 0;
  int64_t states = 0;         // states the sweep's jobs are in
  int64_t ablation_jobs = 0;  // jobs of the ablated optimizer
  int64_t one_config = 0, one_points = 0;
  int64_t best_points = 0;    // points of each optimizer's best configuration
  double bytes = 0;
};

struct Query {
  const char* name;
  double goal_seconds;
  std::vector<std::string> args;           // after `gridsearch`, before --db
  // The rows it reads at a size: jobs (or kept counts) and curve points.
  std::pair<int64_t, int64_t> (*rows)(const Size&);
};

std::string Mb(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MB", bytes / 1e6);
  return buf;
}

std::string Ms(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f ms", seconds * 1e3);
  return buf;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

std::pair<int64_t, int64_t> Rows(int64_t jobs, int64_t points) { return {jobs, points}; }

int64_t PointsOf(Reader* r, int64_t config_id) {
  return static_cast<int64_t>(r->Number(
      "SELECT COUNT(*) FROM jobs j JOIN curve_points p ON p.job_id = j.id AND "
      "p.attempt = j.finished_attempt WHERE j.config_id = " + std::to_string(config_id) +
      " AND j.state IN ('done', 'diverged')"));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/gridsearch-query-scale";
  std::string gridsearch = GRIDSEARCH_BIN, generator = PAPER_GRID_DB_BIN;
  std::string paths[3];
  int runs = 11, seeds = 10, points = 1000, threads = 8;
  bool memory = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--no-memory") memory = false;
    else if (a == "--dir" && has) dir = argv[++i];
    else if (a == "--full" && has) paths[0] = argv[++i];
    else if (a == "--tenth" && has) paths[1] = argv[++i];
    else if (a == "--hundredth" && has) paths[2] = argv[++i];
    else if (a == "--gridsearch" && has) gridsearch = argv[++i];
    else if (a == "--generator" && has) generator = argv[++i];
    else if (a == "--runs" && has) runs = std::atoi(argv[++i]);
    else if (a == "--seeds" && has) seeds = std::atoi(argv[++i]);
    else if (a == "--points" && has) points = std::atoi(argv[++i]);
    else if (a == "--threads" && has) threads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: query_scale [--dir DIR] [--full F] [--tenth F] [--hundredth F] "
                   "[--gridsearch BIN] [--generator BIN] [--runs 11] [--seeds 10] "
                   "[--points 1000] [--threads 8] [--no-memory]\n");
      return 2;
    }
  }
  if (runs < 1) runs = 1;
  mkdir(dir.c_str(), 0755);
  const std::string err = dir + "/stderr.txt";

  // Smallest first: the table reads left to right as the study grows.
  std::vector<Size> sizes = {{"1/100", 100, paths[2]}, {"1/10", 10, paths[1]}, {"full", 1, paths[0]}};
  for (auto& s : sizes) {
    if (s.path.empty()) s.path = dir + "/paper_grid_" + std::to_string(s.scale) + ".db";
    if (!Exists(s.path)) {
      std::fprintf(stderr, "query_scale: generating %s (1/%d of the configurations)...\n",
                   s.path.c_str(), s.scale);
      double t = 0;
      int rc = Run({generator, "--db", s.path, "--seeds", std::to_string(seeds), "--points",
                    std::to_string(points), "--threads", std::to_string(threads), "--scale",
                    std::to_string(s.scale)},
                   "", err, &t);
      if (rc != 0) {
        std::fprintf(stderr, "query_scale: %s failed (%d): %s\n", generator.c_str(), rc,
                     ReadFile(err).c_str());
        return 1;
      }
      std::fprintf(stderr, "query_scale: generated in %.0f s\n", t);
    }
    Reader r(s.path);
    if (!r.ok()) {
      std::fprintf(stderr, "query_scale: cannot open %s\n", s.path.c_str());
      return 1;
    }
    s.sweep = static_cast<int64_t>(r.Number("SELECT MAX(id) FROM sweeps"));
    const std::string w = " WHERE sweep_id = " + std::to_string(s.sweep);
    s.configs = static_cast<int64_t>(r.Number("SELECT COUNT(*) FROM configs" + w));
    s.jobs = static_cast<int64_t>(r.Number("SELECT COUNT(*) FROM jobs" + w));
    s.points = static_cast<int64_t>(r.Number(
        "SELECT COUNT(*) FROM curve_points WHERE job_id IN (SELECT id FROM jobs" + w + ")"));
    s.states = static_cast<int64_t>(r.Number("SELECT COUNT(DISTINCT state) FROM jobs" + w));
    json spec = json::parse(r.Text("SELECT spec_json FROM sweeps" + w), nullptr, false);
    std::string ablated = "pal";
    if (spec.is_object() && spec.contains("ablation") && spec["ablation"].contains("optimizer"))
      ablated = spec["ablation"]["optimizer"].get<std::string>();
    s.ablation_jobs = static_cast<int64_t>(
        r.Number("SELECT COUNT(*) FROM jobs j JOIN configs c ON c.id = j.config_id WHERE "
                 "c.sweep_id = " + std::to_string(s.sweep) + " AND c.optimizer = '" + ablated + "'"));
    s.one_config = static_cast<int64_t>(r.Number("SELECT MIN(id) FROM configs" + w));
    s.one_points = PointsOf(&r, s.one_config);
    // Each optimizer's best, as `curves` picks them.
    double t = 0;
    const std::string out = dir + "/best.json";
    if (Run({gridsearch, "curves", "--db", s.path, "--bins", "1", "--format", "json"}, out, err,
            &t) != 0) {
      std::fprintf(stderr, "query_scale: gridsearch curves failed: %s\n", ReadFile(err).c_str());
      return 1;
    }
    json best = json::parse(ReadFile(out), nullptr, false);
    if (best.is_object() && best.contains("curves"))
      for (const auto& c : best["curves"]) s.best_points += PointsOf(&r, c["config_id"].get<int64_t>());
    s.bytes = FileBytes(s.path) + FileBytes(s.path + "-wal");
  }

  // The floor: start-up and opening a file, no sweep to read.
  const std::string empty = dir + "/empty.db";
  {
    Reader probe(sizes.back().path);
    const double version = probe.Number("PRAGMA user_version");
    unlink(empty.c_str());
    sqlite3* db = nullptr;
    sqlite3_open(empty.c_str(), &db);
    // The full file's schema, without its rows.
    std::string schema;
    sqlite3_stmt* st = nullptr;
    sqlite3* src = nullptr;
    sqlite3_open_v2(sizes.back().path.c_str(), &src, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL "
                            "AND name NOT LIKE 'sqlite_%'", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW)
      schema += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) + ";\n";
    sqlite3_finalize(st);
    sqlite3_close(src);
    sqlite3_exec(db, ("PRAGMA journal_mode=WAL;" + schema + "PRAGMA user_version=" +
                      std::to_string(static_cast<int>(version)) + ";").c_str(),
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  std::vector<double> floor_times;
  for (int i = 0; i <= runs; ++i) {
    double t = 0;
    if (Run({gridsearch, "status", "--db", empty}, "", err, &t) != 0) {
      std::fprintf(stderr, "query_scale: status on an empty file failed: %s\n", ReadFile(err).c_str());
      return 1;
    }
    if (i > 0) floor_times.push_back(t);
  }
  const double floor = *std::min_element(floor_times.begin(), floor_times.end());

  const std::string plots = dir + "/plots";
  std::vector<Query> queries = {
      {"status", 0.1, {"status"}, [](const Size& s) { return Rows(s.states, 0); }},
      {"results", 1, {"results"}, [](const Size& s) { return Rows(s.jobs, 0); }},
      {"results --best-per-optimizer --split all", 1,
       {"results", "--best-per-optimizer", "--split", "all"},
       [](const Size& s) { return Rows(s.jobs, 0); }},
      {"ablation", 1, {"ablation"}, [](const Size& s) { return Rows(2 * s.ablation_jobs, 0); }},
      {"epochs", 1, {"epochs"}, [](const Size& s) { return Rows(s.jobs, 0); }},
      {"curves --bins 100 --config ID", 1, {"curves", "--bins", "100", "--config", ""},
       [](const Size& s) { return Rows(0, s.one_points); }},
      {"curves --bins 100 (best per optimizer)", 1, {"curves", "--bins", "100"},
       [](const Size& s) { return Rows(s.jobs, s.best_points); }},
      {"plot", 1, {"plot", "--out", plots},
       [](const Size& s) { return Rows(s.jobs, 2 * s.best_points); }},
  };

  std::printf("query_scale: %s, median of %d runs (after one warm-up) of each command with --db\n",
              gridsearch.c_str(), runs);
  for (const auto& s : sizes)
    std::printf("  %-5s %s: %lld configurations, %lld jobs, %lld curve points, %s\n", s.label,
                s.path.c_str(), static_cast<long long>(s.configs), static_cast<long long>(s.jobs),
                static_cast<long long>(s.points), Mb(s.bytes).c_str());
  std::printf("  floor (fastest status on a file with no sweep: start-up, opening): %s\n\n",
              Ms(floor).c_str());

  bool all_ok = true;
  std::printf("%-40s %7s %9s %9s %9s   %-18s %-27s %-12s %-12s\n", "query", "goal", sizes[0].label,
              sizes[1].label, sizes[2].label, "cost (ms)", "rows read", "growth 1/100",
              "growth 1/10");
  std::printf("%-40s %7s %9s %9s %9s   %-18s %-27s %-12s %-12s\n", "", "", "", "", "", "", "",
              "-> 1/10", "-> full");
  for (const auto& q : queries) {
    double t[3], fastest[3];
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<std::string> args = {gridsearch};
      for (const auto& a : q.args) args.push_back(a.empty() ? std::to_string(sizes[k].one_config) : a);
      args.push_back("--db");
      args.push_back(sizes[k].path);
      std::vector<double> times;
      for (int i = 0; i <= runs; ++i) {
        double secs = 0;
        int rc = Run(args, "", err, &secs);
        if (rc != 0) {
          std::fprintf(stderr, "query_scale: `%s` on %s failed (%d): %s\n", q.name,
                       sizes[k].path.c_str(), rc, ReadFile(err).c_str());
          return 1;
        }
        if (i > 0) times.push_back(secs);
      }
      t[k] = Median(times);
      fastest[k] = *std::min_element(times.begin(), times.end());
    }
    const bool goal_ok = t[2] <= q.goal_seconds;
    std::string rows;
    for (size_t k = 0; k < sizes.size(); ++k) {
      const auto r = q.rows(sizes[k]);
      rows += (k ? " / " : "") + std::to_string(r.first + r.second);
    }
    std::string cost;
    for (size_t k = 0; k < sizes.size(); ++k) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%.0f", std::max(0.0, fastest[k] - floor) * 1e3);
      cost += (k ? " / " : "") + std::string(buf);
    }
    std::string growth[2];
    bool growth_ok = true;
    for (int k = 0; k < 2; ++k) {
      const double small = std::max(fastest[k] - floor, 1e-3);
      const double big = std::max(fastest[k + 1] - floor, 1e-3);
      const auto a = q.rows(sizes[k]), b = q.rows(sizes[k + 1]);
      auto ratio = [](int64_t from, int64_t to) {
        return from == 0 ? 0.0 : static_cast<double>(to) / static_cast<double>(from);
      };
      const double rows_ratio = std::max(ratio(a.first, b.first), ratio(a.second, b.second));
      const double g = (big / small) / rows_ratio;
      const bool ok = g <= 1.5 || big - small < 0.005;
      growth_ok = growth_ok && ok;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f %s", g, ok ? "ok" : "FAST");
      growth[k] = buf;
    }
    all_ok = all_ok && goal_ok && growth_ok;
    std::printf("%-40s %7s %9s %9s %9s%s  %-18s %-27s %-12s %-12s\n", q.name,
                Ms(q.goal_seconds).c_str(), Ms(t[0]).c_str(), Ms(t[1]).c_str(), Ms(t[2]).c_str(),
                goal_ok ? " " : "!", cost.c_str(), rows.c_str(), growth[0].c_str(),
                growth[1].c_str());
  }
  std::printf("(times: median wall time of the command; cost: its fastest run less the floor;\n"
              " !: over its goal on the full file; FAST: cost grew faster than its rows)\n");

  if (memory) {
    const Size& full = sizes.back();
    const std::string port_file = dir + "/coordinator.port";
    unlink(port_file.c_str());
    pid_t pid = 0;
    double t = 0;
    Run({gridsearch, "coordinator", "--db", full.path, "--listen", "127.0.0.1:0", "--port-file",
         port_file},
        "", dir + "/coordinator.log", &t, &pid);
    std::string address;
    for (int i = 0; i < 1200 && address.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      address = ReadFile(port_file);
      while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
    }
    double status_seconds = NAN;
    double rss_kb = NAN;
    if (!address.empty() &&
        Run({gridsearch, "status", "--coordinator", address}, "", err, &status_seconds) == 0) {
      std::ifstream proc("/proc/" + std::to_string(pid) + "/status");
      std::string line;
      while (std::getline(proc, line))
        if (line.rfind("VmRSS:", 0) == 0) rss_kb = std::atof(line.c_str() + 6);
    }
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    const bool ok = std::isfinite(rss_kb) && rss_kb * 1024 < 200e6;
    all_ok = all_ok && ok;
    std::printf("\ncoordinator on the full file: resident memory after one status %s (goal 200 MB)%s; "
                "that status through it took %s\n",
                std::isfinite(rss_kb) ? Mb(rss_kb * 1024).c_str() : "unknown", ok ? "" : " !",
                std::isfinite(status_seconds) ? Ms(status_seconds).c_str() : "-");
  }
  std::printf("%s\n", all_ok ? "every goal met" : "some goal missed");
  return all_ok ? 0 : 1;
}
