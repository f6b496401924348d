// The standard CIFAR augmentation (He et al. 2016, section 4.2): pad each
// image with `padding` zeros on every side, cut a window of the original
// size at a random offset, and mirror it horizontally with probability 1/2.
// Off by default (DatasetSpec::augment); PAL 2019 used none.
//
// It runs on whole batches on the images' device. The random choices are
// drawn separately (DrawCropFlip) from a CPU generator, so that a job's
// seeded generator gives the same augmentation in every run and on every
// device, and so that a trainer can draw an epoch's worth at once and move
// them to the device in one copy instead of one per step.
//
// The zeros are added to the mean-subtracted inputs, i.e. the padding has
// the training set's mean pixel value, as in the ResNet paper's pipeline
// (per-pixel mean subtracted, then zero-padded).
#ifndef GRIDSEARCH_MODELS_AUGMENT_H_
#define GRIDSEARCH_MODELS_AUGMENT_H_

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

namespace gridsearch {

// The padding of the CIFAR recipe.
constexpr int64_t kAugmentPadding = 4;

// Crop offsets and flips for `count` images: int64 [count, 3] on the CPU,
// rows (dy, dx, flip) with dy and dx in [0, 2 * padding] and flip in {0, 1}.
// `generator` must be a CPU generator; it advances.
torch::Tensor DrawCropFlip(int64_t count, int64_t padding, at::Generator& generator);

// Applies `params` (from DrawCropFlip, [B, 3], on the images' device) to
// `images` (float [B, C, H, W]): returns a new [B, C, H, W] tensor whose
// image b is the H x W window at (dy, dx) of image b padded by `padding`
// zeros, mirrored left-right when flip is 1. dy = dx = padding with flip 0
// is the identity. Throws c10::Error on mismatched shapes or devices.
torch::Tensor CropFlip(const torch::Tensor& images, const torch::Tensor& params, int64_t padding);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_AUGMENT_H_
