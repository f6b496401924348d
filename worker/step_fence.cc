#include "worker/step_fence.h"

#include <c10/core/impl/VirtualGuardImpl.h>

#include <thread>

namespace gridsearch {
namespace {

// Polls before the waiting thread starts to sleep between polls: a step of
// the small networks finishes within a few hundred polls, a long one should
// not keep a core busy.
constexpr int kSpinPolls = 200;
constexpr std::chrono::microseconds kPollSleep{20};

}  // namespace

StepFence::StepFence(const c10::Device& device) : device_(device) {}

StepFence::~StepFence() = default;

void StepFence::Record() {
  Pending& p = pending_.emplace_back();
  if (device_.is_cuda()) {
    p.event.emplace(device_.type());
    c10::impl::VirtualGuardImpl guard(device_.type());
    p.event->record(guard.getStream(device_));
  } else {
    p.recorded = Clock::now();
  }
}

StepFence::Clock::time_point StepFence::WaitOldest() {
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  if (!p.event) return p.recorded;
  // c10::Event has query() in every LibTorch version, synchronize() only in
  // later ones: polling serves both.
  for (int polls = 0; !p.event->query(); ++polls) {
    if (polls < kSpinPolls)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(kPollSleep);
  }
  return Clock::now();
}

}  // namespace gridsearch
