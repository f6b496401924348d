#include "models/augment.h"

#include <torch/torch.h>

namespace gridsearch {

torch::Tensor DrawCropFlip(int64_t count, int64_t padding, at::Generator& generator) {
  TORCH_CHECK(count >= 0, "DrawCropFlip: count must be >= 0, got ", count);
  TORCH_CHECK(padding >= 0, "DrawCropFlip: padding must be >= 0, got ", padding);
  torch::Tensor offsets = torch::randint(2 * padding + 1, {count, 2}, generator, torch::kLong);
  torch::Tensor flips = torch::randint(2, {count, 1}, generator, torch::kLong);
  return torch::cat({offsets, flips}, 1);
}

torch::Tensor CropFlip(const torch::Tensor& images, const torch::Tensor& params, int64_t padding) {
  TORCH_CHECK(images.dim() == 4, "CropFlip: images must be [B, C, H, W], got ", images.sizes());
  TORCH_CHECK(params.dim() == 2 && params.size(0) == images.size(0) && params.size(1) == 3,
              "CropFlip: params must be [", images.size(0), ", 3], got ", params.sizes());
  TORCH_CHECK(params.device() == images.device(), "CropFlip: params on ", params.device(),
              " but images on ", images.device());
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t padded_w = w + 2 * padding;
  torch::Tensor padded = torch::constant_pad_nd(images, {padding, padding, padding, padding}, 0);

  // One gather per batch: the source of output pixel (b, i, j) in image b's
  // padded plane is (dy + i, dx + j), or (dy + i, dx + w - 1 - j) when
  // flipped. Every image's index is computed at once on the device.
  const auto index_options = params.options();
  torch::Tensor dy = params.select(1, 0).view({b, 1, 1});
  torch::Tensor dx = params.select(1, 1).view({b, 1, 1});
  torch::Tensor flip = params.select(1, 2).view({b, 1, 1});
  torch::Tensor rows = torch::arange(h, index_options).view({1, h, 1});
  torch::Tensor cols = torch::arange(w, index_options).view({1, 1, w});
  torch::Tensor source_cols = cols + flip * (w - 1 - 2 * cols);  // j or w - 1 - j
  torch::Tensor index = ((dy + rows) * padded_w + dx + source_cols).view({b, 1, h * w});
  return padded.view({b, c, -1}).gather(2, index.expand({b, c, h * w})).view({b, c, h, w});
}

}  // namespace gridsearch
