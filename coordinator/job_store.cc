#include "coordinator/job_store.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>

#include <nlohmann/json.hpp>

#include "common/catalog.h"
#include "common/text_escape.h"
#include "coordinator/checkpointer.h"
#include "coordinator/database.h"
#include "coordinator/metrics.h"

namespace gridsearch {
namespace {

// At most this many callers' operations share one transaction.
constexpr size_t kMaxGroupCommit = 512;
// A report's lease renewal is written to the job's row only when it moves
// the stored deadline by this much (or a tenth of the lease timeout, if
// less); see JobStore::RenewLease.
constexpr double kMaxRenewalStep = 5;
// A background checkpoint starts once the WAL holds this many pages (24
// MB; six times SQLite's own automatic checkpoint's): a page that several
// commits rewrite is copied back once per checkpoint, so fewer, larger runs
// copy less (at 2,000 simulated workers on 2 cores, the checkpoint thread
// took 12-13% of a core, against 16-18% with 1,000 pages). Much larger, and
// at 10,000 workers the writer's catch-ups more often wait for a long run.
constexpr int kCheckpointPages = 6000;
// When the background checkpoints have fallen this far behind (64 MB of
// 4-KB pages), the writer copies the WAL back itself before its next
// transaction: the WAL stays bounded under a load that never pauses.
constexpr int kCatchUpPages = 16000;

// One statement inserts up to this many points: a report's points cost one
// statement run per 16 instead of one each.
constexpr size_t kPointsPerInsert = 16;

// "INSERT OR REPLACE ... VALUES (...), (...)" with n rows, 1 <= n <= 16;
// the texts live as long as the program (prepared statements are cached by
// their text's address).
const char* InsertPointsSql(size_t n) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t(kPointsPerInsert + 1);
    for (size_t rows = 1; rows <= kPointsPerInsert; ++rows) {
      std::string sql =
          "INSERT OR REPLACE INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, "
          "loss, learning_rate) VALUES ";
      for (size_t r = 0; r < rows; ++r) sql += r == 0 ? "(?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?)";
      t[rows] = std::move(sql);
    }
    return t;
  }();
  return texts[n].c_str();
}

Status InsertPoints(Database* db, int64_t job_id, int64_t attempt,
                    const std::vector<CurvePoint>& points) {
  for (size_t first = 0; first < points.size(); first += kPointsPerInsert) {
    const size_t n = std::min(kPointsPerInsert, points.size() - first);
    Statement* st = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(InsertPointsSql(n), &st));
    for (size_t i = 0; i < n; ++i) {
      const CurvePoint& p = points[first + i];
      const int c = static_cast<int>(7 * i);
      st->Bind(c + 1, job_id).Bind(c + 2, attempt).Bind(c + 3, p.step).Bind(c + 4, p.elapsed_seconds);
      st->Bind(c + 5, p.epoch).Bind(c + 6, p.loss).Bind(c + 7, p.learning_rate);
    }
    GS_RETURN_IF_ERROR(st->Run());
  }
  return Status::OK();
}

struct JobRow {
  bool found = false;
  std::string state;
  std::string lease_id;
  int64_t attempts = 0;
  std::string worker_id;
  int64_t sweep_id = 0;
  double lease_deadline = 0;   // as stored (0: none)
};

Status LoadJob(Database* db, int64_t job_id, JobRow* row) {
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "SELECT state, COALESCE(lease_id, ''), attempts, COALESCE(worker_id, ''), sweep_id, "
      "COALESCE(lease_deadline, 0) FROM jobs WHERE id = ?1",
      &st));
  st->Bind(1, job_id);
  bool has = false;
  GS_RETURN_IF_ERROR(st->Step(&has));
  row->found = has;
  if (!has) return Status::NotFound("no job with id " + std::to_string(job_id));
  row->state = st->Text(0);
  row->lease_id = st->Text(1);
  row->attempts = st->Int(2);
  row->worker_id = st->Text(3);
  row->sweep_id = st->Int(4);
  row->lease_deadline = st->Double(5);
  st->Reset();
  return Status::OK();
}

// The lease check shared by report, complete and fail. A job whose lease
// expired but that nobody has leased since (state queued, same lease id) is
// taken back by its worker: the work was not lost, only late.
Status CheckLease(Database* db, int64_t job_id, const std::string& lease_id, double now,
                  double lease_timeout, JobRow* row) {
  GS_RETURN_IF_ERROR(LoadJob(db, job_id, row));
  if (lease_id.empty()) return Status::InvalidArgument("lease_id is empty");
  if (row->lease_id != lease_id)
    return Status::FailedPrecondition("stale lease for job " + std::to_string(job_id) +
                                      ": the job was leased again (attempt " +
                                      std::to_string(row->attempts) + ", state " + row->state +
                                      ")");
  if (row->state == "leased") return Status::OK();
  if (row->state == "queued") {
    Statement* st = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "UPDATE jobs SET state = 'leased', lease_deadline = ?2 WHERE id = ?1", &st));
    st->Bind(1, job_id).Bind(2, now + lease_timeout);
    GS_RETURN_IF_ERROR(st->Run());
    Statement* reopen = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "UPDATE leases SET outcome = NULL, ended_at = NULL WHERE lease_id = ?1", &reopen));
    reopen->Bind(1, lease_id);
    GS_RETURN_IF_ERROR(reopen->Run());
    row->state = "leased";
    row->lease_deadline = now + lease_timeout;
    return Status::OK();
  }
  if (row->state == "cancelled")
    return Status::FailedPrecondition("job " + std::to_string(job_id) +
                                      " was cancelled (its sweep was cancelled)");
  return Status::FailedPrecondition("job " + std::to_string(job_id) + " is already " + row->state);
}

// Moves a leased job's deadline (a renewal written to its row).
Status SetLeaseDeadline(Database* db, int64_t job_id, double deadline) {
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached("UPDATE jobs SET lease_deadline = ?2 WHERE id = ?1", &st));
  st->Bind(1, job_id).Bind(2, deadline);
  return st->Run();
}

// Closes a lease in the history with its outcome.
Status EndLease(Database* db, const std::string& lease_id, const char* outcome, double now) {
  if (lease_id.empty()) return Status::OK();
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "UPDATE leases SET outcome = ?2, ended_at = ?3 WHERE lease_id = ?1", &st));
  st->Bind(1, lease_id).Bind(2, std::string(outcome)).Bind(3, now);
  return st->Run();
}


// Refuses points that could not come from a real training loop.
Status CheckPoints(const std::vector<CurvePoint>& points, int max_points) {
  if (static_cast<int>(points.size()) > max_points)
    return Status::ResourceExhausted("report carries " + std::to_string(points.size()) +
                                     " points, more than the limit of " +
                                     std::to_string(max_points));
  for (size_t i = 0; i < points.size(); ++i) {
    const CurvePoint& p = points[i];
    if (p.step < 1)
      return Status::InvalidArgument("points[" + std::to_string(i) + "].step must be at least 1");
    if (!std::isfinite(p.elapsed_seconds) || p.elapsed_seconds < 0)
      return Status::InvalidArgument("points[" + std::to_string(i) +
                                     "].elapsed_seconds must be finite and non-negative");
    if (!std::isfinite(p.epoch) || p.epoch < 0)
      return Status::InvalidArgument("points[" + std::to_string(i) +
                                     "].epoch must be finite and non-negative");
  }
  return Status::OK();
}

// What a completion must carry before anything is written.
Status CheckCompletion(const std::string& lease_id, const std::vector<CurvePoint>& points,
                       int max_points) {
  GS_RETURN_IF_ERROR(CheckPoints(points, max_points));
  if (lease_id.empty()) return Status::InvalidArgument("lease_id is empty");
  return Status::OK();
}

// A worker's description as LeaseJob takes it: an id, and no field over 256
// characters or with a control character (it is printed in records and logs).
Status CheckWorker(const WorkerInfo& worker) {
  if (worker.id.empty()) return Status::InvalidArgument("worker_id is empty");
  if (worker.id.size() > 256 || worker.hostname.size() > 256 || worker.device.size() > 256 ||
      worker.software.size() > 256)
    return Status::InvalidArgument("worker_id, hostname, device and software are limited to 256 "
                                   "characters");
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"worker_id", &worker.id},
                                     {"hostname", &worker.hostname},
                                     {"device", &worker.device},
                                     {"software", &worker.software}}) {
    const std::string control = FirstControl(*value);
    if (!control.empty())
      return Status::InvalidArgument(std::string(field) + ": contains a control character (" +
                                     control + ")");
  }
  return Status::OK();
}

}  // namespace

// Borrows an idle reader connection for the life of the object.
class JobStore::ReaderLease {
 public:
  explicit ReaderLease(JobStore* store) : store_(store) {
    std::unique_lock<std::mutex> lock(store_->read_mu_);
    store_->read_cv_.wait(lock, [&] { return !store_->idle_readers_.empty(); });
    db_ = store_->idle_readers_.back();
    store_->idle_readers_.pop_back();
  }
  ~ReaderLease() {
    {
      std::lock_guard<std::mutex> lock(store_->read_mu_);
      store_->idle_readers_.push_back(db_);
    }
    store_->read_cv_.notify_one();
  }
  Database* db() { return db_; }

 private:
  JobStore* store_;
  Database* db_;
};

struct JobStore::WriteOp {
  std::function<Status(Database*)> fn;
  Status result;
  bool done = false;
  // Its caller waits here: a commit wakes the callers of its own batch, not
  // every caller waiting (thousands, under a cluster's load).
  std::condition_variable committed;
  // Set for an asynchronous write (allocated, freed by the answer thread).
  WriteCallback then;
  // Its transaction committed: its result holds once the WAL is synced.
  bool written = false;
};

JobStore::JobStore(const CoordinatorOptions& options, Clock* clock)
    : options_(options), clock_(clock), rng_(std::random_device{}()) {}

Status JobStore::Open(const CoordinatorOptions& options, Clock* clock,
                      std::unique_ptr<JobStore>* out) {
  if (options.db_path.empty()) return Status::InvalidArgument("no database path given (--db)");
  if (options.lease_timeout_seconds <= 0)
    return Status::InvalidArgument("lease timeout must be positive");
  if (options.max_attempts < 1) return Status::InvalidArgument("max attempts must be at least 1");
  std::unique_ptr<JobStore> store(new JobStore(options, clock ? clock : SystemClock::Get()));
  GS_RETURN_IF_ERROR(Database::Open(options.db_path, false, &store->writer_db_));
  // Commits are made durable by the answer thread's WalSync, before anyone
  // is answered, while the writer goes on (see wal_sync.h).
  GS_RETURN_IF_ERROR(store->writer_db_->Exec("PRAGMA synchronous=NORMAL"));
  store->wal_sync_ = std::make_unique<WalSync>(options.db_path);
  GS_RETURN_IF_ERROR(Checkpointer::Start(options.db_path, store->writer_db_.get(),
                                         kCheckpointPages, kCatchUpPages, &store->checkpointer_));
  for (int i = 0; i < std::max(1, options.reader_connections); ++i) {
    std::unique_ptr<Database> reader;
    GS_RETURN_IF_ERROR(Database::Open(options.db_path, true, &reader));
    store->idle_readers_.push_back(reader.get());
    store->readers_.push_back(std::move(reader));
  }
  // Named, for top -H, perf and /proc/PID/task/*/comm.
  store->writer_ = std::thread([s = store.get()] {
    pthread_setname_np(pthread_self(), "gs-writer");
    s->WriterLoop();
  });
  store->answerer_ = std::thread([s = store.get()] {
    pthread_setname_np(pthread_self(), "gs-answer");
    s->AnswerLoop();
  });
  *out = std::move(store);
  return Status::OK();
}

JobStore::~JobStore() { Shutdown(); }

void JobStore::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (stopping_ && !writer_.joinable() && !answerer_.joinable()) return;
    stopping_ = true;
  }
  write_cv_.notify_all();
  StopLeasing();
  // The writer commits what is queued; then the answer thread answers it.
  if (writer_.joinable()) writer_.join();
  checkpointer_.reset();
  {
    std::lock_guard<std::mutex> lock(answer_mu_);
    answer_stop_ = true;
  }
  answer_cv_.notify_all();
  if (answerer_.joinable()) answerer_.join();
}

Status JobStore::Write(std::function<Status(Database*)> fn) {
  WriteOp op;
  op.fn = std::move(fn);
  std::unique_lock<std::mutex> lock(write_mu_);
  if (stopping_) return Status::Unavailable("coordinator is shutting down");
  pending_.push_back(&op);
  write_cv_.notify_one();
  op.committed.wait(lock, [&] { return op.done; });
  return op.result;
}

void JobStore::WriteAsync(std::function<Status(Database*)> fn, WriteCallback then) {
  auto op = std::make_unique<WriteOp>();
  op->fn = std::move(fn);
  op->then = std::move(then);
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!stopping_) {
      pending_.push_back(op.release());
      write_cv_.notify_one();
      return;
    }
  }
  op->then(Status::Unavailable("coordinator is shutting down"));
}

void JobStore::AnswerLoop() {
  while (true) {
    LeaseWaiters::Clock::time_point next;
    {
      std::lock_guard<std::mutex> lock(lease_mu_);
      next = waiters_.NextDeadline(tried_through_);
    }
    std::deque<WriteOp*> batch;
    bool stop = false;
    {
      std::unique_lock<std::mutex> lock(answer_mu_);
      // A waiter's deadline only counts once it has had a try, and every
      // try ends with an answer here: the wait never needs cutting short.
      auto ready = [&] { return !answers_.empty() || answer_stop_; };
      if (next == LeaseWaiters::Clock::time_point::max()) answer_cv_.wait(lock, ready);
      else answer_cv_.wait_until(lock, next, ready);
      batch.swap(answers_);
      stop = answer_stop_ && batch.empty();
    }
    if (!batch.empty()) AnswerWritten(batch);
    AnswerExpiredWaiters();
    if (stop) return;
  }
}

void JobStore::AnswerWritten(const std::deque<WriteOp*>& batch) {
  // One flush for every commit written so far; nobody hears of a commit
  // before it is on the disk.
  bool written = false;
  for (WriteOp* op : batch) written = written || op->written;
  if (written) {
    const auto sync_start = std::chrono::steady_clock::now();
    const Status synced = wal_sync_->Sync();
    if (metrics_ != nullptr)
      metrics_->ObserveWalSync(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_start).count(),
          synced.ok());
    if (!synced.ok()) {
      std::fprintf(stderr, "coordinator: %s\n", synced.ToString().c_str());
      for (WriteOp* op : batch)
        if (op->written && op->result.ok()) op->result = synced;
    }
  }
  std::vector<std::unique_ptr<WriteOp>> asynchronous;
  {
    // Under the lock: a woken caller returns (and its op is gone) only
    // once the lock is released, after the last touch of its op here.
    std::lock_guard<std::mutex> lock(write_mu_);
    for (WriteOp* op : batch) {
      if (op->then) {
        asynchronous.emplace_back(op);
        continue;
      }
      op->done = true;
      op->committed.notify_one();
    }
  }
  for (auto& op : asynchronous) op->then(op->result);
}

void JobStore::AnswerExpiredWaiters() {
  std::vector<LeaseWaiters::Waiter> expired;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    expired = waiters_.TakeExpired(LeaseWaiters::Clock::now(), tried_through_);
  }
  for (auto& w : expired) w.done(LeaseReply{});  // no job came in time
}

void JobStore::WriterLoop() {
  Database* db = writer_db_.get();
  while (true) {
    std::vector<WriteOp*> batch;
    {
      std::unique_lock<std::mutex> lock(write_mu_);
      write_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, nothing left to write
      while (!pending_.empty() && batch.size() < kMaxGroupCommit) {
        batch.push_back(pending_.front());
        pending_.pop_front();
      }
    }
    const auto catch_up_start = std::chrono::steady_clock::now();
    if (checkpointer_->CatchUpIfBehind() && metrics_ != nullptr)
      metrics_->ObserveCatchUp(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - catch_up_start).count());
    const auto commit_start = std::chrono::steady_clock::now();
    Status begin = db->ExecCached("BEGIN IMMEDIATE");
    for (size_t i = 0; i < batch.size(); ++i) {
      WriteOp* op = batch[i];
      if (!begin.ok()) {
        op->result = begin;
        continue;
      }
      // A savepoint per operation: one caller's failure leaves the others'.
      Status sp = db->ExecCached("SAVEPOINT op");
      if (!sp.ok()) {
        op->result = sp;
        continue;
      }
      try {
        op->result = op->fn(db);
      } catch (const std::exception& e) {
        op->result = Status::Internal(std::string("write failed: ") + e.what());
      }
      if (!db->TransactionOpen()) {
        // SQLite rolled the whole transaction back by itself (a full disk,
        // an I/O error): nothing of this batch was written, so no caller of
        // it may be told otherwise, and the rest must not run outside a
        // transaction.
        const Status cause =
            op->result.ok() ? Status::Internal("the transaction was rolled back") : op->result;
        // The others did nothing wrong: theirs is worth a retry, unless the
        // cause (a full disk) says when.
        const Status others =
            cause.code() == Status::kResourceExhausted
                ? cause
                : Status::Unavailable("the write was rolled back with another: " + cause.message());
        for (WriteOp* other : batch) other->result = other == op ? cause : others;
        begin = cause;  // nothing more runs, and there is nothing to commit
        break;
      }
      if (!op->result.ok()) db->ExecCached("ROLLBACK TO op");
      db->ExecCached("RELEASE op");
    }
    bool committed = false;
    if (begin.ok()) {
      Status commit = db->ExecCached("COMMIT");
      committed = commit.ok();
      if (!commit.ok()) {
        db->Exec("ROLLBACK");
        for (WriteOp* op : batch)
          if (op->result.ok()) op->result = commit.WithContext("commit");
      }
    }
    if (metrics_ != nullptr)
      metrics_->ObserveCommit(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count(),
          batch.size(), committed);
    for (WriteOp* op : batch) op->written = committed;
    // Made durable and answered on another thread, while this one goes on
    // to the next transaction.
    {
      std::lock_guard<std::mutex> lock(answer_mu_);
      answers_.insert(answers_.end(), batch.begin(), batch.end());
    }
    answer_cv_.notify_one();
  }
}

std::string JobStore::NewLeaseId() {
  std::lock_guard<std::mutex> lock(spec_mu_);
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(rng_()));
  return buf;
}

Status JobStore::SpecFor(Database* db, int64_t sweep_id, std::shared_ptr<const SweepSpec>* spec) {
  {
    std::lock_guard<std::mutex> lock(spec_mu_);
    auto it = specs_.find(sweep_id);
    if (it != specs_.end()) {
      *spec = it->second;
      return Status::OK();
    }
  }
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached("SELECT spec_json FROM sweeps WHERE id = ?1", &st));
  st->Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(st->Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
  std::string text = st->Text(0);
  st->Reset();
  auto parsed = std::make_shared<SweepSpec>();
  SpecLimits unlimited;
  unlimited.max_jobs = INT64_MAX;
  unlimited.max_spec_bytes = SIZE_MAX;
  GS_RETURN_IF_ERROR(ParseSweepSpec(text, unlimited, parsed.get())
                         .WithContext("stored spec of sweep " + std::to_string(sweep_id)));
  std::lock_guard<std::mutex> lock(spec_mu_);
  specs_[sweep_id] = parsed;
  *spec = parsed;
  return Status::OK();
}

Status JobStore::SubmitSweep(const std::string& spec_json, int64_t* sweep_id, int64_t* total_jobs,
                             int64_t* configurations) {
  auto spec = std::make_shared<SweepSpec>();
  GS_RETURN_IF_ERROR(ParseSweepSpec(spec_json, options_.spec_limits, spec.get()));
  std::vector<GridPoint> grid = ExpandGrid(*spec);
  const double now = clock_->Now();
  int64_t id = 0;
  GS_RETURN_IF_ERROR(Write([&](Database* db) -> Status {
    Statement st;
    GS_RETURN_IF_ERROR(db->Prepare(
        "INSERT INTO sweeps (name, spec_json, model, dataset, budget_seconds, total_jobs, "
        "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &st));
    st.Bind(1, spec->name).Bind(2, spec->canonical_json).Bind(3, SweepModelLabel(*spec));
    st.Bind(4, SweepDatasetLabel(*spec)).Bind(5, spec->budget_seconds);
    st.Bind(6, CountJobs(*spec)).Bind(7, now);
    GS_RETURN_IF_ERROR(st.Run());
    id = db->LastInsertId();
    Statement cfg, job;
    GS_RETURN_IF_ERROR(db->Prepare(
        "INSERT INTO configs (sweep_id, optimizer, params_json) VALUES (?1, ?2, ?3)", &cfg));
    GS_RETURN_IF_ERROR(
        db->Prepare("INSERT INTO jobs (sweep_id, config_id, seed) VALUES (?1, ?2, ?3)", &job));
    std::vector<int64_t> config_ids;
    config_ids.reserve(grid.size());
    for (const auto& point : grid) {
      cfg.Reset();
      cfg.Bind(1, id).Bind(2, point.optimizer).Bind(3, point.params_json);
      GS_RETURN_IF_ERROR(cfg.Run());
      config_ids.push_back(db->LastInsertId());
    }
    // Seed-major order: every configuration's first seed runs before any
    // second seed, so a partial sweep already covers the whole grid.
    for (int64_t seed : spec->seeds) {
      for (int64_t config_id : config_ids) {
        job.Reset();
        job.Bind(1, id).Bind(2, config_id).Bind(3, seed);
        GS_RETURN_IF_ERROR(job.Run());
      }
    }
    return Status::OK();
  }));
  {
    std::lock_guard<std::mutex> lock(spec_mu_);
    specs_[id] = spec;
  }
  WakeLeaseWaiters();
  *sweep_id = id;
  *total_jobs = CountJobs(*spec);
  *configurations = static_cast<int64_t>(grid.size());
  return Status::OK();
}

Status JobStore::LeaseInTransaction(Database* db, const WorkerInfo& worker, double now,
                                    bool* has_job, LeasedJob* leased) {
  *has_job = false;
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "SELECT j.id, j.sweep_id, j.seed, j.attempts, c.optimizer, c.params_json "
      "FROM jobs j JOIN configs c ON c.id = j.config_id "
      "WHERE j.state = 'queued' ORDER BY j.id LIMIT 1",
      &st));
  bool row = false;
  GS_RETURN_IF_ERROR(st->Step(&row));
  if (!row) return Status::OK();
  JobSpec& job = leased->job;
  const int64_t job_id = st->Int(0);
  const int64_t sweep_id = st->Int(1);
  const int64_t seed = st->Int(2);
  const int32_t attempt = static_cast<int32_t>(st->Int(3)) + 1;
  const std::string optimizer = st->Text(4);
  const std::string params_json = st->Text(5);
  st->Reset();
  std::shared_ptr<const SweepSpec> spec;
  GS_RETURN_IF_ERROR(SpecFor(db, sweep_id, &spec));
  // The same construction as `gridsearch train`'s, so both train one job alike.
  GS_RETURN_IF_ERROR(MakeJobSpec(*spec, optimizer, params_json, seed, &job));
  job.job_id = job_id;
  job.sweep_id = sweep_id;
  job.attempt = attempt;
  leased->lease_id = NewLeaseId();
  leased->lease_timeout_seconds = options_.lease_timeout_seconds;

  Statement* up = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "UPDATE jobs SET state = 'leased', attempts = attempts + 1, lease_id = ?2, "
      "lease_deadline = ?3, worker_id = ?4, started_at = ?5 WHERE id = ?1",
      &up));
  up->Bind(1, job.job_id).Bind(2, leased->lease_id);
  up->Bind(3, now + options_.lease_timeout_seconds).Bind(4, worker.id).Bind(5, now);
  GS_RETURN_IF_ERROR(up->Run());
  Statement* hist = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "INSERT INTO leases (lease_id, job_id, attempt, worker_id, leased_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)",
      &hist));
  hist->Bind(1, leased->lease_id).Bind(2, job.job_id).Bind(3, static_cast<int64_t>(job.attempt));
  hist->Bind(4, worker.id).Bind(5, now);
  GS_RETURN_IF_ERROR(hist->Run());
  Statement* w = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "INSERT INTO workers (id, hostname, device, software, first_seen, last_seen) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(id) DO UPDATE SET hostname = ?2, "
      "device = ?3, software = ?4, last_seen = ?5",
      &w));
  w->Bind(1, worker.id).Bind(2, worker.hostname).Bind(3, worker.device);
  w->Bind(4, worker.software).Bind(5, now);
  GS_RETURN_IF_ERROR(w->Run());
  *has_job = true;
  return Status::OK();
}

namespace {

// Waits for an asynchronous write's answer.
Status AwaitWrite(const std::function<void(JobStore::WriteCallback)>& start) {
  std::promise<Status> answer;
  std::future<Status> result = answer.get_future();
  start([&answer](const Status& s) { answer.set_value(s); });
  return result.get();
}

LeaseReply AwaitLease(const std::function<void(LeaseCallback)>& start) {
  std::promise<LeaseReply> answer;
  std::future<LeaseReply> result = answer.get_future();
  start([&answer](LeaseReply r) { answer.set_value(std::move(r)); });
  return result.get();
}

}  // namespace

Status JobStore::LeaseJob(const WorkerInfo& worker, double wait_seconds, bool* has_job,
                          LeasedJob* leased) {
  LeaseReply r = AwaitLease(
      [&](LeaseCallback done) { LeaseJobAsync(worker, wait_seconds, std::move(done)); });
  *has_job = r.has_job;
  if (r.has_job) *leased = std::move(r.leased);
  return r.status;
}

void JobStore::LeaseJobAsync(const WorkerInfo& worker, double wait_seconds, LeaseCallback done) {
  Status valid = CheckWorker(worker);
  if (!valid.ok()) return done(LeaseReply{valid});
  if (!std::isfinite(wait_seconds)) wait_seconds = 0;
  wait_seconds = std::max(0.0, std::min(wait_seconds, options_.max_lease_wait_seconds));
  const auto deadline = LeaseWaiters::Clock::now() +
                        std::chrono::duration_cast<LeaseWaiters::Clock::duration>(
                            std::chrono::duration<double>(wait_seconds));
  bool added = false, serve = false;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    if (!leasing_stopped_.load()) {
      // Every lease goes through the queue of waiters: first come, first
      // served, and one write leases to many.
      waiters_.Add(worker, deadline, std::move(done));
      added = true;
      serve = !serve_scheduled_;
      serve_scheduled_ = true;
    }
  }
  if (!added) return done(LeaseReply{});  // draining for shutdown: no new lease
  if (serve) ServeWaiters();
}

void JobStore::ServeWaiters() {
  struct Served {
    LeaseWaiters::Waiter waiter;
    LeaseReply reply;
  };
  auto served = std::make_shared<std::vector<Served>>();
  WriteAsync(
      [this, served](Database* db) -> Status {
        uint64_t through = 0;
        {
          std::lock_guard<std::mutex> lock(lease_mu_);
          serve_scheduled_ = false;  // a waiter or a job from now on queues another serve
          through = waiters_.last_seq();
        }
        const double now = clock_->Now();
        while (true) {
          LeaseWaiters::Waiter w;
          {
            std::lock_guard<std::mutex> lock(lease_mu_);
            if (leasing_stopped_.load() || !waiters_.PopFront(&w)) break;
          }
          served->push_back({std::move(w), LeaseReply{}});
          LeaseReply& r = served->back().reply;
          // A savepoint per lease: one that fails (a job that cannot be
          // built) takes nothing from the others.
          GS_RETURN_IF_ERROR(db->ExecCached("SAVEPOINT lease_one"));
          Status s = LeaseInTransaction(db, served->back().waiter.worker, now, &r.has_job, &r.leased);
          if (!db->TransactionOpen()) return s.ok() ? Status::Internal("the transaction was rolled back") : s;
          if (!s.ok()) {
            db->ExecCached("ROLLBACK TO lease_one");
            r = LeaseReply{s};
          }
          db->ExecCached("RELEASE lease_one");
          if (s.ok() && !r.has_job) {
            // Nothing queued: this one waits on, in its place, and so do
            // those behind it.
            std::lock_guard<std::mutex> lock(lease_mu_);
            waiters_.PutBack(std::move(served->back().waiter));
            served->pop_back();
            break;
          }
        }
        std::lock_guard<std::mutex> lock(lease_mu_);
        tried_through_ = std::max(tried_through_, through);
        return Status::OK();
      },
      [served](const Status& committed) {
        for (Served& s : *served) {
          // A transaction that did not commit leased nothing: worth a retry.
          if (!committed.ok()) s.reply = LeaseReply{committed};
          s.waiter.done(std::move(s.reply));
        }
      });
}

Status JobStore::ReportProgress(int64_t job_id, const std::string& lease_id,
                                const std::vector<CurvePoint>& points) {
  return AwaitWrite([&](WriteCallback done) {
    ReportProgressAsync(job_id, lease_id, points, std::move(done));
  });
}

void JobStore::ReportProgressAsync(int64_t job_id, std::string lease_id,
                                   std::vector<CurvePoint> points, WriteCallback done) {
  Status valid = CheckPoints(points, options_.max_points_per_report);
  if (!valid.ok()) return done(valid);
  const double now = clock_->Now();
  WriteAsync(
      [this, job_id, lease_id = std::move(lease_id), points = std::move(points),
       now](Database* db) -> Status {
        JobRow row;
        GS_RETURN_IF_ERROR(
            CheckLease(db, job_id, lease_id, now, options_.lease_timeout_seconds, &row));
        GS_RETURN_IF_ERROR(InsertPoints(db, job_id, row.attempts, points));
        return RenewLease(db, job_id, lease_id, row.lease_deadline, now);
      },
      std::move(done));
}

Status JobStore::RenewLease(Database* db, int64_t job_id, const std::string& lease_id,
                            double stored_deadline, double now) {
  const double deadline = now + options_.lease_timeout_seconds;
  const double step = std::min(kMaxRenewalStep, options_.lease_timeout_seconds / 10);
  if (deadline - stored_deadline < step) {
    // Rewriting the job's row at every report was a third of the pages a
    // cluster's reports wrote: the later deadline waits here, and
    // ExpireLeases reads it before it expires anything.
    renewals_[job_id] = Renewal{lease_id, deadline};
    return Status::OK();
  }
  renewals_.erase(job_id);
  return SetLeaseDeadline(db, job_id, deadline);
}

Status JobStore::CompleteJob(int64_t job_id, const std::string& lease_id, const JobResult& r,
                             const std::vector<CurvePoint>& points) {
  return AwaitWrite([&](WriteCallback done) {
    CompleteJobAsync(job_id, lease_id, r, points, std::move(done));
  });
}

void JobStore::CompleteJobAsync(int64_t job_id, std::string lease_id, JobResult r,
                                std::vector<CurvePoint> points, WriteCallback done) {
  Status valid = CheckCompletion(lease_id, points, options_.max_points_per_report);
  if (!valid.ok()) return done(valid);
  const double now = clock_->Now();
  const bool diverged = r.diverged;
  auto repeated = std::make_shared<bool>(false);
  WriteAsync(
      [this, job_id, lease_id = std::move(lease_id), r = std::move(r), points = std::move(points),
       now, repeated](Database* db) {
        return CompleteInTransaction(db, job_id, lease_id, r, points, now, repeated.get());
      },
      [this, done = std::move(done), repeated, diverged](const Status& s) {
        if (s.ok() && metrics_ != nullptr && !*repeated) metrics_->CountCompletion(diverged);
        done(s);
      });
}

Status JobStore::CompleteInTransaction(Database* db, int64_t job_id, const std::string& lease_id,
                                       const JobResult& r, const std::vector<CurvePoint>& points,
                                       double now, bool* repeated) {
  JobRow row;
  GS_RETURN_IF_ERROR(LoadJob(db, job_id, &row));
  // Which attempt this lease was, from the lease history.
  Statement* find = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "SELECT attempt, worker_id, COALESCE(outcome, '') FROM leases WHERE lease_id = ?1 AND "
      "job_id = ?2",
      &find));
  find->Bind(1, lease_id).Bind(2, job_id);
  bool known = false;
  GS_RETURN_IF_ERROR(find->Step(&known));
  if (!known)
    return Status::FailedPrecondition("lease " + lease_id + " was never given for job " +
                                      std::to_string(job_id));
  int64_t attempt = find->Int(0);
  std::string worker = find->Text(1);
  const std::string outcome = find->Text(2);
  find->Reset();

  if (row.state == "done" || row.state == "diverged") {
    Statement* fin = nullptr;
    GS_RETURN_IF_ERROR(db->Cached("SELECT finished_attempt FROM jobs WHERE id = ?1", &fin));
    fin->Bind(1, job_id);
    bool has = false;
    GS_RETURN_IF_ERROR(fin->Step(&has));
    int64_t finished = has ? fin->Int(0) : -1;
    fin->Reset();
    // The same completion delivered twice (a retry after a lost reply).
    // (A released lease can share the attempt number of the one that
    // finished: only this lease's own completion is a repeat.)
    if (finished == attempt && outcome == "completed") {
      if (repeated != nullptr) *repeated = true;
      return Status::OK();
    }
    return Status::FailedPrecondition("job " + std::to_string(job_id) +
                                      " was already completed by attempt " +
                                      std::to_string(finished));
  }
  if (row.state != "queued" && row.state != "leased")
    return Status::FailedPrecondition("job " + std::to_string(job_id) + " is " + row.state);
  // Accepted: by the current lease, or late (its lease expired) while no
  // other attempt has completed the job. A later attempt still running is
  // told at its next report.
  if (row.lease_id != lease_id && !row.lease_id.empty())
    GS_RETURN_IF_ERROR(EndLease(db, row.lease_id, "superseded", now));
  GS_RETURN_IF_ERROR(EndLease(db, lease_id, "completed", now));
  renewals_.erase(job_id);
  GS_RETURN_IF_ERROR(InsertPoints(db, job_id, attempt, points));
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "UPDATE jobs SET state = ?2, lease_deadline = NULL, finished_at = ?3, "
      "setup_seconds = ?4, train_seconds = ?5, eval_seconds = ?6, steps = ?7, epochs = ?8, "
      "final_train_loss = ?9, log_loss_integral = ?10, test_loss = ?11, test_accuracy = ?12, "
      "device = ?13, software = ?14, finished_attempt = ?15, worker_id = ?16 WHERE id = ?1",
      &st));
  st->Bind(1, job_id).Bind(2, std::string(r.diverged ? "diverged" : "done")).Bind(3, now);
  st->Bind(4, r.setup_seconds).Bind(5, r.train_seconds).Bind(6, r.eval_seconds);
  st->Bind(7, r.steps).Bind(8, r.epochs).Bind(9, r.final_train_loss);
  st->Bind(10, r.log_loss_integral).Bind(11, r.test_loss).Bind(12, r.test_accuracy);
  st->Bind(13, r.device).Bind(14, r.software).Bind(15, attempt).Bind(16, worker);
  GS_RETURN_IF_ERROR(st->Run());
  Statement* w = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "UPDATE workers SET jobs_done = jobs_done + 1, last_seen = ?2 WHERE id = ?1", &w));
  w->Bind(1, worker).Bind(2, now);
  return w->Run();
}

Status JobStore::CompleteAndLease(int64_t job_id, const std::string& lease_id, const JobResult& r,
                                  const std::vector<CurvePoint>& points, const WorkerInfo& worker,
                                  bool* has_job, LeasedJob* leased) {
  LeaseReply reply = AwaitLease([&](LeaseCallback done) {
    CompleteAndLeaseAsync(job_id, lease_id, r, points, worker, std::move(done));
  });
  *has_job = reply.has_job;
  if (reply.has_job) *leased = std::move(reply.leased);
  return reply.status;
}

void JobStore::CompleteAndLeaseAsync(int64_t job_id, std::string lease_id, JobResult r,
                                     std::vector<CurvePoint> points, WorkerInfo worker,
                                     LeaseCallback done) {
  Status valid = CheckCompletion(lease_id, points, options_.max_points_per_report);
  if (valid.ok()) valid = CheckWorker(worker);
  if (!valid.ok()) return done(LeaseReply{valid});
  const double now = clock_->Now();
  const bool diverged = r.diverged;
  struct State {
    bool repeated = false;
    LeaseReply reply;
  };
  auto state = std::make_shared<State>();
  WriteAsync(
      [this, job_id, lease_id = std::move(lease_id), r = std::move(r), points = std::move(points),
       worker = std::move(worker), now, state](Database* db) -> Status {
        State& st = *state;
        st = State();
        GS_RETURN_IF_ERROR(
            CompleteInTransaction(db, job_id, lease_id, r, points, now, &st.repeated));
        if (st.repeated) {
          // The first call's reply was lost: the lease it gave (in the same
          // transaction, so at the completion's time) is handed out again.
          bool found = false;
          GS_RETURN_IF_ERROR(RedeliverLease(db, worker, lease_id, &found, &st.reply.leased));
          if (found) {
            st.reply.has_job = true;
            return Status::OK();
          }
        }
        if (leasing_stopped_.load()) return Status::OK();
        // The lease half in a savepoint of its own: if it fails (a job that
        // cannot be built), the completion stands and nothing is leased.
        GS_RETURN_IF_ERROR(db->ExecCached("SAVEPOINT lease_half"));
        Status lease = LeaseInTransaction(db, worker, now, &st.reply.has_job, &st.reply.leased);
        if (!db->TransactionOpen()) return lease;  // rolled back whole: the batch fails
        if (!lease.ok()) {
          st.reply.has_job = false;
          db->ExecCached("ROLLBACK TO lease_half");
        }
        db->ExecCached("RELEASE lease_half");
        return Status::OK();
      },
      [this, done = std::move(done), state, diverged](const Status& s) {
        if (!s.ok()) return done(LeaseReply{s});
        if (metrics_ != nullptr && !state->repeated) metrics_->CountCompletion(diverged);
        // No waiting here when nothing is queued: a lease is only ever given
        // in the completion's transaction (which is how a repeated call
        // finds it); the worker long-polls with LeaseJob.
        done(std::move(state->reply));
      });
}

Status JobStore::RedeliverLease(Database* db, const WorkerInfo& worker,
                                const std::string& completed_lease, bool* found,
                                LeasedJob* leased) {
  *found = false;
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(db->Cached(
      "SELECT l.lease_id, l.job_id, j.sweep_id, j.seed, j.attempts, c.optimizer, c.params_json "
      "FROM leases l JOIN jobs j ON j.id = l.job_id JOIN configs c ON c.id = j.config_id "
      "WHERE l.worker_id = ?1 AND l.outcome IS NULL AND j.state = 'leased' "
      "AND j.lease_id = l.lease_id "
      "AND l.leased_at = (SELECT ended_at FROM leases WHERE lease_id = ?2) LIMIT 1",
      &st));
  st->Bind(1, worker.id).Bind(2, completed_lease);
  bool row = false;
  GS_RETURN_IF_ERROR(st->Step(&row));
  if (!row) return Status::OK();
  const std::string lease_id = st->Text(0);
  const int64_t job_id = st->Int(1), sweep_id = st->Int(2), seed = st->Int(3);
  const int32_t attempt = static_cast<int32_t>(st->Int(4));
  const std::string optimizer = st->Text(5), params_json = st->Text(6);
  st->Reset();
  std::shared_ptr<const SweepSpec> spec;
  GS_RETURN_IF_ERROR(SpecFor(db, sweep_id, &spec));
  GS_RETURN_IF_ERROR(MakeJobSpec(*spec, optimizer, params_json, seed, &leased->job));
  // Handed out again now: its deadline starts again too.
  GS_RETURN_IF_ERROR(
      SetLeaseDeadline(db, job_id, clock_->Now() + options_.lease_timeout_seconds));
  leased->job.job_id = job_id;
  leased->job.sweep_id = sweep_id;
  leased->job.attempt = attempt;
  leased->lease_id = lease_id;
  leased->lease_timeout_seconds = options_.lease_timeout_seconds;
  *found = true;
  return Status::OK();
}

Status JobStore::ReleaseJob(int64_t job_id, const std::string& lease_id) {
  const double now = clock_->Now();
  Status s = Write([&](Database* db) -> Status {
    JobRow row;
    GS_RETURN_IF_ERROR(CheckLease(db, job_id, lease_id, now, options_.lease_timeout_seconds, &row));
    // The attempt is given back, not spent; its partial curve goes too.
    Statement* pts = nullptr;
    GS_RETURN_IF_ERROR(
        db->Cached("DELETE FROM curve_points WHERE job_id = ?1 AND attempt = ?2", &pts));
    pts->Bind(1, job_id).Bind(2, row.attempts);
    GS_RETURN_IF_ERROR(pts->Run());
    GS_RETURN_IF_ERROR(EndLease(db, lease_id, "released", now));
    renewals_.erase(job_id);
    Statement* st = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_id = NULL, "
        "lease_deadline = NULL WHERE id = ?1",
        &st));
    st->Bind(1, job_id);
    return st->Run();
  });
  if (s.ok()) WakeLeaseWaiters();
  return s;
}

Status JobStore::RetrySweep(int64_t sweep_id, int64_t* requeued) {
  Status s = Write([&](Database* db) -> Status {
    Statement st;
    GS_RETURN_IF_ERROR(db->Prepare("SELECT cancelled FROM sweeps WHERE id = ?1", &st));
    st.Bind(1, sweep_id);
    bool row = false;
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
    if (st.Int(0) != 0)
      return Status::FailedPrecondition("sweep " + std::to_string(sweep_id) +
                                        " was cancelled; submit it again instead");
    Statement up;
    GS_RETURN_IF_ERROR(db->Prepare(
        "UPDATE jobs SET state = 'queued', attempts = 0, lease_id = NULL, lease_deadline = NULL, "
        "finished_at = NULL WHERE sweep_id = ?1 AND state = 'failed'",
        &up));
    up.Bind(1, sweep_id);
    GS_RETURN_IF_ERROR(up.Run());
    *requeued = db->Changes();
    return Status::OK();
  });
  if (s.ok() && *requeued > 0) WakeLeaseWaiters();
  return s;
}

void JobStore::WakeLeaseWaiters() {
  bool serve = false;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    serve = !waiters_.empty() && !serve_scheduled_;
    if (serve) serve_scheduled_ = true;
  }
  if (serve) ServeWaiters();
}

void JobStore::StopLeasing() {
  std::vector<LeaseWaiters::Waiter> waiting;
  {
    std::lock_guard<std::mutex> lock(lease_mu_);
    leasing_stopped_.store(true);
    waiting = waiters_.TakeAll();
  }
  for (auto& w : waiting) w.done(LeaseReply{});
}

Status JobStore::FailJob(int64_t job_id, const std::string& lease_id, const std::string& error,
                         bool* will_retry) {
  const double now = clock_->Now();
  *will_retry = false;
  std::string message = error.empty() ? "worker reported a failure without a message" : error;
  if (message.size() > 8192) message = TruncateUtf8(message, 8192) + "...";
  Status s = Write([&](Database* db) -> Status {
    JobRow row;
    GS_RETURN_IF_ERROR(CheckLease(db, job_id, lease_id, now, options_.lease_timeout_seconds, &row));
    *will_retry = row.attempts < options_.max_attempts;
    GS_RETURN_IF_ERROR(EndLease(db, lease_id, "failed", now));
    renewals_.erase(job_id);
    Statement* st = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "UPDATE jobs SET state = ?2, error = ?3, lease_deadline = NULL, "
        "finished_at = CASE WHEN ?2 = 'failed' THEN ?4 ELSE NULL END WHERE id = ?1",
        &st));
    st->Bind(1, job_id).Bind(2, std::string(*will_retry ? "queued" : "failed"));
    st->Bind(3, "attempt " + std::to_string(row.attempts) + " on " + row.worker_id + ": " + message);
    st->Bind(4, now);
    return st->Run();
  });
  if (s.ok() && *will_retry) WakeLeaseWaiters();
  if (s.ok() && metrics_ != nullptr) metrics_->CountFailure(!*will_retry);
  return s;
}

Status JobStore::CancelSweep(int64_t sweep_id, int64_t* cancelled_jobs) {
  const double now = clock_->Now();
  return Write([&](Database* db) -> Status {
    Statement st;
    GS_RETURN_IF_ERROR(db->Prepare("UPDATE sweeps SET cancelled = 1 WHERE id = ?1", &st));
    st.Bind(1, sweep_id);
    GS_RETURN_IF_ERROR(st.Run());
    if (db->Changes() == 0) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
    Statement jobs;
    GS_RETURN_IF_ERROR(db->Prepare(
        "UPDATE jobs SET state = 'cancelled', finished_at = ?2, lease_deadline = NULL "
        "WHERE sweep_id = ?1 AND state IN ('queued', 'leased')",
        &jobs));
    Statement leases;
    GS_RETURN_IF_ERROR(db->Prepare(
        "UPDATE leases SET outcome = 'cancelled', ended_at = ?2 WHERE outcome IS NULL AND "
        "job_id IN (SELECT id FROM jobs WHERE sweep_id = ?1 AND state = 'leased')",
        &leases));
    leases.Bind(1, sweep_id).Bind(2, now);
    GS_RETURN_IF_ERROR(leases.Run());
    jobs.Bind(1, sweep_id).Bind(2, now);
    GS_RETURN_IF_ERROR(jobs.Run());
    *cancelled_jobs = db->Changes();
    return Status::OK();
  });
}

Status JobStore::ExpireLeases(int* expired) {
  const double now = clock_->Now();
  *expired = 0;
  int requeued = 0;
  GS_RETURN_IF_ERROR(Write([&](Database* db) -> Status {
    Statement* sel = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "SELECT id, attempts, COALESCE(worker_id, ''), COALESCE(lease_id, '') FROM jobs "
        "WHERE state = 'leased' AND lease_deadline < ?1",
        &sel));
    sel->Bind(1, now);
    struct Expired {
      int64_t id, attempts;
      std::string worker, lease;
    };
    std::vector<Expired> list;
    bool row = false;
    while (true) {
      GS_RETURN_IF_ERROR(sel->Step(&row));
      if (!row) break;
      list.push_back({sel->Int(0), sel->Int(1), sel->Text(2), sel->Text(3)});
    }
    sel->Reset();
    Statement* up = nullptr;
    GS_RETURN_IF_ERROR(db->Cached(
        "UPDATE jobs SET state = ?2, error = ?3, lease_deadline = NULL, "
        "finished_at = CASE WHEN ?2 = 'failed' THEN ?4 ELSE NULL END WHERE id = ?1",
        &up));
    int kept = 0;
    for (const auto& e : list) {
      auto renewal = renewals_.find(e.id);
      if (renewal != renewals_.end()) {
        const Renewal r = renewal->second;
        renewals_.erase(renewal);
        if (r.lease_id == e.lease && r.deadline >= now) {
          // Renewed by a report since the stored deadline: not expired.
          GS_RETURN_IF_ERROR(SetLeaseDeadline(db, e.id, r.deadline));
          ++kept;
          continue;
        }
      }
      bool retry = e.attempts < options_.max_attempts;
      up->Reset();
      up->Bind(1, e.id).Bind(2, std::string(retry ? "queued" : "failed"));
      up->Bind(3, "attempt " + std::to_string(e.attempts) + " on " + e.worker +
                      ": lease expired (no report for " +
                      std::to_string(static_cast<int>(options_.lease_timeout_seconds)) + " s)");
      up->Bind(4, now);
      GS_RETURN_IF_ERROR(up->Run());
      GS_RETURN_IF_ERROR(EndLease(db, e.lease, "expired", now));
      if (retry) ++requeued;
    }
    *expired = static_cast<int>(list.size()) - kept;
    return Status::OK();
  }));
  if (metrics_ != nullptr && *expired > 0) metrics_->CountLeaseExpiries(*expired, *expired - requeued);
  if (requeued > 0) WakeLeaseWaiters();
  return Status::OK();
}

Status LoadSweepSummary(Database* db, int64_t sweep_id, double now, SweepSummary* s) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT name, model, dataset, budget_seconds, total_jobs, cancelled, created_at "
      "FROM sweeps WHERE id = ?1",
      &st));
  st.Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));
  *s = SweepSummary();
  s->id = sweep_id;
  s->name = st.Text(0);
  s->model = st.Text(1);
  s->dataset = st.Text(2);
  s->budget_seconds = st.Double(3);
  s->total = st.Int(4);
  bool cancelled = st.Int(5) != 0;
  s->created_at = st.Double(6);

  // Kept per state by triggers (sql/migrations/004_status_summary.sql): a
  // few rows, whatever the sweep's size.
  Statement counts;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT state, jobs FROM sweep_job_counts WHERE sweep_id = ?1", &counts));
  counts.Bind(1, sweep_id);
  while (true) {
    GS_RETURN_IF_ERROR(counts.Step(&row));
    if (!row) break;
    std::string state = counts.Text(0);
    int64_t n = counts.Int(1);
    if (state == "queued") s->queued = n;
    else if (state == "leased") s->leased = n;
    else if (state == "done") s->done = n;
    else if (state == "failed") s->failed = n;
    else if (state == "diverged") s->diverged = n;
    else if (state == "cancelled") s->cancelled = n;
  }
  // One probe of the index jobs_started, and the sweep's leased jobs only.
  Statement times;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT (SELECT MIN(started_at) FROM jobs WHERE sweep_id = ?1), "
      "(SELECT COUNT(DISTINCT worker_id) FROM jobs WHERE sweep_id = ?1 AND state = 'leased')",
      &times));
  times.Bind(1, sweep_id);
  GS_RETURN_IF_ERROR(times.Step(&row));
  double first_start = times.Double(0);
  s->active_workers = times.Int(1);

  int64_t finished = s->done + s->failed + s->diverged;
  int64_t remaining = s->queued + s->leased;
  if (std::isfinite(first_start)) s->elapsed_seconds = std::max(0.0, now - first_start);
  if (finished > 0 && s->elapsed_seconds > 0) {
    double per_second = finished / s->elapsed_seconds;
    s->jobs_per_minute = per_second * 60;
    s->eta_seconds = remaining / per_second;
  } else if (remaining > 0 && s->active_workers > 0) {
    // Nothing finished yet: every job takes at least its budget.
    double waves = std::ceil(static_cast<double>(remaining) / s->active_workers);
    s->eta_seconds = waves * s->budget_seconds;
  }
  if (remaining == 0) s->eta_seconds = 0;
  s->state = cancelled ? "cancelled" : (remaining == 0 ? "finished" : "running");
  return Status::OK();
}

Status JobStore::GetSweep(int64_t sweep_id, SweepSummary* summary) {
  ReaderLease reader(this);
  return LoadSweepSummary(reader.db(), sweep_id, clock_->Now(), summary);
}

Status JobStore::ListSweeps(std::vector<SweepSummary>* sweeps) {
  ReaderLease reader(this);
  return LoadSweepSummaries(reader.db(), clock_->Now(), sweeps);
}

Status LoadSweepSummaries(Database* db, double now, std::vector<SweepSummary>* sweeps) {
  sweeps->clear();
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT id FROM sweeps ORDER BY id", &st));
  std::vector<int64_t> ids;
  bool row = false;
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  for (int64_t id : ids) {
    SweepSummary s;
    GS_RETURN_IF_ERROR(LoadSweepSummary(db, id, now, &s));
    sweeps->push_back(std::move(s));
  }
  return Status::OK();
}

Status JobStore::QueryRanking(int64_t sweep_id, const std::string& metric,
                              std::vector<RankedConfigRow>* rows) {
  ReaderLease reader(this);
  return gridsearch::QueryRanking(reader.db(), sweep_id, metric, rows);
}

Status JobStore::RenderTable(const TableRequest& request, std::string* out) {
  ReaderLease reader(this);
  return gridsearch::RenderTable(reader.db(), request, out);
}

Status JobStore::Read(const std::function<Status(Database*)>& fn) {
  ReaderLease reader(this);
  // One read transaction: every statement of `fn` sees the same snapshot.
  GS_RETURN_IF_ERROR(reader.db()->Exec("BEGIN"));
  Status s;
  try {
    s = fn(reader.db());
  } catch (...) {
    reader.db()->Exec("ROLLBACK");
    throw;
  }
  reader.db()->Exec(s.ok() ? "COMMIT" : "ROLLBACK");
  return s;
}

Status JobStore::CountWorkers(WorkerCounts* counts) {
  ReaderLease reader(this);
  Statement st;
  GS_RETURN_IF_ERROR(reader.db()->Prepare(
      "SELECT (SELECT COUNT(*) FROM workers WHERE last_seen >= ?1 OR id IN "
      "(SELECT worker_id FROM jobs WHERE state = 'leased')), "
      "(SELECT COUNT(DISTINCT worker_id) FROM jobs WHERE state = 'leased')",
      &st));
  st.Bind(1, clock_->Now() - options_.lease_timeout_seconds);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  counts->seen = st.Int(0);
  counts->busy = st.Int(1);
  return Status::OK();
}

}  // namespace gridsearch
