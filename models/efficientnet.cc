// EfficientNet-B0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for
// Convolutional Neural Networks", ICML 2019, Table 1):
//
//   conv3x3/2 (32) - BN - swish
//   MBConv stages (expansion, kernel, stride, width, repeats):
//     (1,3,1,16,1) (6,3,2,24,2) (6,5,2,40,2) (6,3,2,80,3) (6,5,1,112,3)
//     (6,5,2,192,4) (6,3,1,320,1)
//   conv1x1 (1280) - BN - swish, global average pooling, (Dropout), Linear.
//
// MBConv: conv1x1 expand - BN - swish - depthwise conv kxk - BN - swish -
// squeeze-and-excitation (ratio 0.25 of the block's input width) - conv1x1
// project - BN, plus the input when the stride is 1 and the width unchanged.
// Batch norm uses the reference implementation's momentum 0.01 and eps 1e-3.
// The reference's stochastic depth ("drop connect") is left out: like
// dropout it is a regulariser the studies do not use.
//
// For inputs up to kSmallInputSide pixels the stem and the 24-filter stage
// use stride 1, as for MobileNetV2. Parameters for CIFAR-10: 4.02M (5.3M
// published for ImageNet, Table 2, of which 1.28M is the 1000-class head).
#include <torch/torch.h>

#include <algorithm>
#include <string>

#include "models/networks.h"

namespace gridsearch {
namespace {

struct StageConfig {
  int64_t expansion;
  int64_t kernel;
  int64_t stride;
  int64_t width;
  int64_t repeats;
};

constexpr StageConfig kStages[] = {{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2},
                                   {6, 3, 2, 80, 3}, {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4},
                                   {6, 3, 1, 320, 1}};
constexpr int64_t kStemWidth = 32;
constexpr int64_t kHeadWidth = 1280;
constexpr double kSqueezeRatio = 0.25;
constexpr double kBnMomentum = 0.01;
constexpr double kBnEps = 1e-3;

torch::nn::BatchNorm2d Bn(int64_t channels) {
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(channels).momentum(kBnMomentum).eps(kBnEps));
}

class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expansion)
      : residual_(stride == 1 && in == out) {
    const int64_t hidden = in * expansion;
    const int64_t squeezed =
        std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(in) * kSqueezeRatio));
    if (expansion != 1) {
      expand_ = register_module("expand", ConvNoBias(in, hidden, 1, 1));
      expand_bn_ = register_module("expand_bn", Bn(hidden));
    }
    depthwise_ = register_module("depthwise", ConvNoBias(hidden, hidden, kernel, stride, hidden));
    depthwise_bn_ = register_module("depthwise_bn", Bn(hidden));
    se_reduce_ = register_module("se_reduce",
                                 torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, squeezed, 1)));
    se_expand_ = register_module("se_expand",
                                 torch::nn::Conv2d(torch::nn::Conv2dOptions(squeezed, hidden, 1)));
    project_ = register_module("project", ConvNoBias(hidden, out, 1, 1));
    project_bn_ = register_module("project_bn", Bn(out));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = x;
    if (expand_) y = torch::silu(expand_bn_(expand_(y)));
    y = torch::silu(depthwise_bn_(depthwise_(y)));
    torch::Tensor scale = y.mean({2, 3}, /*keepdim=*/true);
    scale = torch::sigmoid(se_expand_(torch::silu(se_reduce_(scale))));
    y = project_bn_(project_(y * scale));
    return residual_ ? y.add_(x) : y;
  }

 private:
  bool residual_;
  torch::nn::Conv2d expand_{nullptr};
  torch::nn::BatchNorm2d expand_bn_{nullptr};
  torch::nn::Conv2d depthwise_{nullptr};
  torch::nn::BatchNorm2d depthwise_bn_{nullptr};
  torch::nn::Conv2d se_reduce_{nullptr};
  torch::nn::Conv2d se_expand_{nullptr};
  torch::nn::Conv2d project_{nullptr};
  torch::nn::BatchNorm2d project_bn_{nullptr};
};
TORCH_MODULE(MBConv);

class BnSwishImpl : public torch::nn::Module {
 public:
  explicit BnSwishImpl(int64_t channels) : bn_(register_module("bn", Bn(channels))) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::silu(bn_(x)); }

 private:
  torch::nn::BatchNorm2d bn_;
};
TORCH_MODULE(BnSwish);

}  // namespace

torch::nn::Sequential BuildEfficientNetB0(const NetworkShape& s) {
  const bool small = std::max(s.height, s.width) <= kSmallInputSide;
  torch::nn::Sequential net;
  net->push_back("stem", ConvNoBias(s.channels, kStemWidth, 3, small ? 1 : 2));
  net->push_back("stem_bn_swish", BnSwish(kStemWidth));
  int64_t in = kStemWidth;
  int index = 0;
  for (const StageConfig& stage : kStages) {
    const int64_t first_stride = (small && stage.width == 24) ? 1 : stage.stride;
    for (int64_t r = 0; r < stage.repeats; ++r) {
      net->push_back(
          "block" + std::to_string(++index),
          MBConv(in, stage.width, stage.kernel, r == 0 ? first_stride : 1, stage.expansion));
      in = stage.width;
    }
  }
  net->push_back("head", ConvNoBias(in, kHeadWidth, 1, 1));
  net->push_back("head_bn_swish", BnSwish(kHeadWidth));
  net->push_back("pool", GlobalAvgPool());
  MaybeAppendDropout(net, s.dropout);
  net->push_back("fc", torch::nn::Linear(kHeadWidth, s.classes));
  InitializeWeights(*net, LinearInit::kUniformByOutputs);
  return net;
}

}  // namespace gridsearch
