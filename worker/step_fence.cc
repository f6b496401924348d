#include "worker/step_fence.h"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <optional>
#include <thread>

namespace gridsearch {
namespace {

// Polls before the waiting thread starts to sleep between polls: a step of
// the small networks finishes within a few hundred polls, a long one should
// not keep a core busy.
constexpr int kSpinPolls = 200;
constexpr std::chrono::microseconds kPollSleep{20};

}  // namespace

// A device event (CUDA) or, on the CPU, the time the step's code returned.
// c10::Event reaches the CUDA runtime through LibTorch's device-guard
// registry, so this file needs no CUDA headers and builds against a CPU-only
// LibTorch as well.
struct StepFence::Pending {
  std::optional<c10::Event> event;
  Clock::time_point recorded;
};

StepFence::StepFence(const c10::Device& device) : device_(device) {}

StepFence::~StepFence() = default;

void StepFence::Record() {
  auto p = std::make_unique<Pending>();
  if (device_.is_cuda()) {
    p->event.emplace(device_.type());
    c10::impl::VirtualGuardImpl guard(device_.type());
    p->event->record(guard.getStream(device_));
  } else {
    p->recorded = Clock::now();
  }
  pending_.push_back(std::move(p));
}

StepFence::Clock::time_point StepFence::WaitOldest() {
  std::unique_ptr<Pending> p = std::move(pending_.front());
  pending_.pop_front();
  if (!p->event) return p->recorded;
  // c10::Event has query() in every LibTorch version, synchronize() only in
  // later ones: polling serves both.
  for (int polls = 0; !p->event->query(); ++polls) {
    if (polls < kSpinPolls)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(kPollSleep);
  }
  return Clock::now();
}

}  // namespace gridsearch
