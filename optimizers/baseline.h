// The baseline optimizers of the studies: LibTorch's own SGD, Adam and
// RMSprop, built from the hyperparameters of common/catalog.h, and the
// exponential learning-rate decay that drives them (DESIGN.md "Decay").
//
// Parameter names (catalog): sgd: lr, momentum, weight_decay, nesterov;
// adam: lr, beta1, beta2, eps, weight_decay, amsgrad; rmsprop: lr, alpha,
// eps, momentum, weight_decay, centered. Every optimizer also has `decay`,
// which is not an optimizer option: the trainer applies it through
// DecaySchedule and SetLearningRate before each step.
#ifndef GRIDSEARCH_OPTIMIZERS_BASELINE_H_
#define GRIDSEARCH_OPTIMIZERS_BASELINE_H_

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

// Builds optimizer `name` over `parameters`. `params` holds the job's
// hyperparameters; missing ones take the catalog's defaults. Returns OK and
// sets *out, or InvalidArgument naming the cause: an unknown optimizer
// (listing the known ones), an unknown parameter, a value outside its range,
// or sgd's nesterov without momentum (LibTorch requires momentum > 0 and no
// dampening for it). Never throws.
Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters,
                     std::unique_ptr<torch::optim::Optimizer>* out);

// Sets the learning rate of every parameter group of `optimizer`. Works for
// any optimizer whose options implement set_lr (all of LibTorch's do).
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

// The learning rate of the first parameter group (NaN when there is none).
double GetLearningRate(const torch::optim::Optimizer& optimizer);

// value(t) = initial * decay^(t / decay_steps), continuous, where t is the
// number of steps already taken (0 for the first step, which therefore uses
// `initial`). decay == 1 or decay_steps <= 0: constant. See common/decay.h.
class DecaySchedule {
 public:
  DecaySchedule(double initial, double decay, int64_t decay_steps)
      : initial_(initial), decay_(decay), decay_steps_(decay_steps) {}

  double At(int64_t step) const;

  double initial() const { return initial_; }
  double decay() const { return decay_; }
  int64_t decay_steps() const { return decay_steps_; }

 private:
  double initial_;
  double decay_;
  int64_t decay_steps_;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_OPTIMIZERS_BASELINE_H_
