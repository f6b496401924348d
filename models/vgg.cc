// VGG-16, configuration D of Simonyan & Zisserman (ICLR 2015): 13 conv3x3
// layers in 5 blocks of 64, 128, 256, 512, 512 filters, each block closed by
// 2x2 max pooling, here with batch norm after every convolution.
//
// CIFAR head: a 32x32 input leaves a 1x1x512 map, so the three 4096-unit
// layers of the ImageNet head become (Dropout) Linear(512, 512) - BN - ReLU
// (Dropout) Linear(512, classes): the CIFAR VGG-16 of Zagoruyko's cifar.torch
// that Li et al. ("Pruning Filters for Efficient ConvNets", ICLR 2017,
// Table 1) count at 1.5e7 parameters. The map is globally averaged before the
// head so that other input sizes fit too (for 32x32 it is the same as
// flattening). Pooling steps are dropped once the map is a single pixel on
// that side, so 28x28 and smaller inputs work.
#include <torch/torch.h>

#include "models/networks.h"

namespace gridsearch {
namespace {

constexpr int64_t kPool = 0;  // marks a max pooling in the configuration
// One line per block.
// clang-format off
constexpr int64_t kConfigD[] = {64, 64, kPool,
                                128, 128, kPool,
                                256, 256, 256, kPool,
                                512, 512, 512, kPool,
                                512, 512, 512, kPool};
// clang-format on
constexpr int64_t kHeadWidth = 512;

}  // namespace

torch::nn::Sequential BuildVgg16(const NetworkShape& s) {
  torch::nn::Sequential net;
  int64_t in = s.channels, height = s.height, width = s.width;
  for (int64_t v : kConfigD) {
    if (v == kPool) {
      const int64_t kh = height >= 2 ? 2 : 1, kw = width >= 2 ? 2 : 1;
      if (kh == 1 && kw == 1) continue;
      net->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions({kh, kw})));
      height /= kh;
      width /= kw;
      continue;
    }
    net->push_back(ConvNoBias(in, v, 3, 1));
    net->push_back(torch::nn::BatchNorm2d(v));
    net->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    in = v;
  }
  net->push_back(GlobalAvgPool());
  MaybeAppendDropout(net, s.dropout);
  net->push_back(torch::nn::Linear(in, kHeadWidth));
  net->push_back(torch::nn::BatchNorm1d(kHeadWidth));
  net->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
  MaybeAppendDropout(net, s.dropout);
  net->push_back(torch::nn::Linear(kHeadWidth, s.classes));
  InitializeWeights(*net, LinearInit::kNormal001);
  return net;
}

}  // namespace gridsearch
