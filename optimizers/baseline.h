// The optimizers of the studies built from the hyperparameters of
// common/catalog.h: the baselines (LibTorch's own SGD, Adam and RMSprop) with
// the exponential learning-rate decay that drives them (DESIGN.md "Decay"),
// and PAL (optimizers/pal.h), which chooses its own step size.
//
// Parameter names (catalog): sgd: lr, momentum, weight_decay, nesterov;
// adam: lr, beta1, beta2, eps, weight_decay, amsgrad; rmsprop: lr, alpha,
// eps, momentum, weight_decay, centered; pal: measuring_step, max_step,
// momentum, loose_approximation, exact_directional_derivative, epsilon.
// Every optimizer also has `decay`. For the baselines it is not an optimizer
// option: the trainer applies it through DecaySchedule and SetLearningRate
// before each step. PAL decays its measuring and maximum steps itself, over
// the decay_steps given to MakeOptimizer.
//
// Driving them (worker/trainer.cc): a baseline steps as
//   zero_grad(); loss = f(); loss.backward(); step();
// PAL (UsesLossClosure) evaluates the loss itself, twice:
//   loss = step([&] { return f(); });
// and LastEffectiveLearningRate gives the step size it chose.
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
// hyperparameters; missing ones take the catalog's defaults. `decay_steps`
// is PAL's decay period (steps per factor `decay`; 0: no decay); the
// baselines ignore it. Returns OK and sets *out, or InvalidArgument naming
// the cause: an unknown optimizer (listing the known ones), an unknown
// parameter, a value outside its range, or sgd's nesterov without momentum
// (LibTorch requires momentum > 0 and no dampening for it). Never throws.
Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters, int64_t decay_steps,
                     std::unique_ptr<torch::optim::Optimizer>* out);

// The same with decay_steps 0: PAL built this way does not decay.
Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters,
                     std::unique_ptr<torch::optim::Optimizer>* out);

// True for optimizer names whose step() needs a closure that returns the
// batch loss and that choose their own step size (pal); false for those
// driven by a learning-rate schedule (sgd, adam, rmsprop) and unknown names.
bool UsesLossClosure(const std::string& name);

// The effective learning rate of `optimizer`'s last step, for optimizers
// that choose it (PAL: s_upd / ||d||), as a 0-dim tensor on the parameters'
// device; undefined for the baselines (their rate is the schedule's) and
// before the first step. Does not synchronise with a GPU; reading the value
// does, so read a batch of them at once.
torch::Tensor LastEffectiveLearningRate(const torch::optim::Optimizer& optimizer);

// Sets the learning rate of every parameter group of `optimizer`. Works for
// any optimizer whose options implement set_lr (all of LibTorch's do). PAL
// has no learning rate to set: does nothing for it.
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

// The learning rate of the first parameter group (NaN when there is none,
// and for PAL: see LastEffectiveLearningRate).
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
