// The exponential decay schedule of DESIGN.md, shared by every optimizer.
#ifndef GRIDSEARCH_COMMON_DECAY_H_
#define GRIDSEARCH_COMMON_DECAY_H_

#include <cmath>
#include <cstdint>

namespace gridsearch {

// value = initial * decay^(step / decay_steps), continuous (not staircase),
// as TensorFlow's exponential_decay with staircase=False. decay == 1 or
// decay_steps <= 0 leaves the value unchanged.
inline double ExponentialDecay(double initial, double decay, int64_t step, int64_t decay_steps) {
  if (decay == 1.0 || decay_steps <= 0) return initial;
  return initial * std::pow(decay, static_cast<double>(step) / static_cast<double>(decay_steps));
}

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_DECAY_H_
