// Data sets a job can train on, loaded into memory as float tensors.
//
// Names come from common/catalog.h Datasets():
//   fashion-mnist, mnist  IDX files (gzip or raw) in DatasetSpec::path, or in
//                         the catalog's default folder when path is empty;
//   synthetic             Gaussian class clusters made from a fixed seed (the
//                         same data for every job and every process), 1x28x28
//                         inputs, 10 classes, 6000 training / 1000 test
//                         examples; needs no files.
//
// Preprocessing: pixels are scaled to [0, 1], then the per-pixel mean of the
// training subset (the first train_size examples) is subtracted from both the
// training and the test images, so no test statistics leak into training.
//
// LoadDataset returns OK and fills *out, or a non-OK Status that names the
// cause (unknown name, missing folder or file, corrupt file, train_size
// larger than the data set); it never throws.
#ifndef GRIDSEARCH_MODELS_DATASETS_H_
#define GRIDSEARCH_MODELS_DATASETS_H_

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

// Sizes and seed of the synthetic data set. The seed is fixed (not the job's)
// so that every job of a sweep sees the same data.
constexpr uint64_t kSyntheticSeed = 0x5eed5eedULL;
constexpr int64_t kSyntheticTrainSize = 6000;
constexpr int64_t kSyntheticTestSize = 1000;

struct Dataset {
  torch::Tensor train_x;             // float [N, C, H, W], contiguous, on the CPU
  torch::Tensor train_y;             // int64 [N], class indices
  torch::Tensor test_x;              // float [M, C, H, W]
  torch::Tensor test_y;              // int64 [M]
  int64_t num_classes = 0;
  std::vector<int64_t> input_shape;  // {C, H, W}
};

Status LoadDataset(const DatasetSpec& spec, Dataset* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_DATASETS_H_
