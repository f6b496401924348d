// libFuzzer target for the coordinator's request handling: every RPC of the
// API (13), its request decoded from the input, through the real gRPC handlers
// (coordinator/service.h) over a real JobStore and SQLite file. The first
// byte picks the RPC; the rest is its request message. Beyond "no crash, no
// sanitizer report": every refusal carries a message, and the file passes
// SQLite's integrity check whenever the store is renewed.
//
// A lease id of "@" stands for the last lease handed out (with job id 0 for
// its job), so that reports, completions, failures and releases reach past
// the lease check.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/grpcpp.h>

#include "coordinator/database.h"
#include "coordinator/job_store.h"
#include "coordinator/options.h"
#include "coordinator/service.h"
#include "proto/gridsearch.grpc.pb.h"

namespace {

using namespace gridsearch;

// A store over a file in shared memory (writes are fsynced), renewed every
// kRunsPerStore inputs so that accepted sweeps do not pile up.
class World {
 public:
  static constexpr int kRunsPerStore = 4000;

  World() {
    // A request with invalid UTF-8 in a string field is refused by the
    // parser, which logs each one: at millions of inputs, only noise.
    google::protobuf::SetLogHandler(nullptr);
    const char* shm = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(shm) + "/gridsearch-rpc-fuzz-" + std::to_string(getpid()) + ".db";
    Open();
  }

  void Tick() {
    if (++runs_ < kRunsPerStore) return;
    Close();
    Open();
  }

  v1::Coordinator::Service* service() { return service_.get(); }
  int64_t job_id = 0;
  std::string lease_id = "none yet";

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path_ + suffix).c_str());
  }
  void Open() {
    Remove();
    CoordinatorOptions o;
    o.db_path = path_;
    o.lease_timeout_seconds = 600;
    o.max_lease_wait_seconds = 0;  // a lease never waits
    o.spec_limits.max_jobs = 64;
    o.spec_limits.max_spec_bytes = 64 << 10;
    o.max_points_per_report = 1000;
    Status s = JobStore::Open(o, nullptr, &store_);
    if (!s.ok()) {
      std::fprintf(stderr, "rpc_fuzzer: %s\n", s.ToString().c_str());
      std::abort();
    }
    service_ = MakeBlockingCoordinatorService(store_.get(), "");
    runs_ = 0;
    job_id = 0;
    lease_id = "none yet";
  }
  void Close() {
    service_.reset();
    store_.reset();
    std::unique_ptr<Database> db;
    if (!Database::Open(path_, true, &db).ok()) std::abort();
    Statement st;
    bool row = false;
    if (!db->Prepare("PRAGMA integrity_check", &st).ok() || !st.Step(&row).ok() || !row ||
        st.Text(0) != "ok")
      std::abort();
    db.reset();
    Remove();
  }

  std::string path_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<v1::Coordinator::Service> service_;
  int runs_ = 0;
};

template <typename Request>
bool Decode(const uint8_t* data, size_t size, Request* req) {
  return req->ParseFromArray(data, static_cast<int>(size));
}

template <typename Request>
void UseLastLease(World* w, Request* req) {
  if (req->lease_id() != "@") return;
  req->set_lease_id(w->lease_id);
  if (req->job_id() == 0) req->set_job_id(w->job_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  if (size < 1) return 0;
  world->Tick();
  v1::Coordinator::Service* svc = world->service();
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  grpc::ServerContext ctx;
  grpc::Status s;
  switch (data[0] % 13) {
    case 0: {
      v1::SubmitSweepRequest req;
      v1::SubmitSweepResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->SubmitSweep(&ctx, &req, &resp);
      break;
    }
    case 1: {
      v1::GetSweepRequest req;
      v1::SweepStatus resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->GetSweep(&ctx, &req, &resp);
      break;
    }
    case 2: {
      v1::ListSweepsRequest req;
      v1::ListSweepsResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->ListSweeps(&ctx, &req, &resp);
      break;
    }
    case 3: {
      v1::CancelSweepRequest req;
      v1::CancelSweepResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->CancelSweep(&ctx, &req, &resp);
      break;
    }
    case 4: {
      v1::LeaseJobRequest req;
      v1::LeaseJobResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->LeaseJob(&ctx, &req, &resp);
      if (s.ok() && resp.found()) {
        world->job_id = resp.job().job_id();
        world->lease_id = resp.lease_id();
      }
      break;
    }
    case 5: {
      v1::ReportProgressRequest req;
      v1::ReportProgressResponse resp;
      if (!Decode(body, n, &req)) return 0;
      UseLastLease(world, &req);
      s = svc->ReportProgress(&ctx, &req, &resp);
      break;
    }
    case 6: {
      v1::CompleteJobRequest req;
      v1::CompleteJobResponse resp;
      if (!Decode(body, n, &req)) return 0;
      UseLastLease(world, &req);
      s = svc->CompleteJob(&ctx, &req, &resp);
      break;
    }
    case 7: {
      v1::FailJobRequest req;
      v1::FailJobResponse resp;
      if (!Decode(body, n, &req)) return 0;
      UseLastLease(world, &req);
      s = svc->FailJob(&ctx, &req, &resp);
      break;
    }
    case 8: {
      v1::QueryRankingRequest req;
      v1::QueryRankingResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->QueryRanking(&ctx, &req, &resp);
      break;
    }
    case 9: {
      v1::ReleaseJobRequest req;
      v1::ReleaseJobResponse resp;
      if (!Decode(body, n, &req)) return 0;
      UseLastLease(world, &req);
      s = svc->ReleaseJob(&ctx, &req, &resp);
      break;
    }
    case 10: {
      v1::RetrySweepRequest req;
      v1::RetrySweepResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->RetrySweep(&ctx, &req, &resp);
      break;
    }
    case 12: {
      v1::CompleteAndLeaseRequest req;
      v1::LeaseJobResponse resp;
      if (!Decode(body, n, &req)) return 0;
      UseLastLease(world, req.mutable_complete());
      s = svc->CompleteAndLease(&ctx, &req, &resp);
      if (s.ok() && resp.found()) {
        world->job_id = resp.job().job_id();
        world->lease_id = resp.lease_id();
      }
      break;
    }
    default: {
      v1::QueryTableRequest req;
      v1::QueryTableResponse resp;
      if (!Decode(body, n, &req)) return 0;
      s = svc->QueryTable(&ctx, &req, &resp);
      break;
    }
  }
  if (!s.ok() && s.error_message().empty()) std::abort();
  return 0;
}
