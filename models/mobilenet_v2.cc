// MobileNetV2, width multiplier 1.0 (Sandler et al., "MobileNetV2: Inverted
// Residuals and Linear Bottlenecks", CVPR 2018, Table 2):
//
//   conv3x3/2 (32) - BN - ReLU6
//   inverted residual stages (expansion t, width c, repeats n, stride s):
//     (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1)
//   conv1x1 (1280) - BN - ReLU6, global average pooling, (Dropout), Linear.
//
// An inverted residual is conv1x1 expand - BN - ReLU6 - depthwise conv3x3 -
// BN - ReLU6 - conv1x1 project - BN (linear bottleneck), plus the input when
// the stride is 1 and the width unchanged.
//
// For inputs up to kSmallInputSide pixels the stem and the 24-filter stage
// use stride 1 instead of 2 (the usual CIFAR adaptation): a 32x32 image ends
// in a 4x4 map instead of 1x1. Parameters for CIFAR-10: 2.24M (3.4M published
// for ImageNet, Table 4, of which 1.28M is the 1000-class head).
#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "models/networks.h"

namespace gridsearch {
namespace {

struct StageConfig {
  int64_t expansion;
  int64_t width;
  int64_t repeats;
  int64_t stride;
};

constexpr StageConfig kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                   {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
constexpr int64_t kStemWidth = 32;
constexpr int64_t kHeadWidth = 1280;

torch::Tensor Relu6(torch::Tensor x) { return torch::hardtanh_(x, 0.0, 6.0); }

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expansion)
      : residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expansion;
    if (expansion != 1) {
      expand_ = register_module("expand", ConvNoBias(in, hidden, 1, 1));
      expand_bn_ = register_module("expand_bn", torch::nn::BatchNorm2d(hidden));
    }
    depthwise_ = register_module("depthwise", ConvNoBias(hidden, hidden, 3, stride, hidden));
    depthwise_bn_ = register_module("depthwise_bn", torch::nn::BatchNorm2d(hidden));
    project_ = register_module("project", ConvNoBias(hidden, out, 1, 1));
    project_bn_ = register_module("project_bn", torch::nn::BatchNorm2d(out));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = x;
    if (expand_) y = Relu6(expand_bn_(expand_(y)));
    y = Relu6(depthwise_bn_(depthwise_(y)));
    y = project_bn_(project_(y));
    return residual_ ? y.add_(x) : y;
  }

 private:
  bool residual_;
  torch::nn::Conv2d expand_{nullptr};
  torch::nn::BatchNorm2d expand_bn_{nullptr};
  torch::nn::Conv2d depthwise_{nullptr};
  torch::nn::BatchNorm2d depthwise_bn_{nullptr};
  torch::nn::Conv2d project_{nullptr};
  torch::nn::BatchNorm2d project_bn_{nullptr};
};
TORCH_MODULE(InvertedResidual);

}  // namespace

torch::nn::Sequential BuildMobileNetV2(const NetworkShape& s) {
  const bool small = std::max(s.height, s.width) <= kSmallInputSide;
  torch::nn::Sequential net;
  net->push_back("stem", ConvNoBias(s.channels, kStemWidth, 3, small ? 1 : 2));
  net->push_back("stem_bn", torch::nn::BatchNorm2d(kStemWidth));
  net->push_back("stem_relu6", torch::nn::ReLU6(torch::nn::ReLU6Options(/*inplace=*/true)));
  int64_t in = kStemWidth;
  int index = 0;
  for (const StageConfig& stage : kStages) {
    const int64_t first_stride = (small && stage.width == 24) ? 1 : stage.stride;
    for (int64_t r = 0; r < stage.repeats; ++r) {
      net->push_back("block" + std::to_string(++index),
                     InvertedResidual(in, stage.width, r == 0 ? first_stride : 1, stage.expansion));
      in = stage.width;
    }
  }
  net->push_back("head", ConvNoBias(in, kHeadWidth, 1, 1));
  net->push_back("head_bn", torch::nn::BatchNorm2d(kHeadWidth));
  net->push_back("head_relu6", torch::nn::ReLU6(torch::nn::ReLU6Options(/*inplace=*/true)));
  net->push_back("pool", GlobalAvgPool());
  MaybeAppendDropout(net, s.dropout);
  net->push_back("fc", torch::nn::Linear(kHeadWidth, s.classes));
  InitializeWeights(*net, LinearInit::kNormal001);
  return net;
}

}  // namespace gridsearch
