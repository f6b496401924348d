// DenseNet-40 with growth rate k = 12 (Huang et al., "Densely Connected
// Convolutional Networks", CVPR 2017): the basic DenseNet of their CIFAR
// experiments, without bottleneck layers or compression (not DenseNet-BC).
//
//   conv3x3 (16 filters)
//   3 dense blocks of (40 - 4) / 3 = 12 layers; a layer is BN-ReLU-conv3x3
//     with k = 12 filters whose output is concatenated to its input;
//   between blocks a transition BN-ReLU-conv1x1 (same width) - avgpool 2x2;
//   BN-ReLU, global average pooling, Linear.
//
// 16 + 3 * 12 * 12 = 448 features reach the head; 1.02M parameters for
// CIFAR-10 (published: 1.0M, Huang et al. Table 2). With dropout p > 0 a
// Dropout(p) follows every convolution except the first, as the paper does
// (p = 0.2) when it trains without augmentation.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/networks.h"

namespace gridsearch {
namespace {

constexpr int64_t kGrowthRate = 12;
constexpr int64_t kLayersPerBlock = 12;  // (L - 4) / 3 with L = 40
constexpr int64_t kBlocks = 3;
constexpr int64_t kStemWidth = 16;

// BN-ReLU-conv(kernel) [-Dropout]: the composite function H of the paper.
class BnReluConvImpl : public torch::nn::Module {
 public:
  BnReluConvImpl(int64_t in, int64_t out, int64_t kernel, double dropout)
      : bn_(register_module("bn", torch::nn::BatchNorm2d(in))),
        conv_(register_module("conv", ConvNoBias(in, out, kernel, 1))),
        dropout_(dropout) {}

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = conv_(bn_(x).relu_());
    if (dropout_ > 0) y = torch::dropout(y, dropout_, is_training());
    return y;
  }

 private:
  torch::nn::BatchNorm2d bn_;
  torch::nn::Conv2d conv_;
  double dropout_;
};
TORCH_MODULE(BnReluConv);

class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t in, int64_t layers, double dropout) {
    for (int64_t i = 0; i < layers; ++i) {
      layers_.push_back(register_module("layer" + std::to_string(i + 1),
                                        BnReluConv(in + i * kGrowthRate, kGrowthRate, 3, dropout)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    // Each layer sees every earlier feature map; one concatenation per layer
    // as in the reference implementation.
    torch::Tensor features = x;
    for (auto& layer : layers_) features = torch::cat({features, layer(features)}, 1);
    return features;
  }

 private:
  std::vector<BnReluConv> layers_;
};
TORCH_MODULE(DenseBlock);

}  // namespace

torch::nn::Sequential BuildDenseNet40(const NetworkShape& s) {
  torch::nn::Sequential net;
  net->push_back("stem", ConvNoBias(s.channels, kStemWidth, 3, 1));
  int64_t width = kStemWidth, h = s.height, w = s.width;
  for (int64_t block = 0; block < kBlocks; ++block) {
    net->push_back("block" + std::to_string(block + 1),
                   DenseBlock(width, kLayersPerBlock, s.dropout));
    width += kLayersPerBlock * kGrowthRate;
    if (block + 1 == kBlocks) break;
    net->push_back("transition" + std::to_string(block + 1),
                   BnReluConv(width, width, 1, s.dropout));
    const int64_t kh = h >= 2 ? 2 : 1, kw = w >= 2 ? 2 : 1;
    if (kh > 1 || kw > 1) {
      net->push_back("pool" + std::to_string(block + 1),
                     torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions({kh, kw})));
      h /= kh;
      w /= kw;
    }
  }
  net->push_back("final_bn_relu", BnRelu(width));
  net->push_back("pool", GlobalAvgPool());
  net->push_back("fc", torch::nn::Linear(width, s.classes));
  InitializeWeights(*net, LinearInit::kLibTorchDefault);
  return net;
}

}  // namespace gridsearch
