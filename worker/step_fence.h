// StepFence: knows when each queued training step has finished on its
// device, without a host sync per step.
//
// On a GPU a step's kernels are only queued when the step's code returns.
// The trainer records a fence after each step and, before queuing a new one,
// waits for the oldest once `depth` are in flight, so at most `depth` steps
// are queued ahead of the host. The time a step is seen finished is the time
// its curve point carries and the time the deadline is checked against: the
// budget counts finished device work. On the CPU a step has finished when its
// code returns, so Record() notes the time and Wait() returns it.
//
// Torch code: included by the trainer only. Thread-compatible.
#ifndef GRIDSEARCH_WORKER_STEP_FENCE_H_
#define GRIDSEARCH_WORKER_STEP_FENCE_H_

#include <c10/core/Device.h>
#include <c10/core/Event.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace gridsearch {

class StepFence {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StepFence(const c10::Device& device);
  ~StepFence();
  StepFence(const StepFence&) = delete;
  StepFence& operator=(const StepFence&) = delete;

  // Marks everything queued on the device so far as the end of one step.
  void Record();
  // Steps recorded and not yet waited for.
  size_t in_flight() const { return pending_.size(); }
  // Waits until the oldest step in flight has finished on the device and
  // returns when it was seen finished. Requires in_flight() > 0.
  Clock::time_point WaitOldest();

 private:
  // A device event (CUDA) or, on the CPU, the time the step's code returned.
  // c10::Event reaches the CUDA runtime through LibTorch's device-guard
  // registry, so no CUDA headers are needed and a CPU-only LibTorch builds it.
  struct Pending {
    std::optional<c10::Event> event;
    Clock::time_point recorded;
  };
  c10::Device device_;
  std::deque<Pending> pending_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_STEP_FENCE_H_
