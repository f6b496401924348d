// Clock: where the coordinator reads the time, so lease expiry can be tested
// without sleeping.
#ifndef GRIDSEARCH_COORDINATOR_CLOCK_H_
#define GRIDSEARCH_COORDINATOR_CLOCK_H_

#include <atomic>
#include <chrono>

namespace gridsearch {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual double Now() = 0;
};

class SystemClock : public Clock {
 public:
  double Now() override {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
  }
  // The process-wide instance.
  static SystemClock* Get() {
    static SystemClock clock;
    return &clock;
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(double start = 1.7e9) : now_(start) {}
  double Now() override { return now_.load(); }
  void Advance(double seconds) { now_.store(now_.load() + seconds); }

 private:
  std::atomic<double> now_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_CLOCK_H_
