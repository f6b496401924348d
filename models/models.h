// The networks a job can train: a registry from the catalog's model names
// (common/catalog.h Models()) to builders. Every model is a
// torch::nn::Sequential, so the trainer drives them all the same way: forward
// maps float [batch, C, H, W] to logits [batch, classes].
//
//   logreg, mlp, cnn      small models for CPU work (models/small_nets.cc)
//   resnet32, resnet34    pre-activation ResNets v2 (models/resnet.cc)
//   vgg16                 VGG-16 D with batch norm (models/vgg.cc)
//   densenet40            DenseNet L=40, k=12 (models/densenet.cc)
//   mobilenetv2           MobileNetV2 (models/mobilenet_v2.cc)
//   efficientnet_b0       EfficientNet-B0 (models/efficientnet.cc)
//
// Each model adapts to the data set: input channels and spatial size from
// input_shape, the head from num_classes (see models/networks.h). Batch-norm
// models need training batches of at least 2 examples.
//
// Weights are initialised as in each network's paper (He initialisation for
// the convolutional networks; LibTorch's default for logreg and mlp), drawn
// from LibTorch's global CPU generator on the CPU: seed it
// (torch::manual_seed) first and the same seed gives bit-identical weights in
// every run, whatever device the model is moved to afterwards.
//
// Dropout: PAL 2019 removed every dropout layer, so `dropout` 0 (the
// default) builds none. With p > 0 the layers that take dropout get it: the
// heads of mlp, cnn, vgg16, mobilenetv2 and efficientnet_b0, and every
// convolution after the first of densenet40. logreg and the ResNets have no
// dropout layers (the papers' ResNets have none) and ignore it.
//
// Thread-compatible: building draws from the global generator.
#ifndef GRIDSEARCH_MODELS_MODELS_H_
#define GRIDSEARCH_MODELS_MODELS_H_

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

// Builds model `name` for inputs of `input_shape` (without the batch
// dimension: {C, H, W}; logreg and mlp also take any other non-empty shape,
// which they flatten) and `num_classes` classes. Returns OK and sets *out to
// a fresh model on the CPU in training mode, or InvalidArgument naming the
// cause: unknown name (listing the known ones), empty or non-positive shape,
// a convolutional model given a shape that is not {C, H, W}, fewer than two
// classes, dropout outside [0, 1). Never throws.
Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, double dropout, torch::nn::Sequential* out);

// The same without dropout.
Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, torch::nn::Sequential* out);

// Number of trainable parameters (elements of tensors that require grad).
int64_t ParameterCount(const torch::nn::Module& model);

// One row of `gridsearch models`.
struct ModelDescription {
  std::string name;                  // as in the catalog
  std::string help;                  // the catalog's one-line description
  int64_t cifar10_parameters = 0;    // trainable parameters for 3x32x32 inputs, 10 classes
  std::string input_shapes;          // which input shapes it accepts, in words
  int64_t published_parameters = 0;  // the literature's figure for CIFAR-10; 0: none
  std::string published_source;      // where that figure comes from; "" when none
};

// Describes every model of the catalog, in catalog order, by building each
// for CIFAR-10 input and counting its parameters (about a second in all on a
// CPU). The global generator's state is restored afterwards, so calling this
// does not change the weights of models built later. Returns OK and fills
// *out, or Internal naming the model that failed to build. Never throws.
Status DescribeModels(std::vector<ModelDescription>* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_MODELS_H_
