// LeaseWaiters: arrival order, putting a waiter back in its place, and
// deadlines that only count once a waiter has had its try.
#include <gtest/gtest.h>

#include "coordinator/lease_waiters.h"

namespace gridsearch {
namespace {

using Clock = LeaseWaiters::Clock;

TEST(LeaseWaitersTest, FirstComeFirstServedAndPutBackKeepsThePlace) {
  LeaseWaiters q;
  const auto later = Clock::now() + std::chrono::seconds(10);
  for (const char* id : {"a", "b", "c"}) q.Add({id, "", "", ""}, later, nullptr);
  LeaseWaiters::Waiter w;
  ASSERT_TRUE(q.PopFront(&w));
  EXPECT_EQ(w.worker.id, "a");
  q.Add({"d", "", "", ""}, later, nullptr);
  q.PutBack(std::move(w));  // "a" had no job: it waits on, still first
  std::string order;
  while (q.PopFront(&w)) order += w.worker.id;
  EXPECT_EQ(order, "abcd");
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.PopFront(&w));
}

TEST(LeaseWaitersTest, ADeadlineCountsOnlyAfterATry) {
  LeaseWaiters q;
  const auto now = Clock::now();
  const uint64_t a = q.Add({"a", "", "", ""}, now - std::chrono::seconds(1), nullptr);
  const uint64_t b = q.Add({"b", "", "", ""}, now - std::chrono::seconds(2), nullptr);
  q.Add({"c", "", "", ""}, now + std::chrono::seconds(60), nullptr);
  EXPECT_EQ(q.NextDeadline(0), Clock::time_point::max());
  EXPECT_TRUE(q.TakeExpired(now, 0).empty());  // past due, but never tried
  EXPECT_EQ(q.NextDeadline(a), now - std::chrono::seconds(1));
  auto expired = q.TakeExpired(now, a);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].worker.id, "a");
  expired = q.TakeExpired(now, b);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].worker.id, "b");
  EXPECT_EQ(q.size(), 1u);
  EXPECT_TRUE(q.TakeExpired(now, q.last_seq()).empty());  // "c" still has a minute
  EXPECT_EQ(q.TakeAll().size(), 1u);
  EXPECT_EQ(q.NextDeadline(q.last_seq()), Clock::time_point::max());
}

}  // namespace
}  // namespace gridsearch
