// Builders of the networks in the catalog, one per name, each in the file of
// its family (resnet.cc, vgg.cc, densenet.cc, mobilenet_v2.cc,
// efficientnet.cc, small_nets.cc). Internal to models/: callers outside use
// MakeModel (models/models.h), which validates the shape first and turns
// exceptions into a Status. Builders may throw c10::Error.
//
// Every builder returns a torch::nn::Sequential whose forward maps float
// [batch, channels, height, width] to logits [batch, classes], with weights
// initialised as in the network's paper (models/layers.h InitializeWeights),
// drawn from LibTorch's global CPU generator.
//
// Adapting to the input: the convolutional networks end in global average
// pooling, so any height and width >= 1 works: pooling steps are dropped on
// a side already 1 pixel wide, and strided convolutions (padded) never
// shrink a side below 1 pixel. Inputs up to kSmallInputSide pixels get the
// CIFAR stems described with each network.
#ifndef GRIDSEARCH_MODELS_NETWORKS_H_
#define GRIDSEARCH_MODELS_NETWORKS_H_

#include <torch/nn/modules/container/sequential.h>

#include "models/layers.h"

namespace gridsearch {

// small_nets.cc
torch::nn::Sequential BuildLogReg(const NetworkShape& s);
torch::nn::Sequential BuildMlp(const NetworkShape& s);
torch::nn::Sequential BuildSmallCnn(const NetworkShape& s);

// resnet.cc: pre-activation ("v2") ResNets, He et al., "Identity Mappings in
// Deep Residual Networks", ECCV 2016.
torch::nn::Sequential BuildResNet32(const NetworkShape& s);
torch::nn::Sequential BuildResNet34(const NetworkShape& s);

// vgg.cc: VGG-16 configuration D (Simonyan & Zisserman, ICLR 2015) with batch
// norm and a CIFAR head.
torch::nn::Sequential BuildVgg16(const NetworkShape& s);

// densenet.cc: DenseNet (Huang et al., CVPR 2017), L = 40, k = 12.
torch::nn::Sequential BuildDenseNet40(const NetworkShape& s);

// mobilenet_v2.cc: MobileNetV2 (Sandler et al., CVPR 2018), width 1.0.
torch::nn::Sequential BuildMobileNetV2(const NetworkShape& s);

// efficientnet.cc: EfficientNet-B0 (Tan & Le, ICML 2019).
torch::nn::Sequential BuildEfficientNetB0(const NetworkShape& s);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_NETWORKS_H_
