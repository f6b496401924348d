// cluster_sim: a simulated cluster against one real coordinator process over
// loopback. N simulated GPU workers, many per thread on gRPC's async API and
// a few channels (so that the client side stays cheap), send a cluster's
// traffic: a long-poll LeaseJob, one ReportProgress per flush interval with
// that interval's curve points (steps_per_second x flush), an empty report
// (a heartbeat) when a worker has sent nothing for lease_timeout / 3 (as
// worker/progress_reporter.cc does), and at the end of each job's budget a
// CompleteAndLease with the last points, which leases the next job.
//
// Phases: the workers lease their first jobs spread over --ramp seconds,
// each first job at a random point of its budget (so completions are steady
// from the start); once every worker holds a job and one flush interval has
// passed, --seconds of this traffic are measured (steady). Then, unless
// --saturate 0, the same reports go back to back for --saturate seconds
// (each worker's next flush as soon as its last is answered, so up to one
// call per worker in flight, or --inflight if given, once the steady
// window's calls are answered): the coordinator's capacity. A cap well
// under the number of workers measures the client's concurrency instead:
// the coordinator then waits for calls between commits.
//
// Printed: sustained reports/s, points/s and completions/s; client-side
// p50/p99/p999 per RPC; the coordinator's CPU seconds per 1,000 RPCs
// (/proc/PID/stat) and its resident memory per connected worker (VmRSS
// before the workers connect and once all hold a job); its group commits
// and WAL flushes (from /metrics); each of its threads' time on a CPU and waiting for one
// (/proc/PID/task/*/schedstat, by thread name), and the writer's own CPU
// per write. Checked: every point the coordinator acknowledged is
// stored exactly once (per job, against curve_points in the file, which the
// sim opens read-only once the coordinator has exited), and every
// acknowledged completion is a finished job.
//
// Baseline (the storage floor), measured in the same run after the
// coordinator has exited: a raw loop inserting the same rows (reports of the
// same number of points, round-robin over as many jobs as workers, with the
// coordinator's INSERT) into a fresh file with the project's schema and
// pragmas (WAL, synchronous=FULL), each transaction one fsync, of the size
// of what one of the coordinator's WAL flushes made durable (points per
// flush; the coordinator commits without waiting for the disk and flushes
// on another thread, see coordinator/wal_sync.h).
//
// Baseline B, for completions: one durable transaction per completion (the
// job's points and its row marked done), no RPC, as coordinator_throughput
// measures it. Completions are only the coordinator's limit with short
// jobs (--budget 2 --flush 1: a report and a CompleteAndLease per job).
//
// Exit status 0 when the exactly-once checks hold, no call failed and the
// coordinator exited cleanly; the goals are printed with their ratios, not
// enforced.
//
// usage: cluster_sim [--workers 2000] [--flush 1] [--seconds 60] [--budget 30] [--channels 8]
//                    [--threads 2] [--dir /tmp] [--steps-per-second 10] [--ramp 5]
//                    [--setup 0] [--saturate 10] [--inflight 0] [--floor-seconds 4]
//                    [--jobs N] [--lease-timeout 60] [--gridsearch PATH] [--keep]
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include "coordinator/database.h"
#include "proto/gridsearch.grpc.pb.h"

using namespace gridsearch;

namespace {

struct SimOptions {
  // --- The cluster ---
  int workers = 2000;              // simulated GPU workers
  double flush_seconds = 1;        // one report per interval
  int steps_per_second = 10;       // curve points per simulated second of training
  double budget_seconds = 30;      // each job's training time
  double setup_seconds = 0;        // per job, before its first step (no points, heartbeats only)
  double lease_timeout_seconds = 60;  // the coordinator's; heartbeats go every third of it

  // --- The run ---
  double ramp_seconds = 5;         // first leases spread over this long
  double seconds = 60;             // steady traffic measured
  double saturate_seconds = 10;    // back-to-back reports measured (0: none)
  int inflight = 0;                // calls in flight while saturating (0: every worker's)
  double floor_seconds = 4;        // the storage floor's loop
  int64_t jobs = 0;                // the sweep's size (0: enough for the run)

  // --- The client ---
  int channels = 8;                // connections, shared by the workers
  int threads = 2;                 // completion-queue threads driving the workers

  std::string dir = "/tmp";
  std::string gridsearch = GRIDSEARCH_BIN;
  bool keep = false;               // keep the files
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::chrono::system_clock::time_point SystemIn(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '/')) s.pop_back();
  return s;
}

// ---------------------------------------------------------------------------
// The coordinator: a child process, its /proc figures and its /metrics.

struct ProcSample {
  double cpu_seconds = 0;   // utime + stime, all threads
  double rss_kb = 0;        // VmRSS
  double hwm_kb = 0;        // VmHWM: peak resident
  int threads = 0;
};

ProcSample SampleProc(pid_t pid) {
  ProcSample s;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the command (which may hold spaces) in parentheses.
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> fields;
    while (in >> field) fields.push_back(field);
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    if (fields.size() > 12)
      s.cpu_seconds = (std::atof(fields[11].c_str()) + std::atof(fields[12].c_str())) /
                      static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atof(line.c_str() + 6);
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_kb = std::atof(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atoi(line.c_str() + 8);
  }
  return s;
}

// Per thread of the coordinator, by name ("gs-writer", "gs-answer",
// "gs-checkpoint"; gRPC's and the rest as "other"): seconds on a CPU and
// seconds runnable but waiting for one (/proc/PID/task/*/schedstat).
struct ThreadTimes {
  double cpu = 0, waiting = 0;
};
std::map<std::string, ThreadTimes> SampleThreads(pid_t pid) {
  std::map<std::string, ThreadTimes> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task/";
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return out;
  while (dirent* e = readdir(d.get())) {
    if (e->d_name[0] == '.') continue;
    std::string name = Trim(ReadFile(dir + e->d_name + "/comm"));
    if (name.rfind("gs-", 0) != 0) name = "other";
    std::istringstream in(ReadFile(dir + e->d_name + "/schedstat"));
    double run_ns = 0, wait_ns = 0;
    in >> run_ns >> wait_ns;
    out[name].cpu += run_ns * 1e-9;
    out[name].waiting += wait_ns * 1e-9;
  }
  return out;
}

class CoordinatorProcess {
 public:
  // Starts `gridsearch coordinator` on loopback ports over `db`; waits for
  // its port and dashboard URL files.
  bool Start(const SimOptions& o, const std::string& base, const std::string& db) {
    port_file_ = base + ".port";
    url_file_ = base + ".url";
    log_ = base + ".coordinator.log";
    const std::vector<std::string> argv = {
        o.gridsearch,  "coordinator",     "--db",   db,        "--listen", "127.0.0.1:0",
        "--port-file", port_file_,        "--http", "127.0.0.1:0", "--http-url-file", url_file_,
        "--lease-timeout", std::to_string(o.lease_timeout_seconds)};
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
      }
      execv(args[0], args.data());
      _exit(127);
    }
    for (int i = 0; i < 1200 && (address_.empty() || http_.empty()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      address_ = Trim(ReadFile(port_file_));
      http_ = Trim(ReadFile(url_file_));
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
    }
    return !address_.empty() && !http_.empty();
  }

  // SIGTERM (a graceful shutdown), SIGKILL after 30 s. Returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return 137;
  }

  ~CoordinatorProcess() { Stop(); }

  // The /metrics text as name{labels} -> value.
  std::map<std::string, double> Metrics() const {
    std::map<std::string, double> out;
    httplib::Client client(http_);
    client.set_read_timeout(30);
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return out;
    std::istringstream in(res->body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.rfind(' ');
      if (space == std::string::npos) continue;
      out[line.substr(0, space)] = std::atof(line.c_str() + space + 1);
    }
    return out;
  }

  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }
  const std::string& log() const { return log_; }
  void RemoveFiles() const {
    for (const auto& f : {port_file_, url_file_, log_}) std::remove(f.c_str());
  }

 private:
  pid_t pid_ = -1;
  std::string port_file_, url_file_, log_, address_, http_;
};

// ---------------------------------------------------------------------------
// The simulated workers.

enum Phase { kRamp = 0, kSteady, kSaturateWarm, kSaturate, kStop, kPhases };
enum Rpc { kLease = 0, kReport, kHeartbeat, kComplete, kRpcs };
const char* const kRpcNames[kRpcs] = {"LeaseJob", "ReportProgress", "  (heartbeat)",
                                      "CompleteAndLease"};

struct Counts {
  int64_t rpcs = 0;           // answered, whatever the answer
  int64_t reports = 0;        // ReportProgress with points, OK
  int64_t heartbeats = 0;     // empty ReportProgress, OK
  int64_t points = 0;         // acknowledged points (reports and completions)
  int64_t completions = 0;    // CompleteAndLease, OK
  int64_t leases = 0;         // jobs leased (by LeaseJob or CompleteAndLease)
  int64_t empty_leases = 0;   // LeaseJob that came back without a job
  int64_t errors = 0;
  int64_t lost_leases = 0;    // FAILED_PRECONDITION: the worker dropped its job

  void Add(const Counts& o) {
    rpcs += o.rpcs;
    reports += o.reports;
    heartbeats += o.heartbeats;
    points += o.points;
    completions += o.completions;
    leases += o.leases;
    empty_leases += o.empty_leases;
    errors += o.errors;
    lost_leases += o.lost_leases;
  }
};

struct ThreadStats {
  Counts counts[kPhases];
  std::vector<float> latency[kPhases][kRpcs];              // seconds, by the call's start
  std::map<std::string, int64_t> errors;                   // "RPC: CODE message" -> count
  std::unordered_map<int64_t, int64_t> acked;              // job -> points acknowledged
  std::unordered_map<int64_t, int64_t> in_doubt;           // job -> points sent, never answered OK
  int64_t completed_jobs_acked = 0;
  int64_t completions_in_doubt = 0;   // sent, never answered OK
};

struct Worker;

// One RPC in flight; its address is the completion queue's tag.
struct Call {
  Rpc rpc = kLease;
  Worker* worker = nullptr;
  Phase phase = kRamp;
  double start = 0;
  int64_t job_id = 0;
  int64_t last_step = 0;     // the highest step the call carries
  int64_t points = 0;
  grpc::ClientContext ctx;
  grpc::Status status;
  v1::LeaseJobResponse lease;
  v1::ReportProgressResponse report;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::LeaseJobResponse>> lease_reader;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ReportProgressResponse>> report_reader;
};

struct Worker {
  int index = 0;
  v1::LeaseJobRequest lease_request;   // worker id, host, device; kept for every lease
  bool started = false;                // its first lease was sent
  bool has_job = false;
  bool first_job = true;
  int64_t job_id = 0;
  std::string lease_id;
  double sim_elapsed = 0;              // simulated training seconds of the job
  bool ended = false;                  // the budget is spent: complete next
  bool complete_sent = false;          // its completion went at least once
  int64_t generated = 0;               // last step trained
  int64_t acked_upto = 0;              // last step acknowledged
  int64_t max_sent = 0;                // last step sent in any call
  double last_sent = 0;                // when the last report or completion went
  uint32_t flush_generation = 0;       // invalidates older flush timers
  Call* inflight = nullptr;            // at most one call per worker
  bool queued = false;                 // in the ready queue (saturation)
};

struct Timer {
  double at;
  int worker;
  uint32_t generation;   // a flush timer of this generation; kAnyGeneration: a retry
  bool operator>(const Timer& o) const { return at > o.at; }
};
constexpr uint32_t kAnyGeneration = 0xffffffffu;

bool Transient(grpc::StatusCode c) {
  return c == grpc::StatusCode::UNAVAILABLE || c == grpc::StatusCode::DEADLINE_EXCEEDED ||
         c == grpc::StatusCode::RESOURCE_EXHAUSTED || c == grpc::StatusCode::ABORTED;
}

// Drives its share of the workers from one completion queue.
class SimThread {
 public:
  SimThread(const SimOptions& o, std::vector<std::unique_ptr<v1::Coordinator::Stub>>* stubs,
            const std::atomic<int>* phase, const std::atomic<bool>* abort,
            std::atomic<int64_t>* first_leases, double start, uint64_t seed)
      : o_(o),
        stubs_(stubs),
        phase_(phase),
        abort_(abort),
        first_leases_(first_leases),
        start_(start),
        rng_(seed),
        budget_steps_(static_cast<int64_t>(std::llround(o.budget_seconds * o.steps_per_second))),
        inflight_cap_(o.inflight == 0 ? o.workers
                                      : std::max(1, o.inflight / std::max(1, o.threads))) {}

  void AddWorker(int index) {
    auto w = std::make_unique<Worker>();
    w->index = index;
    v1::LeaseJobRequest& r = w->lease_request;
    r.set_worker_id("sim-" + std::to_string(index));
    r.set_hostname("sim-node-" + std::to_string(index / 8));
    r.set_device("cuda:" + std::to_string(index % 8));
    r.set_software("cluster_sim");
    r.set_wait_seconds(kLeaseWaitSeconds);
    // First leases spread evenly over the ramp.
    const double at = start_ + o_.ramp_seconds * index / std::max(1, o_.workers);
    timers_.push({at, static_cast<int>(workers_.size()), kAnyGeneration});
    workers_.push_back(std::move(w));
  }

  void Run() {
    while (true) {
      const Phase phase = static_cast<Phase>(phase_->load());
      if (phase >= kSaturateWarm && phase < kStop && !saturating_) EnterSaturation();
      if (phase == kStop && !stopping_) EnterStop();
      if (abort_->load() && !aborted_) {
        aborted_ = true;
        for (auto& w : workers_)
          if (w->inflight != nullptr) w->inflight->ctx.TryCancel();
      }
      FireTimers(Now());
      Pump();
      if (stopping_ && inflight_ == 0) break;
      double wait = 0.05;
      if (!timers_.empty() && !stopping_) wait = std::min(wait, std::max(0.0, timers_.top().at - Now()));
      void* tag = nullptr;
      bool ok = false;
      auto got = cq_.AsyncNext(&tag, &ok, SystemIn(wait));
      if (got == grpc::CompletionQueue::SHUTDOWN) break;
      // Answers that are already there are handled (up to a few hundred)
      // before the timers are looked at again.
      for (int n = 0; got == grpc::CompletionQueue::GOT_EVENT; ++n) {
        OnAnswer(static_cast<Call*>(tag));
        if (n == kAnswersPerTimerCheck) break;
        got = cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now());
      }
    }
    // What was sent and never acknowledged may or may not be stored.
    for (auto& w : workers_) {
      if (w->has_job && w->max_sent > w->acked_upto)
        stats_.in_doubt[w->job_id] += w->max_sent - w->acked_upto;
      if (w->has_job && w->complete_sent) ++stats_.completions_in_doubt;
    }
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  }

  ThreadStats& stats() { return stats_; }
  // Calls in flight; read by the main thread.
  int inflight() const { return inflight_now_.load(std::memory_order_relaxed); }

 private:
  static constexpr double kLeaseWaitSeconds = 30;
  static constexpr double kRetrySeconds = 0.2;
  static constexpr int kAnswersPerTimerCheck = 256;

  Phase phase() const { return static_cast<Phase>(phase_->load()); }
  v1::Coordinator::Stub* StubFor(const Worker& w) {
    return (*stubs_)[w.index % stubs_->size()].get();
  }

  void FireTimers(double now) {
    while (!timers_.empty() && timers_.top().at <= now) {
      const Timer t = timers_.top();
      timers_.pop();
      if (stopping_) continue;
      Worker& w = *workers_[t.worker];
      if (t.generation == kAnyGeneration) {
        // A first lease or a retry after a transient error.
        if (w.inflight == nullptr) Next(w);
      } else if (t.generation == w.flush_generation) {
        OnFlush(w, t.at);
      }
    }
  }

  // Steady traffic: one simulated flush interval has passed.
  void OnFlush(Worker& w, double at) {
    if (!w.has_job || w.ended) return;
    Train(w);
    if (!w.ended) timers_.push({at + o_.flush_seconds, Index(w), w.flush_generation});
    if (w.inflight == nullptr) Next(w);
  }

  // One flush interval of simulated training.
  void Train(Worker& w) {
    w.sim_elapsed += o_.flush_seconds;
    const int64_t steps = static_cast<int64_t>(std::floor(w.sim_elapsed * o_.steps_per_second + 1e-9));
    w.generated = std::max(w.generated, std::min(steps, budget_steps_));
    if (w.sim_elapsed >= o_.budget_seconds - 1e-9) w.ended = true;
  }

  int Index(const Worker& w) const { return w.index / std::max(1, o_.threads); }

  // The worker's next call, if any is due: a lease, its completion, its
  // pending points, or a heartbeat.
  void Next(Worker& w) {
    if (w.inflight != nullptr || stopping_) return;
    if (saturating_) {
      if (!w.queued) {
        w.queued = true;
        ready_.push_back(&w);
      }
      return;
    }
    Send(w);
  }

  void Send(Worker& w) {
    if (!w.has_job) return StartLease(w);
    if (w.ended) return StartComplete(w);
    if (w.generated > w.acked_upto) return StartReport(w);
    if (Now() - w.last_sent >= o_.lease_timeout_seconds / 3) return StartReport(w);  // heartbeat
  }

  // Saturation: ready workers go while fewer than the cap are in flight,
  // each training one more flush interval at once when nothing is pending.
  void Pump() {
    while (saturating_ && !stopping_ && inflight_ < inflight_cap_ && !ready_.empty()) {
      Worker& w = *ready_.front();
      ready_.pop_front();
      w.queued = false;
      if (w.inflight != nullptr) continue;
      if (w.has_job && !w.ended && w.generated == w.acked_upto) Train(w);
      Send(w);
    }
  }

  void EnterSaturation() {
    saturating_ = true;
    for (auto& w : workers_) {
      ++w->flush_generation;   // no more flush timers
      if (w->inflight == nullptr && w->started) Next(*w);
    }
  }

  void EnterStop() {
    stopping_ = true;
    ready_.clear();
    for (auto& w : workers_) {
      w->queued = false;
      // A long-poll would hold the stop for its whole wait.
      if (w->inflight != nullptr && w->inflight->rpc == kLease) w->inflight->ctx.TryCancel();
    }
  }

  Call* NewCall(Worker& w, Rpc rpc, double deadline_seconds) {
    auto* c = new Call();
    c->rpc = rpc;
    c->worker = &w;
    c->phase = phase();
    c->ctx.set_deadline(SystemIn(deadline_seconds));
    w.inflight = c;
    ++inflight_;
    inflight_now_.store(inflight_, std::memory_order_relaxed);
    return c;
  }

  void StartLease(Worker& w) {
    w.started = true;
    Call* c = NewCall(w, kLease, kLeaseWaitSeconds + 10);
    c->lease_reader = StubFor(w)->PrepareAsyncLeaseJob(&c->ctx, w.lease_request, &cq_);
    c->start = Now();
    c->lease_reader->StartCall();
    c->lease_reader->Finish(&c->lease, &c->status, c);
  }

  void AddPoints(Worker& w, google::protobuf::RepeatedPtrField<v1::CurvePoint>* out, Call* c) {
    for (int64_t step = w.acked_upto + 1; step <= w.generated; ++step) {
      v1::CurvePoint* p = out->Add();
      const double t = static_cast<double>(step) / o_.steps_per_second;
      p->set_step(step);
      p->set_elapsed_seconds(t);
      p->set_epoch(step / 600.0);
      p->set_loss(2.0 / (1.0 + 0.05 * t) + 0.01 * std::sin(static_cast<double>(step)));
      p->set_learning_rate(0.1);
    }
    c->job_id = w.job_id;
    c->last_step = w.generated;
    c->points = w.generated - w.acked_upto;
    w.max_sent = std::max(w.max_sent, w.generated);
    w.last_sent = Now();
  }

  void StartReport(Worker& w) {
    v1::ReportProgressRequest req;
    req.set_job_id(w.job_id);
    req.set_lease_id(w.lease_id);
    Call* c = NewCall(w, kReport, 60);
    AddPoints(w, req.mutable_points(), c);
    if (c->points == 0) c->rpc = kHeartbeat;
    c->report_reader = StubFor(w)->PrepareAsyncReportProgress(&c->ctx, req, &cq_);
    c->start = Now();
    c->report_reader->StartCall();
    c->report_reader->Finish(&c->report, &c->status, c);
  }

  void StartComplete(Worker& w) {
    v1::CompleteAndLeaseRequest req;
    v1::CompleteJobRequest* done = req.mutable_complete();
    done->set_job_id(w.job_id);
    done->set_lease_id(w.lease_id);
    v1::JobMetrics* m = done->mutable_metrics();
    const double t = o_.budget_seconds;
    m->set_train_seconds(t);
    m->set_steps(budget_steps_);
    m->set_epochs(budget_steps_ / 600.0);
    m->set_final_train_loss(2.0 / (1.0 + 0.05 * t));
    m->set_log_loss_integral(std::log(2.0 / (1.0 + 0.05 * t)) * t);
    m->set_test_loss(2.1 / (1.0 + 0.05 * t));
    m->set_test_accuracy(0.9);
    m->set_device(w.lease_request.device());
    m->set_software("cluster_sim");
    *req.mutable_lease() = w.lease_request;
    Call* c = NewCall(w, kComplete, 60);
    w.complete_sent = true;
    AddPoints(w, done->mutable_points(), c);
    c->lease_reader = StubFor(w)->PrepareAsyncCompleteAndLease(&c->ctx, req, &cq_);
    c->start = Now();
    c->lease_reader->StartCall();
    c->lease_reader->Finish(&c->lease, &c->status, c);
  }

  // A job arrived (LeaseJob or CompleteAndLease).
  void BeginJob(Worker& w, const v1::LeaseJobResponse& lease, Phase phase) {
    w.has_job = true;
    w.ended = false;
    w.complete_sent = false;
    w.job_id = lease.job().job_id();
    w.lease_id = lease.lease_id();
    w.sim_elapsed = -o_.setup_seconds;
    w.last_sent = Now();
    ++stats_.counts[phase].leases;
    double first_flush = o_.flush_seconds;
    if (w.first_job) {
      // Somewhere in its budget already, its first flush somewhere in the
      // interval: the cluster's reports and completions are steady at once.
      w.first_job = false;
      first_leases_->fetch_add(1);
      const int intervals = std::max(1, static_cast<int>(o_.budget_seconds / o_.flush_seconds));
      w.sim_elapsed = o_.flush_seconds * std::uniform_int_distribution<int>(0, intervals - 1)(rng_);
      first_flush = std::uniform_real_distribution<double>(0, o_.flush_seconds)(rng_);
    }
    w.generated = std::max<int64_t>(
        0, static_cast<int64_t>(std::floor(w.sim_elapsed * o_.steps_per_second + 1e-9)));
    w.acked_upto = w.max_sent = w.generated;
    ++w.flush_generation;
    if (!saturating_) timers_.push({Now() + first_flush, Index(w), w.flush_generation});
  }

  void DropJob(Worker& w) {
    if (w.max_sent > w.acked_upto) stats_.in_doubt[w.job_id] += w.max_sent - w.acked_upto;
    w.has_job = false;
    w.ended = false;
    w.complete_sent = false;
    ++w.flush_generation;
  }

  void Retry(Worker& w, double seconds) {
    timers_.push({Now() + seconds, Index(w), kAnyGeneration});
  }

  void OnAnswer(Call* c) {
    std::unique_ptr<Call> owned(c);
    Worker& w = *c->worker;
    w.inflight = nullptr;
    --inflight_;
    inflight_now_.store(inflight_, std::memory_order_relaxed);
    const double now = Now();
    const Phase at = phase();
    Counts& n = stats_.counts[at];
    ++n.rpcs;
    if (c->status.ok()) stats_.latency[c->phase][c->rpc].push_back(static_cast<float>(now - c->start));
    const grpc::StatusCode code = c->status.error_code();
    if (!c->status.ok() && !(stopping_ && code == grpc::StatusCode::CANCELLED)) {
      ++n.errors;
      std::string text = std::string(kRpcNames[c->rpc]) + ": " + std::to_string(code) + " " +
                         c->status.error_message().substr(0, 160);
      ++stats_.errors[text];
    }
    switch (c->rpc) {
      case kLease:
        if (c->status.ok()) {
          if (c->lease.found()) {
            BeginJob(w, c->lease, at);
          } else {
            ++n.empty_leases;
          }
        } else if (!stopping_) {
          Retry(w, Transient(code) ? kRetrySeconds : 1.0);
          return;
        }
        break;
      case kReport:
      case kHeartbeat:
        if (c->status.ok()) {
          if (c->rpc == kHeartbeat) ++n.heartbeats;
          else ++n.reports;
          n.points += c->points;
          stats_.acked[c->job_id] += c->points;
          w.acked_upto = std::max(w.acked_upto, c->last_step);
        } else if (code == grpc::StatusCode::FAILED_PRECONDITION) {
          ++n.lost_leases;
          DropJob(w);
        } else if (!stopping_) {
          // Kept, and sent again with the next flush (as a real worker does).
          Retry(w, kRetrySeconds);
          return;
        }
        break;
      case kComplete:
        if (c->status.ok()) {
          ++n.completions;
          ++stats_.completed_jobs_acked;
          n.points += c->points;
          stats_.acked[c->job_id] += c->points;
          w.acked_upto = std::max(w.acked_upto, c->last_step);
          w.has_job = false;
          if (c->lease.found()) BeginJob(w, c->lease, at);
        } else if (code == grpc::StatusCode::FAILED_PRECONDITION) {
          ++n.lost_leases;
          DropJob(w);
        } else if (!stopping_) {
          // Repeating a completion is harmless: the first call's lease comes back.
          Retry(w, kRetrySeconds);
          return;
        }
        break;
      default:
        break;
    }
    if (!stopping_) Next(w);
  }

  const SimOptions& o_;
  std::vector<std::unique_ptr<v1::Coordinator::Stub>>* stubs_;
  const std::atomic<int>* phase_;
  const std::atomic<bool>* abort_;
  std::atomic<int64_t>* first_leases_;
  const double start_;
  std::mt19937_64 rng_;
  const int64_t budget_steps_;
  const int inflight_cap_;

  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::deque<Worker*> ready_;
  int inflight_ = 0;
  std::atomic<int> inflight_now_{0};
  bool saturating_ = false;
  bool stopping_ = false;
  bool aborted_ = false;
  ThreadStats stats_;
};

// ---------------------------------------------------------------------------
// The storage floor.

struct FloorResult {
  double points_per_second = 0;
  int64_t reports_per_transaction = 0;
  int64_t transactions = 0;
  std::string error;
};

// Reports of `points_per_report` points, round-robin over `jobs` jobs, with
// the coordinator's INSERT, `reports_per_transaction` to a durable transaction.
// With `as_the_writer`, each report also runs the other statements of the
// coordinator's ReportProgress write (its savepoint, the lease check's
// SELECT and the lease renewal's UPDATE): the writer's SQL without RPC.
FloorResult StorageFloor(const std::string& path, int jobs, int64_t points_per_report,
                         int64_t reports_per_transaction, double seconds,
                         bool as_the_writer = false) {
  FloorResult r;
  r.reports_per_transaction = std::max<int64_t>(1, reports_per_transaction);
  std::unique_ptr<Database> db;
  Status s = Database::Open(path, false, &db);
  if (!s.ok()) {
    r.error = s.ToString();
    return r;
  }
  s = db->Exec(
      "BEGIN; INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs, "
      "created_at) VALUES (1, 'floor', '{}', 'mlp', 'synthetic', 1, 0, 0);"
      "INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (1, 1, 'sgd', '{}')");
  Statement job;
  if (s.ok()) s = db->Prepare("INSERT INTO jobs (id, sweep_id, config_id, seed) VALUES (?1, 1, 1, ?1)", &job);
  for (int j = 1; s.ok() && j <= jobs; ++j) {
    job.Reset();
    job.Bind(1, static_cast<int64_t>(j));
    s = job.Run();
  }
  if (s.ok()) s = db->Exec("COMMIT");
  Statement* pt = nullptr;
  Statement* check = nullptr;
  Statement* renew = nullptr;
  if (s.ok())
    s = db->Cached(
        "SELECT state, COALESCE(lease_id, ''), attempts, COALESCE(worker_id, ''), sweep_id "
        "FROM jobs WHERE id = ?1",
        &check);
  if (s.ok()) s = db->Cached("UPDATE jobs SET lease_deadline = ?2 WHERE id = ?1", &renew);
  if (s.ok())
    s = db->Cached(
        "INSERT OR REPLACE INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, loss, "
        "learning_rate) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &pt);
  if (!s.ok()) {
    r.error = s.ToString();
    return r;
  }
  std::vector<int64_t> steps(jobs + 1, 0);
  int64_t next_job = 0, points = 0;
  const double start = Now();
  double elapsed = 0;
  while (s.ok() && (elapsed < seconds || r.transactions < 3)) {
    s = db->Exec("BEGIN IMMEDIATE");
    for (int64_t rep = 0; s.ok() && rep < r.reports_per_transaction; ++rep) {
      const int64_t j = next_job++ % jobs + 1;
      if (as_the_writer) {
        s = db->ExecCached("SAVEPOINT op");
        bool row = false;
        check->Reset();
        check->Bind(1, j);
        if (s.ok()) s = check->Step(&row);
        check->Reset();
      }
      for (int64_t p = 0; s.ok() && p < points_per_report; ++p) {
        const int64_t step = ++steps[j];
        const double t = step / 10.0;
        pt->Reset();
        pt->Bind(1, j).Bind(2, int64_t{1}).Bind(3, step).Bind(4, t);
        pt->Bind(5, step / 600.0).Bind(6, 2.0 / (1.0 + 0.05 * t)).Bind(7, 0.1);
        s = pt->Run();
      }
      if (as_the_writer && s.ok()) {
        renew->Reset();
        renew->Bind(1, j).Bind(2, Now() + 60);
        s = renew->Run();
        if (s.ok()) s = db->ExecCached("RELEASE op");
      }
    }
    if (s.ok()) s = db->Exec("COMMIT");
    points += r.reports_per_transaction * points_per_report;
    ++r.transactions;
    elapsed = Now() - start;
  }
  if (!s.ok()) r.error = s.ToString();
  r.points_per_second = points / elapsed;
  return r;
}

// The completions' baseline (B): one durable transaction per completion,
// no RPC: a fresh job's `points_per_job` points and its row marked done, as
// coordinator_throughput measures it. Completions per second.
double CompletionFloor(const std::string& path, int64_t points_per_job, double seconds,
                       std::string* error) {
  std::unique_ptr<Database> db;
  Status s = Database::Open(path, false, &db);
  if (s.ok())
    s = db->Exec(
        "INSERT INTO sweeps (id, name, spec_json, model, dataset, budget_seconds, total_jobs, "
        "created_at) VALUES (1, 'b', '{}', 'mlp', 'synthetic', 1, 0, 0);"
        "INSERT INTO configs (id, sweep_id, optimizer, params_json) VALUES (1, 1, 'sgd', '{}')");
  Statement job, pt, done;
  if (s.ok()) s = db->Prepare("INSERT INTO jobs (sweep_id, config_id, seed) VALUES (1, 1, ?1)", &job);
  if (s.ok())
    s = db->Prepare("INSERT INTO curve_points (job_id, attempt, step, elapsed_seconds, epoch, "
                    "loss, learning_rate) VALUES (?1, 1, ?2, ?3, ?4, ?5, 0.1)",
                    &pt);
  if (s.ok())
    s = db->Prepare("UPDATE jobs SET state = 'done', final_train_loss = 0.5 WHERE id = ?1", &done);
  int64_t n = 0;
  const double start = Now();
  while (s.ok() && (Now() - start < seconds || n < 10)) {
    s = db->Exec("BEGIN IMMEDIATE");
    job.Reset();
    job.Bind(1, n);
    if (s.ok()) s = job.Run();
    const int64_t id = db->LastInsertId();
    for (int64_t p = 1; s.ok() && p <= points_per_job; ++p) {
      pt.Reset();
      pt.Bind(1, id).Bind(2, p).Bind(3, p / 10.0).Bind(4, p / 600.0).Bind(5, 2.0 / (1.0 + 0.005 * p));
      s = pt.Run();
    }
    done.Reset();
    done.Bind(1, id);
    if (s.ok()) s = done.Run();
    if (s.ok()) s = db->Exec("COMMIT");
    ++n;
  }
  if (!s.ok()) *error = s.ToString();
  return n / (Now() - start);
}

// ---------------------------------------------------------------------------
// Reporting.

struct Window {
  double seconds = 0;
  Counts counts;
  ProcSample proc_start, proc_end;
  std::map<std::string, ThreadTimes> threads_start, threads_end;
  double client_cpu = 0;
  std::map<std::string, double> metrics_start, metrics_end;

  double Delta(const std::string& name) const {
    auto a = metrics_start.find(name), b = metrics_end.find(name);
    return (b == metrics_end.end() ? 0 : b->second) - (a == metrics_start.end() ? 0 : a->second);
  }
  double commits() const { return Delta("gridsearch_sqlite_group_commit_operations_count"); }
  double operations() const { return Delta("gridsearch_sqlite_group_commit_operations_sum"); }
  double commit_seconds() const { return Delta("gridsearch_sqlite_commit_seconds_sum"); }
  double coordinator_cpu() const { return proc_end.cpu_seconds - proc_start.cpu_seconds; }
  // The sweep's jobs still queued when the window closed: none means the
  // workers waited for jobs at its end, and its rates understate the
  // coordinator's.
  double queued_at_end() const {
    double n = 0;
    for (const auto& [name, value] : metrics_end)
      if (name.rfind("gridsearch_jobs{", 0) == 0 &&
          name.find("state=\"queued\"") != std::string::npos)
        n += value;
    return n;
  }
  double points_per_commit() const { return commits() > 0 ? counts.points / commits() : 0; }
  // Flushes of the WAL: each makes the commits written before it durable.
  double syncs() const { return Delta("gridsearch_sqlite_wal_sync_seconds_count"); }
  double sync_seconds() const { return Delta("gridsearch_sqlite_wal_sync_seconds_sum"); }
  // The durable unit: points made durable by one flush (the floor's
  // transaction, which is one fsync, is compared at this size).
  // Checkpoints the writer ran itself (the background ones fell behind).
  double catch_ups() const { return Delta("gridsearch_sqlite_checkpoint_catch_up_seconds_count"); }
  double catch_up_seconds() const { return Delta("gridsearch_sqlite_checkpoint_catch_up_seconds_sum"); }
  double points_per_sync() const { return syncs() > 0 ? counts.points / syncs() : points_per_commit(); }
};

double ClientCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

std::string LoadAverage() {
  std::istringstream in(ReadFile("/proc/loadavg"));
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void PrintLatencies(std::vector<ThreadStats*>& stats, Phase phase) {
  for (int rpc = 0; rpc < kRpcs; ++rpc) {
    std::vector<float> all;
    for (auto* s : stats) all.insert(all.end(), s->latency[phase][rpc].begin(), s->latency[phase][rpc].end());
    if (all.empty()) continue;
    std::sort(all.begin(), all.end());
    auto pct = [&](double q) { return all[static_cast<size_t>(q * (all.size() - 1))] * 1e3; };
    std::printf("    %-17s n=%-8zu p50 %7.2f ms  p99 %7.2f ms  p999 %7.2f ms  max %7.2f ms\n",
                kRpcNames[rpc], all.size(), pct(0.5), pct(0.99), pct(0.999), all.back() * 1e3);
  }
}

double Percentile(std::vector<ThreadStats*>& stats, Phase phase, Rpc rpc, double q) {
  std::vector<float> all;
  for (auto* s : stats) all.insert(all.end(), s->latency[phase][rpc].begin(), s->latency[phase][rpc].end());
  if (all.empty()) return NAN;
  std::sort(all.begin(), all.end());
  return all[static_cast<size_t>(q * (all.size() - 1))];
}

void PrintWindow(const char* name, const Window& w, int64_t points_per_report) {
  const Counts& n = w.counts;
  std::printf("  %s (%.1f s):\n", name, w.seconds);
  std::printf("    reports/s %8.0f   completions/s %7.1f   flushes/s (both) %8.0f   points/s %9.0f"
              "   heartbeats/s %.1f   leases/s %.1f\n",
              n.reports / w.seconds, n.completions / w.seconds,
              (n.reports + n.completions) / w.seconds, n.points / w.seconds,
              n.heartbeats / w.seconds, n.leases / w.seconds);
  std::printf("    RPCs/s %8.0f   errors %lld   lost leases %lld   leases without a job %lld\n",
              n.rpcs / w.seconds, static_cast<long long>(n.errors),
              static_cast<long long>(n.lost_leases), static_cast<long long>(n.empty_leases));
  const double rpcs = std::max<double>(1, n.rpcs);
  std::printf("    coordinator CPU %.1f s = %.0f%% of a core, %.3f CPU s per 1,000 RPCs;  "
              "this client %.3f CPU s per 1,000 RPCs\n",
              w.coordinator_cpu(), 100 * w.coordinator_cpu() / w.seconds,
              1000 * w.coordinator_cpu() / rpcs, 1000 * w.client_cpu / rpcs);
  std::printf("    group commits/s %.0f: %.1f writes and %.0f points (%.1f flushes of %lld) per "
              "commit, %.2f ms per commit, %.0f us of the writer per write, writer busy %.0f%%\n",
              w.commits() / w.seconds, w.commits() > 0 ? w.operations() / w.commits() : 0,
              w.points_per_commit(), w.points_per_commit() / std::max<int64_t>(1, points_per_report),
              static_cast<long long>(points_per_report),
              w.commits() > 0 ? 1e3 * w.commit_seconds() / w.commits() : 0,
              w.operations() > 0 ? 1e6 * w.commit_seconds() / w.operations() : 0,
              100 * w.commit_seconds() / w.seconds);
  std::printf("    WAL flushes/s %.0f: %.1f commits and %.0f points per flush, %.2f ms per flush "
              "(on the answer thread, beside the writer)\n",
              w.syncs() / w.seconds, w.syncs() > 0 ? w.commits() / w.syncs() : 0,
              w.points_per_sync(), w.syncs() > 0 ? 1e3 * w.sync_seconds() / w.syncs() : 0);
  if (w.catch_ups() > 0)
    std::printf("    the writer caught up with the checkpoints %.0f times, %.0f ms each (%.0f%% of "
                "the window): the WAL stays bounded\n",
                w.catch_ups(), 1e3 * w.catch_up_seconds() / w.catch_ups(),
                100 * w.catch_up_seconds() / w.seconds);
  std::printf("    coordinator threads %d, resident %.1f MB\n", w.proc_end.threads,
              w.proc_end.rss_kb / 1024);
  // Where the coordinator's time went, per thread: on a CPU, and runnable
  // but waiting for one (the machine's cores are shared with this client).
  std::string line;
  for (const auto& [name, end] : w.threads_end) {
    auto start = w.threads_start.find(name);
    const ThreadTimes from = start == w.threads_start.end() ? ThreadTimes() : start->second;
    char part[160];
    std::snprintf(part, sizeof(part), "%s%s %.0f%% on a CPU, %.0f%% waiting for one", line.empty() ? "" : "; ",
                  name.c_str(), 100 * (end.cpu - from.cpu) / w.seconds,
                  100 * (end.waiting - from.waiting) / w.seconds);
    line += part;
  }
  std::printf("    per thread: %s\n", line.c_str());
  auto writer_end = w.threads_end.find("gs-writer"), writer_start = w.threads_start.find("gs-writer");
  if (writer_end != w.threads_end.end() && writer_start != w.threads_start.end() && w.operations() > 0)
    std::printf("    the writer's own CPU: %.0f us per write\n",
                1e6 * (writer_end->second.cpu - writer_start->second.cpu) / w.operations());
}

std::string Spec(int64_t jobs, double budget) {
  const int64_t configs = std::min<int64_t>(100, std::max<int64_t>(1, jobs));
  const int64_t seeds = (jobs + configs - 1) / configs;
  std::string lrs, seed_list;
  for (int64_t i = 0; i < configs; ++i) lrs += (i ? "," : "") + std::to_string(0.0001 * (i + 1));
  for (int64_t i = 0; i < seeds; ++i) seed_list += (i ? "," : "") + std::to_string(i);
  char budget_text[32];
  std::snprintf(budget_text, sizeof(budget_text), "%g", budget);
  return R"({"name":"cluster-sim","model":"mlp","dataset":"synthetic","batch_size":10,)"
         R"("budget_seconds":)" + std::string(budget_text) + R"(,"seeds":[)" + seed_list +
         R"(],"optimizers":{"sgd":{"lr":[)" + lrs + "]}}}";
}

bool ParseOptions(int argc, char** argv, SimOptions* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--keep") {
      o->keep = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return false;
    }
    const char* v = argv[++i];
    if (a == "--workers") o->workers = std::atoi(v);
    else if (a == "--flush") o->flush_seconds = std::atof(v);
    else if (a == "--seconds") o->seconds = std::atof(v);
    else if (a == "--budget") o->budget_seconds = std::atof(v);
    else if (a == "--channels") o->channels = std::atoi(v);
    else if (a == "--threads") o->threads = std::atoi(v);
    else if (a == "--dir") o->dir = v;
    else if (a == "--steps-per-second") o->steps_per_second = std::atoi(v);
    else if (a == "--ramp") o->ramp_seconds = std::atof(v);
    else if (a == "--setup") o->setup_seconds = std::atof(v);
    else if (a == "--saturate") o->saturate_seconds = std::atof(v);
    else if (a == "--inflight") o->inflight = std::atoi(v);
    else if (a == "--floor-seconds") o->floor_seconds = std::atof(v);
    else if (a == "--jobs") o->jobs = std::atoll(v);
    else if (a == "--lease-timeout") o->lease_timeout_seconds = std::atof(v);
    else if (a == "--gridsearch") o->gridsearch = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (o->workers < 1 || o->flush_seconds <= 0 || o->seconds <= 0 || o->channels < 1 ||
      o->threads < 1 || o->steps_per_second < 1 || o->budget_seconds < o->flush_seconds ||
      o->inflight < 0) {
    std::fprintf(stderr, "refused: workers, channels, threads and steps per second must be at "
                         "least 1, inflight 0 (no cap) or more, flush and seconds positive, budget "
                         "at least one flush\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions o;
  if (!ParseOptions(argc, argv, &o)) return 2;
  // A few connections, but raise the limit anyway for the coordinator's sake
  // (its descriptors are its own; this one's child inherits the limit).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  signal(SIGPIPE, SIG_IGN);

  const int64_t points_per_report = std::llround(o.flush_seconds * o.steps_per_second);
  if (o.jobs == 0) {
    const double run = o.ramp_seconds + o.flush_seconds + o.seconds + 10;
    // Saturated, jobs end up to about 11 times as fast as offered (measured
    // on 2 cores; at most about 9,000/s): room for twice that, so that the
    // window never runs out of jobs.
    const double saturated_rate = std::min(20000.0, 20 * o.workers / o.budget_seconds);
    o.jobs = static_cast<int64_t>(o.workers * (2 + std::ceil(run / o.budget_seconds)) +
                                  o.saturate_seconds * saturated_rate);
  }
  const std::string base = o.dir + "/gridsearch-cluster-sim-" + std::to_string(getpid());
  const std::string db_path = base + ".db", floor_path = base + "-floor.db";
  auto remove_db = [](const std::string& p) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((p + suffix).c_str());
  };

  std::printf("cluster_sim: %d workers, flush every %g s (%lld points per report), budget %g s, "
              "%d channels, %d client threads, %lld jobs; load average %s\n",
              o.workers, o.flush_seconds, static_cast<long long>(points_per_report),
              o.budget_seconds, o.channels, o.threads, static_cast<long long>(o.jobs),
              LoadAverage().c_str());
  std::fflush(stdout);

  CoordinatorProcess coordinator;
  if (!coordinator.Start(o, base, db_path)) {
    std::fprintf(stderr, "the coordinator did not start (%s); its log:\n%s\n", o.gridsearch.c_str(),
                 ReadFile(coordinator.log()).c_str());
    return 1;
  }
  {
    // Submitted on a channel of its own, closed before the workers connect.
    auto channel = grpc::CreateChannel(coordinator.address(), grpc::InsecureChannelCredentials());
    auto stub = v1::Coordinator::NewStub(channel);
    v1::SubmitSweepRequest req;
    req.set_spec_json(Spec(o.jobs, o.budget_seconds));
    v1::SubmitSweepResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(SystemIn(300));
    grpc::Status s = stub->SubmitSweep(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "submit: %s\n", s.error_message().c_str());
      return 1;
    }
    o.jobs = resp.total_jobs();
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const ProcSample before = SampleProc(coordinator.pid());

  // The workers' connections, made before anything is measured.
  std::vector<std::unique_ptr<v1::Coordinator::Stub>> stubs;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("gridsearch.cluster_sim.channel", i);  // a connection of its own
    args.SetMaxReceiveMessageSize(64 << 20);
    channels.push_back(grpc::CreateCustomChannel(coordinator.address(),
                                                 grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(SystemIn(30))) {
      std::fprintf(stderr, "channel %d could not connect in 30 s\n", i);
      return 1;
    }
    stubs.push_back(v1::Coordinator::NewStub(channels.back()));
  }

  std::atomic<int> phase{kRamp};
  std::atomic<bool> abort{false};
  std::atomic<int64_t> first_leases{0};
  const double start = Now();
  std::vector<std::unique_ptr<SimThread>> sims;
  for (int t = 0; t < o.threads; ++t)
    sims.push_back(std::make_unique<SimThread>(o, &stubs, &phase, &abort, &first_leases, start,
                                               0x5eed + t));
  for (int w = 0; w < o.workers; ++w) sims[w % o.threads]->AddWorker(w);
  std::vector<std::thread> threads;
  const double client_cpu_start = ClientCpuSeconds();
  for (auto& s : sims) threads.emplace_back([&s] { s->Run(); });

  // Every worker holds a job: the coordinator's memory with all connected.
  while (first_leases.load() < o.workers && Now() - start < o.ramp_seconds + 120)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double all_leased = Now() - start;
  const ProcSample connected = SampleProc(coordinator.pid());
  if (first_leases.load() < o.workers)
    std::fprintf(stderr, "only %lld of %d workers leased a job\n",
                 static_cast<long long>(first_leases.load()), o.workers);
  std::this_thread::sleep_for(std::chrono::duration<double>(
      std::max(0.0, o.ramp_seconds - all_leased) + o.flush_seconds + 1));

  auto open_window = [&](Window* w) {
    w->metrics_start = coordinator.Metrics();
    w->proc_start = SampleProc(coordinator.pid());
    w->threads_start = SampleThreads(coordinator.pid());
    w->client_cpu = ClientCpuSeconds();
  };
  auto close_window = [&](Window* w, double seconds) {
    w->seconds = seconds;
    w->proc_end = SampleProc(coordinator.pid());
    w->threads_end = SampleThreads(coordinator.pid());
    w->metrics_end = coordinator.Metrics();
    w->client_cpu = ClientCpuSeconds() - w->client_cpu;
  };
  // A sleep that also keeps the coordinator's peak thread count.
  int peak_threads = 0;
  auto wait = [&](double seconds) {
    const double until = Now() + seconds;
    while (Now() < until) {
      peak_threads = std::max(peak_threads, SampleProc(coordinator.pid()).threads);
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.5, until - Now())));
    }
  };

  Window steady, saturated;
  double saturate_backlog_seconds = 0;
  const std::string load_steady = LoadAverage();
  open_window(&steady);
  double t0 = Now();
  phase = kSteady;
  wait(o.seconds);
  phase = kSaturateWarm;
  close_window(&steady, Now() - t0);
  const int steady_peak_threads = peak_threads;
  if (o.saturate_seconds > 0) {
    // Calls left from an overloaded steady window are answered first (up to
    // 30 s), so that the window holds at most --inflight calls in flight.
    const double drain_from = Now();
    auto in_flight = [&] {
      int n = 0;
      for (auto& s : sims) n += s->inflight();
      return n;
    };
    const int cap = o.inflight == 0 ? o.workers : o.inflight;
    while (in_flight() > cap && Now() - drain_from < 30) wait(0.1);
    wait(1);
    saturate_backlog_seconds = Now() - drain_from - 1;
    open_window(&saturated);
    t0 = Now();
    phase = kSaturate;
    wait(o.saturate_seconds);
    phase = kStop;
    close_window(&saturated, Now() - t0);
  }
  phase = kStop;
  const double stop_at = Now();
  std::atomic<bool> joined{false};
  std::thread aborter([&] {
    while (!joined.load() && Now() - stop_at < 30)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    abort = true;
  });
  for (auto& t : threads) t.join();
  joined = true;
  aborter.join();
  const double client_cpu_total = ClientCpuSeconds() - client_cpu_start;
  stubs.clear();
  channels.clear();
  const int coordinator_exit = coordinator.Stop();
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);

  // Gather.
  std::vector<ThreadStats*> stats;
  for (auto& s : sims) stats.push_back(&s->stats());
  for (auto* s : stats) {
    steady.counts.Add(s->counts[kSteady]);
    saturated.counts.Add(s->counts[kSaturate]);
  }
  Counts all;
  std::map<std::string, int64_t> errors;
  std::unordered_map<int64_t, int64_t> acked, in_doubt;
  int64_t completions_acked = 0, completions_in_doubt = 0;
  for (auto* s : stats) {
    for (int p = 0; p < kPhases; ++p) all.Add(s->counts[p]);
    for (const auto& [k, v] : s->errors) errors[k] += v;
    for (const auto& [k, v] : s->acked) acked[k] += v;
    for (const auto& [k, v] : s->in_doubt) in_doubt[k] += v;
    completions_acked += s->completed_jobs_acked;
    completions_in_doubt += s->completions_in_doubt;
  }

  // Exactly once: every acknowledged point is in the file once.
  int64_t stored_total = 0, acked_total = 0, doubt_total = 0, jobs_missing = 0, jobs_extra = 0;
  int64_t duplicate_keys = -1, finished_jobs = -1, expired_leases = -1;
  std::string check_error;
  {
    std::unique_ptr<Database> db;
    Status s = Database::Open(db_path, true, &db);
    std::unordered_map<int64_t, int64_t> stored;
    Statement st;
    if (s.ok()) s = db->Prepare("SELECT job_id, COUNT(*) FROM curve_points GROUP BY job_id", &st);
    bool row = false;
    while (s.ok()) {
      s = st.Step(&row);
      if (!row) break;
      stored[st.Int(0)] = st.Int(1);
      stored_total += st.Int(1);
    }
    auto count = [&](const char* sql, int64_t* out) {
      Statement q;
      if (!s.ok()) return;
      s = db->Prepare(sql, &q);
      bool has = false;
      if (s.ok()) s = q.Step(&has);
      if (s.ok() && has) *out = q.Int(0);
    };
    count("SELECT COUNT(*) FROM (SELECT 1 FROM curve_points GROUP BY job_id, attempt, step "
          "HAVING COUNT(*) > 1)",
          &duplicate_keys);
    count("SELECT COUNT(*) FROM jobs WHERE state IN ('done', 'diverged')", &finished_jobs);
    count("SELECT COUNT(*) FROM leases WHERE outcome = 'expired'", &expired_leases);
    if (!s.ok()) check_error = s.ToString();
    for (const auto& [job, n] : acked) acked_total += n;
    for (const auto& [job, n] : in_doubt) doubt_total += n;
    // Per job: acknowledged <= stored <= acknowledged + sent but unanswered.
    for (const auto& [job, n] : stored) {
      auto a = acked.find(job);
      auto d = in_doubt.find(job);
      const int64_t ack = a == acked.end() ? 0 : a->second;
      const int64_t doubt = d == in_doubt.end() ? 0 : d->second;
      if (n < ack) ++jobs_missing;
      if (n > ack + doubt) ++jobs_extra;
    }
    for (const auto& [job, n] : acked)
      if (n > 0 && stored.find(job) == stored.end()) ++jobs_missing;
  }

  // The storage floor, each transaction one fsync: at the size of what one
  // of the coordinator's WAL flushes made durable.
  const Window& capacity = o.saturate_seconds > 0 ? saturated : steady;
  FloorResult floor_capacity = StorageFloor(
      floor_path, o.workers, points_per_report,
      std::llround(capacity.points_per_sync() / points_per_report), o.floor_seconds);
  remove_db(floor_path);
  // The same transactions with the rest of the coordinator's statements per
  // report: how much of the gap is SQL and how much is RPC and threads.
  FloorResult writer_sql = StorageFloor(
      floor_path, o.workers, points_per_report,
      std::llround(capacity.points_per_sync() / points_per_report), o.floor_seconds,
      /*as_the_writer=*/true);
  remove_db(floor_path);
  std::string completion_floor_error;
  const int64_t points_per_job = std::llround(o.budget_seconds * o.steps_per_second);
  const double completion_floor =
      CompletionFloor(floor_path, points_per_job, o.floor_seconds, &completion_floor_error);
  remove_db(floor_path);
  FloorResult floor_steady;
  if (o.saturate_seconds > 0) {
    floor_steady = StorageFloor(floor_path, o.workers, points_per_report,
                                std::llround(steady.points_per_sync() / points_per_report),
                                o.floor_seconds);
    remove_db(floor_path);
  }

  // Report.
  const double offered = o.workers / o.flush_seconds;
  std::printf("  load average at the measured window's start: %s, now: %s\n", load_steady.c_str(),
              LoadAverage().c_str());
  std::printf("  all %lld workers held a job %.1f s after the first lease was sent\n",
              static_cast<long long>(first_leases.load()), all_leased);
  std::printf("  coordinator memory: %.1f MB before the workers connected, %.1f MB with all "
              "connected (%.1f KB per worker), %.1f MB at the end of the steady window (%.1f KB "
              "per worker), peak %.1f MB; threads %d before, %d connected, peak %d steady\n",
              before.rss_kb / 1024, connected.rss_kb / 1024,
              (connected.rss_kb - before.rss_kb) / o.workers, steady.proc_end.rss_kb / 1024,
              (steady.proc_end.rss_kb - before.rss_kb) / o.workers, steady.proc_end.hwm_kb / 1024,
              before.threads, connected.threads, steady_peak_threads);
  std::printf("  offered: %.0f reports/s (%.0f points/s), %.1f completions/s\n", offered,
              offered * points_per_report, o.workers / o.budget_seconds);
  PrintWindow("steady", steady, points_per_report);
  std::printf("    latency per RPC (client side, answered OK):\n");
  PrintLatencies(stats, kSteady);
  if (o.saturate_seconds > 0) {
    PrintWindow("saturated (reports back to back)", saturated, points_per_report);
    std::printf("    with at most %d calls in flight (after %.1f s answering the steady window's "
                "backlog); latency per RPC:\n",
                o.inflight == 0 ? o.workers : o.inflight, saturate_backlog_seconds);
    PrintLatencies(stats, kSaturate);
  }
  const bool ran_out = capacity.queued_at_end() == 0;
  if (ran_out)
    std::printf("  WARNING: the sweep ran out of queued jobs before the %s window ended, so its "
                "rates understate the coordinator's: run again with --jobs above %lld\n",
                o.saturate_seconds > 0 ? "saturated" : "steady", static_cast<long long>(o.jobs));

  // The floor's unit is the point: it writes the rows the coordinator wrote
  // (the points of reports and completions), nothing else.
  std::printf("  storage floor (raw inserts of the same rows, WAL, synchronous=FULL):\n");
  auto print_floor = [&](const char* what, const FloorResult& f) {
    if (!f.error.empty()) {
      std::printf("    %s: failed: %s\n", what, f.error.c_str());
      return;
    }
    std::printf("    %s, %lld flushes (%lld points) per transaction: %.0f points/s = %.0f "
                "flushes/s (%.0f us per flush)\n",
                what, static_cast<long long>(f.reports_per_transaction),
                static_cast<long long>(f.reports_per_transaction * points_per_report),
                f.points_per_second, f.points_per_second / points_per_report,
                1e6 * points_per_report / std::max(1.0, f.points_per_second));
  };
  const double capacity_points = capacity.counts.points / capacity.seconds;
  const double capacity_ratio =
      floor_capacity.points_per_second > 0 ? capacity_points / floor_capacity.points_per_second : 0;
  if (o.saturate_seconds > 0) {
    print_floor("at the saturated flushes' size", floor_capacity);
    std::printf("      the coordinator saturated: %.0f points/s = %.2fx the floor\n",
                capacity_points, capacity_ratio);
    print_floor("the same with the writer's other statements per report (savepoint, lease "
                "check, lease renewal), no RPC", writer_sql);
    print_floor("at the steady flushes' size", floor_steady);
    if (floor_steady.points_per_second > 0)
      std::printf("      the steady load, %.0f points/s, is %.0f%% of it\n",
                  steady.counts.points / steady.seconds,
                  100 * steady.counts.points / steady.seconds / floor_steady.points_per_second);
  } else {
    print_floor("at the steady flushes' size", floor_capacity);
    std::printf("      the coordinator in the steady window: %.0f points/s = %.2fx the floor "
                "(its capacity only if the offered load was above it)\n",
                capacity_points, capacity_ratio);
    print_floor("the same with the writer's other statements per report (savepoint, lease "
                "check, lease renewal), no RPC", writer_sql);
  }

  const double capacity_completions = capacity.counts.completions / capacity.seconds;
  const double completion_ratio = completion_floor > 0 ? capacity_completions / completion_floor : 0;
  if (!completion_floor_error.empty())
    std::printf("  completions' baseline failed: %s\n", completion_floor_error.c_str());
  else
    std::printf("  completions: %.0f/s %s = %.2fx baseline B, one durable transaction per completion "
                "(its %lld points, the job marked done) without RPC: %.0f/s%s\n",
                capacity_completions, o.saturate_seconds > 0 ? "saturated" : "steady",
                completion_ratio, static_cast<long long>(points_per_job), completion_floor,
                o.budget_seconds > 4 * o.flush_seconds
                    ? " (jobs of many flushes: run with --budget 2 --flush 1 to measure completions)"
                    : "");
  const double p99_report = Percentile(stats, kSteady, kReport, 0.99);
  std::printf("  goals: durable points/s at capacity >= 0.8x the storage floor: %.2fx %s; "
              "completions/s > 1.5x baseline B: %.2fx %s; steady p99 ReportProgress < 50 ms: "
              "%.2f ms %s\n",
              capacity_ratio,
              ran_out                  ? "(not measured: out of jobs)"
              : capacity_ratio >= 0.8 ? "(met)"
                                      : "(NOT met)",
              completion_ratio,
              o.budget_seconds > 4 * o.flush_seconds ? "(not measured by this run's long jobs)"
              : ran_out                               ? "(not measured: out of jobs)"
              : completion_ratio > 1.5                ? "(met)"
                                                      : "(NOT met)",
              p99_report * 1e3,
              p99_report < 0.05 ? "(met)" : "(NOT met)");
  if (o.saturate_seconds > 0)
    std::printf("  capacity: %.0f flushes/s of %lld points saturated = %.0f workers flushing "
                "every %g s\n",
                (saturated.counts.reports + saturated.counts.completions) / saturated.seconds,
                static_cast<long long>(points_per_report),
                (saturated.counts.reports + saturated.counts.completions) / saturated.seconds *
                    o.flush_seconds,
                o.flush_seconds);

  const bool exact = check_error.empty() && jobs_missing == 0 && jobs_extra == 0 &&
                     duplicate_keys == 0 && finished_jobs >= completions_acked &&
                     finished_jobs <= completions_acked + completions_in_doubt;
  std::printf("  exactly once: %lld points acknowledged, %lld stored, %lld sent but never "
              "answered; jobs with an acknowledged point missing %lld, with points never sent "
              "%lld; duplicate (job, attempt, step) %lld; completions acknowledged %lld (%lld more "
              "sent, never answered), jobs finished in the file %lld: %s%s\n",
              static_cast<long long>(acked_total), static_cast<long long>(stored_total),
              static_cast<long long>(doubt_total), static_cast<long long>(jobs_missing),
              static_cast<long long>(jobs_extra), static_cast<long long>(duplicate_keys),
              static_cast<long long>(completions_acked),
              static_cast<long long>(completions_in_doubt), static_cast<long long>(finished_jobs),
              exact ? "OK" : "FAILED", check_error.empty() ? "" : (" (" + check_error + ")").c_str());
  std::printf("  whole run: %lld RPCs, %lld errors, %lld leases expired; client CPU %.1f s; "
              "coordinator CPU %.1f s, %.1f M voluntary context switches (%.1f per RPC), exit "
              "status %d\n",
              static_cast<long long>(all.rpcs), static_cast<long long>(all.errors),
              static_cast<long long>(expired_leases), client_cpu_total,
              children.ru_utime.tv_sec + children.ru_stime.tv_sec +
                  (children.ru_utime.tv_usec + children.ru_stime.tv_usec) * 1e-6,
              children.ru_nvcsw / 1e6, children.ru_nvcsw / std::max<double>(1, all.rpcs),
              coordinator_exit);
  for (const auto& [text, n] : errors)
    std::printf("    error x%lld: %s\n", static_cast<long long>(n), text.c_str());

  if (!o.keep) {
    remove_db(db_path);
    coordinator.RemoveFiles();
  } else {
    std::printf("  kept %s and %s\n", db_path.c_str(), coordinator.log().c_str());
  }
  return exact && all.errors == 0 && coordinator_exit == 0 ? 0 : 1;
}
