#include "models/datasets.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <exception>
#include <string>

#include "common/catalog.h"
#include "models/idx.h"

namespace gridsearch {
namespace {

constexpr int64_t kSyntheticClasses = 10;
constexpr int64_t kSyntheticSide = 28;
// Per-pixel scale of the class centres against unit Gaussian noise. With 784
// pixels two centres lie about 0.1 * sqrt(2 * 784) ~ 4 noise deviations
// apart, so the classes overlap enough that a linear model has to work for a
// good accuracy, yet are far from random.
constexpr double kSyntheticCenterScale = 0.1;

// The first `n` rows of `t`, as a view.
torch::Tensor FirstRows(const torch::Tensor& t, int64_t n) { return t.slice(0, 0, n); }

Status CheckTrainSize(const std::string& name, int64_t requested, int64_t available) {
  if (requested < 0)
    return Status::InvalidArgument("dataset.train_size must be >= 0 (0 = all), got " +
                                   std::to_string(requested));
  if (requested > available)
    return Status::InvalidArgument("dataset.train_size " + std::to_string(requested) +
                                   " is larger than the " + std::to_string(available) +
                                   " training examples of '" + name + "'");
  return Status::OK();
}

// Subtracts the training subset's per-pixel mean from both splits.
void CenterOnTrainingMean(Dataset* d) {
  torch::Tensor mean = d->train_x.mean(0, /*keepdim=*/true);
  d->train_x.sub_(mean);
  d->test_x.sub_(mean);
}

// uint8 pixels [count, rows, cols] -> float [n, 1, rows, cols] in [0, 1].
torch::Tensor PixelsToFloat(IdxImages& images, int64_t n) {
  torch::Tensor bytes = torch::from_blob(images.pixels.data(),
                                         {images.count, 1, images.rows, images.cols},
                                         torch::kUInt8);
  // .to() copies, so the tensor no longer points into `images`.
  return FirstRows(bytes, n).to(torch::kFloat).div_(255.0).contiguous();
}

torch::Tensor LabelsToInt64(std::vector<uint8_t>& labels, int64_t n) {
  torch::Tensor bytes = torch::from_blob(labels.data(), {static_cast<int64_t>(labels.size())},
                                         torch::kUInt8);
  return FirstRows(bytes, n).to(torch::kLong).contiguous();
}

Status LoadIdx(const DatasetSpec& spec, const DatasetInfo& info, Dataset* out) {
  std::string folder = spec.path.empty() ? info.default_path : spec.path;
  if (folder.empty())
    return Status::InvalidArgument("data set '" + spec.name +
                                   "' has no default location: set dataset.path to the folder "
                                   "holding train-images-idx3-ubyte[.gz], "
                                   "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] "
                                   "and t10k-labels-idx1-ubyte[.gz]");
  IdxFiles files;
  GS_RETURN_IF_ERROR(FindIdxFiles(folder, &files));
  IdxSplit train, test;
  GS_RETURN_IF_ERROR(ReadIdxSplit(files.train_images, files.train_labels, &train));
  GS_RETURN_IF_ERROR(ReadIdxSplit(files.test_images, files.test_labels, &test));
  if (train.images.rows != test.images.rows || train.images.cols != test.images.cols)
    return Status::InvalidArgument(
        "data set '" + spec.name + "' in " + folder + ": training images are " +
        std::to_string(train.images.rows) + "x" + std::to_string(train.images.cols) +
        " but test images are " + std::to_string(test.images.rows) + "x" +
        std::to_string(test.images.cols));
  GS_RETURN_IF_ERROR(CheckTrainSize(spec.name, spec.train_size, train.images.count));
  const int64_t n = spec.train_size == 0 ? train.images.count : spec.train_size;

  out->train_x = PixelsToFloat(train.images, n);
  out->train_y = LabelsToInt64(train.labels, n);
  out->test_x = PixelsToFloat(test.images, test.images.count);
  out->test_y = LabelsToInt64(test.labels, test.images.count);
  out->num_classes = kIdxNumClasses;
  out->input_shape = {1, train.images.rows, train.images.cols};
  return Status::OK();
}

Status LoadSynthetic(const DatasetSpec& spec, Dataset* out) {
  GS_RETURN_IF_ERROR(CheckTrainSize(spec.name, spec.train_size, kSyntheticTrainSize));
  const int64_t n = spec.train_size == 0 ? kSyntheticTrainSize : spec.train_size;
  // A private generator: the data are the same whatever the global RNG's
  // state, and making them does not disturb the job's seeding.
  at::Generator gen = at::detail::createCPUGenerator(kSyntheticSeed);
  const std::vector<int64_t> image = {1, kSyntheticSide, kSyntheticSide};
  torch::Tensor centers =
      torch::randn({kSyntheticClasses, 1, kSyntheticSide, kSyntheticSide}, gen) *
      kSyntheticCenterScale;
  // Always draw the full set, then cut: the first n examples must not depend
  // on n.
  auto draw = [&](int64_t count, torch::Tensor* x, torch::Tensor* y) {
    *y = torch::randint(kSyntheticClasses, {count}, gen, torch::kLong);
    *x = (centers.index_select(0, *y) +
          torch::randn({count, 1, kSyntheticSide, kSyntheticSide}, gen))
             .contiguous();
  };
  torch::Tensor train_x, train_y;
  draw(kSyntheticTrainSize, &train_x, &train_y);
  draw(kSyntheticTestSize, &out->test_x, &out->test_y);
  out->train_x = FirstRows(train_x, n).contiguous();
  out->train_y = FirstRows(train_y, n).contiguous();
  out->num_classes = kSyntheticClasses;
  out->input_shape = image;
  return Status::OK();
}

}  // namespace

Status LoadDataset(const DatasetSpec& spec, Dataset* out) {
  const DatasetInfo* info = FindDataset(spec.name);
  if (info == nullptr)
    return Status::InvalidArgument("unknown data set '" + spec.name + "' (known: " +
                                   DatasetNameList() + ")");
  try {
    Dataset d;
    if (spec.name == "fashion-mnist" || spec.name == "mnist") {
      GS_RETURN_IF_ERROR(LoadIdx(spec, *info, &d));
    } else if (spec.name == "synthetic") {
      GS_RETURN_IF_ERROR(LoadSynthetic(spec, &d));
    } else {
      return Status::Internal("data set '" + spec.name +
                              "' is in the catalog but has no loader");
    }
    CenterOnTrainingMean(&d);
    *out = std::move(d);
    return Status::OK();
  } catch (const c10::Error& e) {
    return Status::Internal("loading data set '" + spec.name +
                            "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal("loading data set '" + spec.name + "': " + e.what());
  }
}

}  // namespace gridsearch
