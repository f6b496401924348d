#include "optimizers/baseline.h"

#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <limits>
#include <tuple>

#include "common/catalog.h"
#include "common/decay.h"

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

}  // namespace

Status MakeOptimizer(const std::string& name, const std::map<std::string, double>& params,
                     std::vector<torch::Tensor> parameters,
                     std::unique_ptr<torch::optim::Optimizer>* out) {
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
    } else {
      return Status::InvalidArgument("optimizer '" + name +
                                     "' is in the catalog but is not a baseline optimizer "
                                     "(baselines: sgd, adam, rmsprop)");
    }
  } catch (const c10::Error& e) {
    return Status::InvalidArgument("optimizer '" + name + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal("optimizer '" + name + "': " + e.what());
  }
  return Status::OK();
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

double GetLearningRate(const torch::optim::Optimizer& optimizer) {
  const auto& groups = optimizer.param_groups();
  if (groups.empty()) return std::numeric_limits<double>::quiet_NaN();
  return groups.front().options().get_lr();
}

double DecaySchedule::At(int64_t step) const {
  return ExponentialDecay(initial_, decay_, step, decay_steps_);
}

}  // namespace gridsearch
