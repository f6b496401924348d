// Building blocks shared by the networks of models/: the shape a network is
// built for, small modules that torch::nn lacks in both LibTorch 1.13 and 2.x,
// and the weight initialisations of the original papers.
//
// Internal to models/: callers outside use models/models.h.
#ifndef GRIDSEARCH_MODELS_LAYERS_H_
#define GRIDSEARCH_MODELS_LAYERS_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace gridsearch {

// What a network is built for. Builders may assume the checks of MakeModel
// have passed: channels, height, width >= 1, classes >= 2, dropout in [0, 1).
struct NetworkShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t classes = 0;
  double dropout = 0;  // 0: no dropout layers at all (PAL 2019 removed them)
};

// Inputs at most this many pixels on their longer side are "small" (CIFAR,
// MNIST): the ImageNet networks then keep more resolution in their first
// stages, as their CIFAR adaptations do (see each builder).
constexpr int64_t kSmallInputSide = 64;

// x.mean over H and W: [B, C, H, W] -> [B, C]. Global average pooling that
// works for any spatial size, so one head fits every input shape.
class GlobalAvgPoolImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return x.mean({2, 3}); }
};
TORCH_MODULE(GlobalAvgPool);

// BN-ReLU: the pre-activation of ResNet v2 and DenseNet layers, also used
// before their pooling heads.
class BnReluImpl : public torch::nn::Module {
 public:
  explicit BnReluImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::BatchNorm2d bn_;
};
TORCH_MODULE(BnRelu);

// A 2-D convolution without bias (a batch norm follows and has its own).
torch::nn::Conv2d ConvNoBias(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                             int64_t groups = 1);

// Appends Dropout(p) to `seq` when p > 0, nothing otherwise: with the default
// p = 0 the network has no dropout layer, draws no random numbers for it and
// pays nothing for it.
void MaybeAppendDropout(torch::nn::Sequential& seq, double p);

// How the final Linear layer is initialised; conv and batch-norm layers are
// always He-initialised (below).
enum class LinearInit {
  kLibTorchDefault,   // LibTorch's default weights, zero bias (ResNet, DenseNet)
  kNormal001,         // N(0, 0.01^2) weights, zero bias (VGG, MobileNetV2)
  kUniformByOutputs,  // U(-1/sqrt(out), 1/sqrt(out)) weights, zero bias (EfficientNet)
};

// Re-initialises every submodule of `root` in registration order, drawing
// from LibTorch's global CPU generator: Conv2d weights He-normal with fan_out
// (He et al. 2015, as in the ResNet and DenseNet reference code), conv biases
// zero; BatchNorm weight 1, bias 0; Linear per `linear`. With the global
// generator seeded first, the weights are bit-identical in every run.
void InitializeWeights(torch::nn::Module& root, LinearInit linear);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_LAYERS_H_
