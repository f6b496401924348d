#include "optimizers/baseline.h"

#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <limits>
#include <tuple>

#include "common/catalog.h"
#include "common/decay.h"
#include "optimizers/pal.h"

namespace gridsearch {
namespace {

// Boolean parameters are stored as 0/1 doubles in the catalog.
bool Flag(const std::map<std::string, double>& p, const char* name) { return p.at(name) != 0; }

std::unique_ptr<torch::optim::Optimizer> MakeSgd(const std::map<std::string, double>& p,
                                                 std::vector<torch::Tensor> parameters) {
  torch::optim::SGDOptions options(p.at("lr"));
  options.momentum(p.at("momentum"))
      .weight_decay(p.at("weight_decay"))
      .nesterov(Flag(p, "nesterov"))
      .dampening(0);
  return std::make_unique<torch::optim::SGD>(std::move(parameters), options);
}

std::unique_ptr<torch::optim::Optimizer> MakeAdam(const std::map<std::string, double>& p,
                                                  std::vector<torch::Tensor> parameters) {
  torch::optim::AdamOptions options(p.at("lr"));
  options.betas(std::make_tuple(p.at("beta1"), p.at("beta2")))
      .eps(p.at("eps"))
      .weight_decay(p.at("weight_decay"))
      .amsgrad(Flag(p, "amsgrad"));
  return std::make_unique<torch::optim::Adam>(std::move(parameters), options);
}

std::unique_ptr<torch::optim::Optimizer> MakeRmsprop(const std::map<std::string, double>& p,
                                                     std::vector<torch::Tensor> parameters) {
  torch::optim::RMSpropOptions options(p.at("lr"));
  options.alpha(p.at("alpha"))
      .eps(p.at("eps"))
      .momentum(p.at("momentum"))
      .weight_decay(p.at("weight_decay"))
      .centered(Flag(p, "centered"));
  return std::make_unique<torch::optim::RMSprop>(std::move(parameters), options);
}

std::unique_ptr<torch::optim::Optimizer> MakePal(const std::map<std::string, double>& p,
                                                 std::vector<torch::Tensor> parameters,
                                                 int64_t decay_steps) {
  optim::PALOptions options(p.at("measuring_step"));
  options.max_step(p.at("max_step"))
      .momentum(p.at("momentum"))
      .loose_approximation(p.at("loose_approximation"))
      .decay(p.at("decay"))
      .decay_steps(decay_steps)
      .exact_directional_derivative(Flag(p, "exact_directional_derivative"))
      .epsilon(p.at("epsilon"));
  return std::make_unique<optim::PAL>(std::move(parameters), options);
}

}  // namespace

Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters,
                     std::unique_ptr<torch::optim::Optimizer>* out) {
  return MakeOptimizer(name, params, std::move(parameters), /*decay_steps=*/0, out);
}

bool UsesLossClosure(const std::string& name) { return name == "pal"; }

torch::Tensor LastEffectiveLearningRate(const torch::optim::Optimizer& optimizer) {
  const auto* pal = dynamic_cast<const optim::PAL*>(&optimizer);
  return pal != nullptr ? pal->last_learning_rate() : torch::Tensor();
}

Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters, int64_t decay_steps,
                     std::unique_ptr<torch::optim::Optimizer>* out) {
  if (decay_steps < 0)
    return Status::InvalidArgument("decay_steps must be >= 0 (0: no decay), got " +
                                   std::to_string(decay_steps));
  // Validates names and ranges against the catalog and fills the defaults.
  std::map<std::string, double> full;
  GS_RETURN_IF_ERROR(ResolveParams(name, params, &full));
  if (name == "sgd" && Flag(full, "nesterov") && full.at("momentum") <= 0)
    return Status::InvalidArgument(
        "optimizers.sgd: nesterov requires momentum > 0 (got momentum " +
        std::to_string(full.at("momentum")) + ")");
  try {
    if (name == "sgd") {
      *out = MakeSgd(full, std::move(parameters));
    } else if (name == "adam") {
      *out = MakeAdam(full, std::move(parameters));
    } else if (name == "rmsprop") {
      *out = MakeRmsprop(full, std::move(parameters));
    } else if (name == "pal") {
      *out = MakePal(full, std::move(parameters), decay_steps);
    } else {
      return Status::InvalidArgument("optimizer '" + name +
                                     "' is in the catalog but has no factory "
                                     "(built: sgd, adam, rmsprop, pal)");
    }
  } catch (const c10::Error& e) {
    return Status::InvalidArgument("optimizer '" + name + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal("optimizer '" + name + "': " + e.what());
  }
  return Status::OK();
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  // PALOptions do not implement set_lr (LibTorch's default throws).
  if (dynamic_cast<const optim::PAL*>(&optimizer) != nullptr) return;
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double GetLearningRate(const torch::optim::Optimizer& optimizer) {
  const auto& groups = optimizer.param_groups();
  if (groups.empty() || dynamic_cast<const optim::PAL*>(&optimizer) != nullptr)
    return std::numeric_limits<double>::quiet_NaN();
  return groups.front().options().get_lr();
}

double DecaySchedule::At(int64_t step) const {
  return ExponentialDecay(initial_, decay_, step, decay_steps_);
}

}  // namespace gridsearch
