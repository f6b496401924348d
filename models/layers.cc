#include "models/layers.h"

#include <torch/torch.h>

#include <cmath>

namespace gridsearch {

BnReluImpl::BnReluImpl(int64_t channels)
    : bn_(register_module("bn", torch::nn::BatchNorm2d(channels))) {}

// In place is safe: batch norm's backward needs its input, not its output.
torch::Tensor BnReluImpl::forward(const torch::Tensor& x) { return bn_(x).relu_(); }

torch::nn::Conv2d ConvNoBias(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                             int64_t groups) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .stride(stride)
                               .padding(kernel / 2)
                               .groups(groups)
                               .bias(false));
}

void MaybeAppendDropout(torch::nn::Sequential& seq, double p) {
  if (p > 0) seq->push_back(torch::nn::Dropout(p));
}

void InitializeWeights(torch::nn::Module& root, LinearInit linear) {
  torch::NoGradGuard no_grad;
  for (const auto& module : root.modules(/*include_self=*/true)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* bn1 = module->as<torch::nn::BatchNorm1d>()) {
      bn1->weight.fill_(1);
      bn1->bias.zero_();
    } else if (auto* fc = module->as<torch::nn::Linear>()) {
      switch (linear) {
        case LinearInit::kLibTorchDefault:
          break;  // the constructor's draw stands
        case LinearInit::kNormal001:
          fc->weight.normal_(0, 0.01);
          break;
        case LinearInit::kUniformByOutputs: {
          const double range = 1.0 / std::sqrt(static_cast<double>(fc->weight.size(0)));
          fc->weight.uniform_(-range, range);
          break;
        }
      }
      if (fc->bias.defined()) fc->bias.zero_();
    }
  }
}

}  // namespace gridsearch
