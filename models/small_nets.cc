// The small networks for CPU work and quick checks.
//
//   logreg  Flatten -> Linear(inputs, classes): multinomial logistic regression.
//   mlp     Flatten -> Linear(inputs, 256) -> ReLU -> Linear(256, 128) -> ReLU
//           -> (Dropout) -> Linear(128, classes).
//   cnn     conv3x3(32) - ReLU - maxpool 2 - conv3x3(64) - ReLU - maxpool 2 -
//           Flatten - Linear(64 * H/4 * W/4, 128) - ReLU - (Dropout) -
//           Linear(128, classes); 0.42M parameters for Fashion-MNIST, 0.55M
//           for CIFAR-10. Pooling is dropped on a side already 1 pixel wide.
//
// logreg and mlp keep LibTorch's default initialisation (their behaviour
// predates the paper networks); cnn's convolutions are He-initialised.
#include <torch/torch.h>

#include "models/networks.h"

namespace gridsearch {
namespace {

// Hidden layer widths of the mlp and of the cnn's head.
constexpr int64_t kMlpHidden1 = 256;
constexpr int64_t kMlpHidden2 = 128;
constexpr int64_t kCnnWidth1 = 32;
constexpr int64_t kCnnWidth2 = 64;
constexpr int64_t kCnnHidden = 128;

// Appends a 2x2 max pooling (1 on a side already 1 pixel wide) and updates
// the spatial size.
void AppendPool(torch::nn::Sequential& net, int64_t* h, int64_t* w) {
  const int64_t kh = *h >= 2 ? 2 : 1, kw = *w >= 2 ? 2 : 1;
  if (kh == 1 && kw == 1) return;
  net->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions({kh, kw})));
  *h /= kh;
  *w /= kw;
}

}  // namespace

torch::nn::Sequential BuildLogReg(const NetworkShape& s) {
  return torch::nn::Sequential(torch::nn::Flatten(),
                               torch::nn::Linear(s.channels * s.height * s.width, s.classes));
}

torch::nn::Sequential BuildMlp(const NetworkShape& s) {
  torch::nn::Sequential net(
      torch::nn::Flatten(), torch::nn::Linear(s.channels * s.height * s.width, kMlpHidden1),
      torch::nn::ReLU(), torch::nn::Linear(kMlpHidden1, kMlpHidden2), torch::nn::ReLU());
  MaybeAppendDropout(net, s.dropout);
  net->push_back(torch::nn::Linear(kMlpHidden2, s.classes));
  return net;
}

torch::nn::Sequential BuildSmallCnn(const NetworkShape& s) {
  torch::nn::Sequential net;
  int64_t h = s.height, w = s.width;
  net->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(s.channels, kCnnWidth1, 3).padding(1)));
  net->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
  AppendPool(net, &h, &w);
  net->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(kCnnWidth1, kCnnWidth2, 3).padding(1)));
  net->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
  AppendPool(net, &h, &w);
  net->push_back(torch::nn::Flatten());
  net->push_back(torch::nn::Linear(kCnnWidth2 * h * w, kCnnHidden));
  net->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
  MaybeAppendDropout(net, s.dropout);
  net->push_back(torch::nn::Linear(kCnnHidden, s.classes));
  InitializeWeights(*net, LinearInit::kLibTorchDefault);
  return net;
}

}  // namespace gridsearch
