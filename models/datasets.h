// Data sets a job can train on, loaded once into memory as they are stored
// (bytes for real images), plus what turns a batch of them into model inputs.
//
// Names come from common/catalog.h Datasets(); DatasetSpec::path is the
// folder of the files, or the catalog's default folder when empty:
//   cifar10         the binary version: data_batch_1.bin .. data_batch_5.bin
//                   and test_batch.bin (models/cifar.h), in `path` or in its
//                   cifar-10-batches-bin subfolder; 3x32x32, 10 classes.
//   cifar100        train.bin and test.bin (fine labels), in `path` or its
//                   cifar-100-binary subfolder; 3x32x32, 100 classes.
//   fashion-mnist,  IDX files (gzip or raw, models/idx.h); 1x28x28, 10
//   mnist           classes.
//   synthetic       Gaussian class clusters made from a fixed seed (the same
//                   data for every job and every process); needs no files.
//                   Its `path` selects the shape, a convention that needs no
//                   new spec field:
//                     ""                1x28x28, 10 classes, 6000 training /
//                                       1000 test examples, float values;
//                     "cifar10-shape"   3x32x32, 10 classes, 512 / 64,
//                     "cifar100-shape"  3x32x32, 100 classes, 512 / 64,
//                                       stored as uint8 pixels like CIFAR,
//                                       so they take the same path through
//                                       the trainer, small enough for CI.
//
// Training subset: the first train_size training examples (0: all, except
// for CIFAR where 0 means the first 45000, as in PAL 2019, or all when
// there are fewer). The remaining training examples form the validation
// split.
//
// Preprocessing, as in the papers: pixels are scaled to [0, 1] and the
// per-pixel mean of the training subset is subtracted from every split, so
// no validation or test statistics leak into training. It is applied per
// batch by ModelInputs, so the stored images stay bytes (CIFAR-10's 45000
// training images are 138 MB, not 553 MB of floats) and a trainer can keep
// the whole set on its device.
//
// LoadDataset returns OK and fills *out, or a non-OK Status that names the
// cause (unknown name, missing folder or file, a file of the wrong size or
// with a corrupt header or label, naming the file and what was expected,
// train_size larger than the data set); it never throws.
#ifndef GRIDSEARCH_MODELS_DATASETS_H_
#define GRIDSEARCH_MODELS_DATASETS_H_

#include <c10/core/Device.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

// Sizes and seed of the synthetic data sets. The seed is fixed (not the
// job's) so that every job of a sweep sees the same data.
constexpr uint64_t kSyntheticSeed = 0x5eed5eedULL;
constexpr int64_t kSyntheticTrainSize = 6000;
constexpr int64_t kSyntheticTestSize = 1000;
constexpr int64_t kSyntheticCifarTrainSize = 512;
constexpr int64_t kSyntheticCifarTestSize = 64;
// The synthetic `path` values that select the CIFAR shapes.
constexpr char kSyntheticCifar10Shape[] = "cifar10-shape";
constexpr char kSyntheticCifar100Shape[] = "cifar100-shape";

// CIFAR's training subset when train_size is 0 (PAL 2019, section 4).
constexpr int64_t kCifarDefaultTrainSize = 45000;

struct Dataset {
  // Images as stored, [N, C, H, W], contiguous: uint8 pixels for data read
  // from files and CIFAR-shaped synthetic data, float for the 28x28
  // synthetic data. Turn them into model inputs with ModelInputs.
  torch::Tensor train_x;
  torch::Tensor train_y;       // int64 [N], class indices
  torch::Tensor validation_x;  // the training examples after train_size; may have 0 rows
  torch::Tensor validation_y;
  torch::Tensor test_x;  // [M, C, H, W], stored like train_x
  torch::Tensor test_y;  // int64 [M]
  torch::Tensor mean;    // float [1, C, H, W]: per-pixel mean of the scaled training subset
  double scale = 1;      // stored value * scale is the pixel in [0, 1] (1/255 for bytes)
  int64_t num_classes = 0;
  std::vector<int64_t> input_shape;  // {C, H, W}
};

Status LoadDataset(const DatasetSpec& spec, Dataset* out);

// Model inputs from stored images (any rows of train_x, validation_x or
// test_x, on the same device as data.mean): float images * scale - mean, a
// new tensor. Throws c10::Error on a device or shape mismatch.
torch::Tensor ModelInputs(const Dataset& data, const torch::Tensor& images);

// Returns `data` with every tensor moved to `device` (one copy each; a no-op
// for tensors already there). Throws c10::Error when the device is unusable.
Dataset MoveDataset(const Dataset& data, const c10::Device& device);

// The spec with everything that does not change the loaded data normalised
// away, for caching loaded data sets: an empty path becomes the catalog's
// default folder, a folder path loses "." and ".." steps and trailing
// slashes, and augment is cleared (it acts per batch, not on the data).
DatasetSpec CanonicalDatasetSpec(const DatasetSpec& spec);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_DATASETS_H_
