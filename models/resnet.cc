// Pre-activation ResNets (He et al. 2016, "Identity Mappings in Deep
// Residual Networks"): every residual unit is BN-ReLU-conv3x3-BN-ReLU-conv3x3
// plus a shortcut, and the network ends with BN-ReLU before the pooling, so
// the shortcut path carries the identity from the stem to the head.
//
// Shortcuts: identity when the shape is unchanged; when a stage doubles the
// width and halves the resolution, a strided 1x1 convolution of the
// pre-activated input (the v2 reference code and TensorFlow's official
// resnet_model do the same; it adds 2,560 parameters to ResNet-32).
//
//   resnet32: CIFAR ResNet of the original paper, 6n+2 layers with n = 5:
//             conv3x3(16), 3 stages of 5 units of 16/32/64 filters, 0.47M
//             parameters for CIFAR-10 (published: 0.46M, He et al. 2016a
//             Table 6, with parameter-free shortcuts).
//   resnet34: ImageNet ResNet-34 units [3, 4, 6, 3] of 64/128/256/512 filters.
//             For inputs up to kSmallInputSide pixels the 7x7/2 stem and the
//             max pooling become one conv3x3/1 of 64 filters (the usual
//             CIFAR adaptation), so a 32x32 image keeps 32x32 in stage 1.
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "models/networks.h"

namespace gridsearch {
namespace {

class PreActUnitImpl : public torch::nn::Module {
 public:
  PreActUnitImpl(int64_t in, int64_t out, int64_t stride)
      : bn1_(register_module("bn1", torch::nn::BatchNorm2d(in))),
        conv1_(register_module("conv1", ConvNoBias(in, out, 3, stride))),
        bn2_(register_module("bn2", torch::nn::BatchNorm2d(out))),
        conv2_(register_module("conv2", ConvNoBias(out, out, 3, 1))) {
    if (stride != 1 || in != out)
      projection_ = register_module("projection", ConvNoBias(in, out, 1, stride));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    // In place is safe: batch norm's backward needs its input, not its output.
    torch::Tensor pre = bn1_(x).relu_();
    torch::Tensor shortcut = projection_ ? projection_(pre) : x;
    torch::Tensor y = conv2_(bn2_(conv1_(pre)).relu_());
    return y.add_(shortcut);
  }

 private:
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Conv2d conv2_;
  torch::nn::Conv2d projection_{nullptr};
};
TORCH_MODULE(PreActUnit);

// Appends to `net`, which holds the stem, one stage per entry of `units`
// with `widths` filters (every stage after the first starts with a stride-2
// unit) and the head, then initialises the whole network.
torch::nn::Sequential PreActResNet(const NetworkShape& s, torch::nn::Sequential net,
                                   const std::vector<int64_t>& units,
                                   const std::vector<int64_t>& widths) {
  int64_t in = widths[0];
  for (size_t stage = 0; stage < units.size(); ++stage) {
    for (int64_t u = 0; u < units[stage]; ++u) {
      const int64_t stride = (stage > 0 && u == 0) ? 2 : 1;
      net->push_back("stage" + std::to_string(stage + 1) + "_unit" + std::to_string(u + 1),
                     PreActUnit(in, widths[stage], stride));
      in = widths[stage];
    }
  }
  net->push_back("final_bn_relu", BnRelu(in));
  net->push_back("pool", GlobalAvgPool());
  net->push_back("fc", torch::nn::Linear(in, s.classes));
  InitializeWeights(*net, LinearInit::kLibTorchDefault);
  return net;
}

}  // namespace

torch::nn::Sequential BuildResNet32(const NetworkShape& s) {
  constexpr int64_t kUnitsPerStage = 5;  // 6n + 2 = 32 layers
  torch::nn::Sequential net;
  net->push_back("stem", ConvNoBias(s.channels, 16, 3, 1));
  return PreActResNet(s, net, {kUnitsPerStage, kUnitsPerStage, kUnitsPerStage}, {16, 32, 64});
}

torch::nn::Sequential BuildResNet34(const NetworkShape& s) {
  torch::nn::Sequential net;
  if (std::max(s.height, s.width) <= kSmallInputSide) {
    net->push_back("stem", ConvNoBias(s.channels, 64, 3, 1));
  } else {
    net->push_back(
        "stem", torch::nn::Conv2d(
                    torch::nn::Conv2dOptions(s.channels, 64, 7).stride(2).padding(3).bias(false)));
    net->push_back("stem_pool",
                   torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  }
  return PreActResNet(s, net, {3, 4, 6, 3}, {64, 128, 256, 512});
}

}  // namespace gridsearch
