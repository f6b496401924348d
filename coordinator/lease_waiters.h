// LeaseWaiters: the workers whose LeaseJob long-poll is waiting for a job,
// in arrival order, each with its deadline. A waiting call holds no thread:
// it is an entry here and a callback. The JobStore guards it with its lease
// mutex; this class is not thread-safe by itself.
#ifndef GRIDSEARCH_COORDINATOR_LEASE_WAITERS_H_
#define GRIDSEARCH_COORDINATOR_LEASE_WAITERS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

struct WorkerInfo {
  std::string id;
  std::string hostname;
  std::string device;
  std::string software;
};

struct LeasedJob {
  JobSpec job;
  std::string lease_id;
  double lease_timeout_seconds = 0;
};

// The answer to a lease: an error, no job, or a job and its lease.
struct LeaseReply {
  Status status;
  bool has_job = false;
  LeasedJob leased;
};
using LeaseCallback = std::function<void(LeaseReply)>;

class LeaseWaiters {
 public:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    uint64_t seq = 0;   // arrival order
    WorkerInfo worker;
    Clock::time_point deadline;
    LeaseCallback done;
  };

  // Adds a waiter behind the others; returns its arrival number.
  uint64_t Add(WorkerInfo worker, Clock::time_point deadline, LeaseCallback done);
  // Takes out the oldest waiter; false when there is none.
  bool PopFront(Waiter* out);
  // Puts back a waiter taken by PopFront, in its old place.
  void PutBack(Waiter waiter);
  // Takes out the waiters past their deadline that arrived at or before
  // `tried_through` (each has had at least one try at a job).
  std::vector<Waiter> TakeExpired(Clock::time_point now, uint64_t tried_through);
  std::vector<Waiter> TakeAll();
  // The earliest deadline among the waiters that arrived at or before
  // `tried_through`; Clock::time_point::max() when there is none.
  Clock::time_point NextDeadline(uint64_t tried_through) const;

  bool empty() const { return by_seq_.empty(); }
  size_t size() const { return by_seq_.size(); }
  uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  using DeadlineIndex = std::multimap<Clock::time_point, uint64_t>;
  struct Entry {
    Waiter waiter;
    DeadlineIndex::iterator deadline;
  };
  void Insert(Waiter waiter);

  uint64_t next_seq_ = 1;
  std::map<uint64_t, Entry> by_seq_;
  DeadlineIndex by_deadline_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_LEASE_WAITERS_H_
