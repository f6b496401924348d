#include "coordinator/lease_waiters.h"

#include <utility>

namespace gridsearch {

void LeaseWaiters::Insert(Waiter waiter) {
  const uint64_t seq = waiter.seq;
  auto at = by_deadline_.emplace(waiter.deadline, seq);
  by_seq_.emplace(seq, Entry{std::move(waiter), at});
}

uint64_t LeaseWaiters::Add(WorkerInfo worker, Clock::time_point deadline, LeaseCallback done) {
  Waiter w;
  w.seq = next_seq_++;
  w.worker = std::move(worker);
  w.deadline = deadline;
  w.done = std::move(done);
  const uint64_t seq = w.seq;
  Insert(std::move(w));
  return seq;
}

bool LeaseWaiters::PopFront(Waiter* out) {
  if (by_seq_.empty()) return false;
  auto it = by_seq_.begin();
  by_deadline_.erase(it->second.deadline);
  *out = std::move(it->second.waiter);
  by_seq_.erase(it);
  return true;
}

void LeaseWaiters::PutBack(Waiter waiter) { Insert(std::move(waiter)); }

std::vector<LeaseWaiters::Waiter> LeaseWaiters::TakeExpired(Clock::time_point now,
                                                            uint64_t tried_through) {
  std::vector<Waiter> out;
  for (auto it = by_deadline_.begin(); it != by_deadline_.end() && it->first <= now;) {
    const uint64_t seq = it->second;
    if (seq > tried_through) {
      ++it;  // its first try is still to come
      continue;
    }
    auto entry = by_seq_.find(seq);
    out.push_back(std::move(entry->second.waiter));
    by_seq_.erase(entry);
    it = by_deadline_.erase(it);
  }
  return out;
}

std::vector<LeaseWaiters::Waiter> LeaseWaiters::TakeAll() {
  std::vector<Waiter> out;
  out.reserve(by_seq_.size());
  for (auto& [seq, entry] : by_seq_) out.push_back(std::move(entry.waiter));
  by_seq_.clear();
  by_deadline_.clear();
  return out;
}

LeaseWaiters::Clock::time_point LeaseWaiters::NextDeadline(uint64_t tried_through) const {
  for (const auto& [deadline, seq] : by_deadline_)
    if (seq <= tried_through) return deadline;
  return Clock::time_point::max();
}

}  // namespace gridsearch
