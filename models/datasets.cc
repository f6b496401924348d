#include "models/datasets.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>

#include "common/catalog.h"
#include "models/cifar.h"
#include "models/idx.h"

namespace gridsearch {
namespace {

constexpr int64_t kSyntheticClasses = 10;
constexpr int64_t kSyntheticSide = 28;
// Per-pixel scale of the class centres against unit Gaussian noise. With 784
// pixels two centres lie about 0.1 * sqrt(2 * 784) ~ 4 noise deviations
// apart, so the classes overlap enough that a linear model has to work for a
// good accuracy, yet are far from random. The CIFAR shape (3072 pixels) uses
// the same separation.
constexpr double kSyntheticCenterScale = 0.1;
constexpr double kSyntheticCifarCenterScale = 0.05;
// CIFAR-shaped synthetic pixels: 128 + 40 * value, clamped to bytes, keeps
// nearly all of the Gaussian inside 0..255.
constexpr double kSyntheticPixelMid = 128;
constexpr double kSyntheticPixelSpread = 40;
// Rows per chunk when summing the training mean: bounds the temporary
// double copy to a few hundred MB however large the set.
constexpr int64_t kMeanChunkRows = 4096;
constexpr double kByteScale = 1.0 / 255.0;

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

// Splits all training examples into the first n (training) and the rest
// (validation). Slicing the leading dimension keeps both contiguous views of
// the one buffer, so nothing is copied.
void SplitTraining(const torch::Tensor& x, const torch::Tensor& y, int64_t n, Dataset* d) {
  d->train_x = x.slice(0, 0, n);
  d->train_y = y.slice(0, 0, n);
  d->validation_x = x.slice(0, n);
  d->validation_y = y.slice(0, n);
}

// Per-pixel mean of the scaled training subset (x on the CPU, contiguous).
// Bytes are summed exactly in integers by a plain loop: one pass, no float
// copy of the whole set (LibTorch's reductions over the first dimension of
// 138M bytes take seconds on a small CPU). Floats are summed in double, in
// chunks.
torch::Tensor TrainingMean(const torch::Tensor& x, double scale) {
  const int64_t n = x.size(0);
  std::vector<int64_t> shape = x.sizes().vec();
  shape[0] = 1;
  const double factor = scale / static_cast<double>(std::max<int64_t>(n, 1));
  if (x.scalar_type() == torch::kUInt8) {
    const int64_t per_image = n > 0 ? x.numel() / n : 0;
    std::vector<uint64_t> sums(static_cast<size_t>(per_image), 0);
    const torch::Tensor bytes = x.contiguous();
    const uint8_t* p = bytes.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i, p += per_image)
      for (int64_t j = 0; j < per_image; ++j) sums[j] += p[j];
    torch::Tensor mean = torch::empty(shape, torch::kFloat);
    float* m = mean.data_ptr<float>();
    for (int64_t j = 0; j < per_image; ++j) m[j] = static_cast<float>(sums[j] * factor);
    return mean;
  }
  torch::Tensor sum = torch::zeros(shape, torch::kDouble);
  for (int64_t begin = 0; begin < n; begin += kMeanChunkRows)
    sum += x.slice(0, begin, std::min(n, begin + kMeanChunkRows)).to(torch::kDouble).sum(0, true);
  return (sum * factor).to(torch::kFloat);
}

// Bytes -> uint8 tensor [count, C, H, W]. The tensor adopts the vector's
// buffer instead of copying it (a CIFAR training set is 150 MB).
torch::Tensor BytesToTensor(std::vector<uint8_t>&& bytes, int64_t count, int64_t c, int64_t h,
                            int64_t w) {
  auto owned = std::make_unique<std::vector<uint8_t>>(std::move(bytes));
  std::vector<uint8_t>* raw = owned.get();
  torch::Tensor t = torch::from_blob(
      raw->data(), {count, c, h, w}, [raw](void*) { delete raw; }, torch::kUInt8);
  owned.release();  // the tensor's deleter owns it now
  return t;
}

torch::Tensor LabelsToInt64(std::vector<uint8_t>& labels) {
  return torch::from_blob(labels.data(), {static_cast<int64_t>(labels.size())}, torch::kUInt8)
      .to(torch::kLong);
}

std::string FolderOf(const DatasetSpec& spec, const DatasetInfo& info) {
  return spec.path.empty() ? info.default_path : spec.path;
}

Status LoadIdx(const DatasetSpec& spec, const DatasetInfo& info, Dataset* out) {
  const std::string folder = FolderOf(spec, info);
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
    return Status::InvalidArgument("data set '" + spec.name + "' in " + folder +
                                   ": training images are " + std::to_string(train.images.rows) +
                                   "x" + std::to_string(train.images.cols) +
                                   " but test images are " + std::to_string(test.images.rows) +
                                   "x" + std::to_string(test.images.cols));
  GS_RETURN_IF_ERROR(CheckTrainSize(spec.name, spec.train_size, train.images.count));
  const int64_t n = spec.train_size == 0 ? train.images.count : spec.train_size;

  const int64_t rows = train.images.rows, cols = train.images.cols;
  SplitTraining(BytesToTensor(std::move(train.images.pixels), train.images.count, 1, rows, cols),
                LabelsToInt64(train.labels), n, out);
  out->test_x = BytesToTensor(std::move(test.images.pixels), test.images.count, 1, rows, cols);
  out->test_y = LabelsToInt64(test.labels);
  out->scale = kByteScale;
  out->num_classes = kIdxNumClasses;
  out->input_shape = {1, rows, cols};
  return Status::OK();
}

Status LoadCifar(const DatasetSpec& spec, const DatasetInfo& info, CifarVariant variant,
                 Dataset* out) {
  const std::string folder = FolderOf(spec, info);
  if (folder.empty())
    return Status::InvalidArgument(
        "data set '" + spec.name + "' has no default location: set dataset.path to the folder " +
        (variant == CifarVariant::kCifar10
             ? "holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin"
             : "holding train.bin and test.bin") +
        " (the binary version of the data set)");
  CifarFiles files;
  GS_RETURN_IF_ERROR(FindCifarFiles(folder, variant, &files));
  CifarImages train, test;
  GS_RETURN_IF_ERROR(ReadCifarFiles(files.train, variant, &train));
  GS_RETURN_IF_ERROR(ReadCifarFiles({files.test}, variant, &test));
  GS_RETURN_IF_ERROR(CheckTrainSize(spec.name, spec.train_size, train.count));
  const int64_t n =
      spec.train_size == 0 ? std::min(kCifarDefaultTrainSize, train.count) : spec.train_size;

  SplitTraining(
      BytesToTensor(std::move(train.pixels), train.count, kCifarChannels, kCifarSide, kCifarSide),
      LabelsToInt64(train.labels), n, out);
  out->test_x =
      BytesToTensor(std::move(test.pixels), test.count, kCifarChannels, kCifarSide, kCifarSide);
  out->test_y = LabelsToInt64(test.labels);
  out->scale = kByteScale;
  out->num_classes = CifarClasses(variant);
  out->input_shape = {kCifarChannels, kCifarSide, kCifarSide};
  return Status::OK();
}

Status LoadSynthetic(const DatasetSpec& spec, Dataset* out) {
  const bool cifar10 = spec.path == kSyntheticCifar10Shape;
  const bool cifar100 = spec.path == kSyntheticCifar100Shape;
  if (!spec.path.empty() && !cifar10 && !cifar100)
    return Status::InvalidArgument(
        "data set 'synthetic': dataset.path selects its shape and must be empty (1x28x28, 10 "
        "classes), \"" +
        std::string(kSyntheticCifar10Shape) + "\" (3x32x32, 10 classes) or \"" +
        kSyntheticCifar100Shape + "\" (3x32x32, 100 classes); got \"" + spec.path + "\"");
  const bool cifar = cifar10 || cifar100;
  const int64_t classes = cifar100 ? 100 : kSyntheticClasses;
  const int64_t train_size = cifar ? kSyntheticCifarTrainSize : kSyntheticTrainSize;
  const int64_t test_size = cifar ? kSyntheticCifarTestSize : kSyntheticTestSize;
  const std::vector<int64_t> image =
      cifar ? std::vector<int64_t>{kCifarChannels, kCifarSide, kCifarSide}
            : std::vector<int64_t>{1, kSyntheticSide, kSyntheticSide};
  GS_RETURN_IF_ERROR(CheckTrainSize(spec.name, spec.train_size, train_size));
  const int64_t n = spec.train_size == 0 ? train_size : spec.train_size;

  // A private generator: the data are the same whatever the global RNG's
  // state, and making them does not disturb the job's seeding.
  at::Generator gen = at::detail::createCPUGenerator(kSyntheticSeed);
  std::vector<int64_t> centers_shape = image;
  centers_shape.insert(centers_shape.begin(), classes);
  torch::Tensor centers = torch::randn(centers_shape, gen) *
                          (cifar ? kSyntheticCifarCenterScale : kSyntheticCenterScale);
  // Always draw the full set, then cut: the first n examples must not depend
  // on n.
  auto draw = [&](int64_t count, torch::Tensor* x, torch::Tensor* y) {
    *y = torch::randint(classes, {count}, gen, torch::kLong);
    std::vector<int64_t> shape = image;
    shape.insert(shape.begin(), count);
    torch::Tensor values = centers.index_select(0, *y) + torch::randn(shape, gen);
    *x = cifar ? (values * kSyntheticPixelSpread + kSyntheticPixelMid)
                     .round()
                     .clamp(0, 255)
                     .to(torch::kUInt8)
               : values.contiguous();
  };
  torch::Tensor train_x, train_y;
  draw(train_size, &train_x, &train_y);
  draw(test_size, &out->test_x, &out->test_y);
  SplitTraining(train_x, train_y, n, out);
  out->scale = cifar ? kByteScale : 1.0;
  out->num_classes = classes;
  out->input_shape = image;
  return Status::OK();
}

}  // namespace

Status LoadDataset(const DatasetSpec& spec, Dataset* out) {
  const DatasetInfo* info = FindDataset(spec.name);
  if (info == nullptr)
    return Status::InvalidArgument("unknown data set '" + spec.name +
                                   "' (known: " + DatasetNameList() + ")");
  try {
    Dataset d;
    if (spec.name == "fashion-mnist" || spec.name == "mnist") {
      GS_RETURN_IF_ERROR(LoadIdx(spec, *info, &d));
    } else if (spec.name == "cifar10") {
      GS_RETURN_IF_ERROR(LoadCifar(spec, *info, CifarVariant::kCifar10, &d));
    } else if (spec.name == "cifar100") {
      GS_RETURN_IF_ERROR(LoadCifar(spec, *info, CifarVariant::kCifar100, &d));
    } else if (spec.name == "synthetic") {
      GS_RETURN_IF_ERROR(LoadSynthetic(spec, &d));
    } else {
      return Status::Internal("data set '" + spec.name + "' is in the catalog but has no loader");
    }
    d.mean = TrainingMean(d.train_x, d.scale);
    *out = std::move(d);
    return Status::OK();
  } catch (const c10::Error& e) {
    return Status::Internal("loading data set '" + spec.name + "': " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("loading data set '" + spec.name + "': out of memory");
  } catch (const std::exception& e) {
    return Status::Internal("loading data set '" + spec.name + "': " + e.what());
  }
}

torch::Tensor ModelInputs(const Dataset& data, const torch::Tensor& images) {
  // Two kernels for bytes: bytes * double promotes to float in the multiply
  // itself, so no separate conversion pass (on a GPU every launch counts).
  if (data.scale == 1 && images.scalar_type() == torch::kFloat) return images - data.mean;
  torch::Tensor x = images * data.scale;
  if (x.scalar_type() != torch::kFloat) x = x.to(torch::kFloat);
  return x.sub_(data.mean);
}

Dataset MoveDataset(const Dataset& data, const c10::Device& device) {
  Dataset d = data;
  for (torch::Tensor* t :
       {&d.train_x, &d.train_y, &d.validation_x, &d.validation_y, &d.test_x, &d.test_y, &d.mean}) {
    if (t->defined()) *t = t->to(device);
  }
  return d;
}

DatasetSpec CanonicalDatasetSpec(const DatasetSpec& spec) {
  DatasetSpec c = spec;
  c.augment = false;
  const DatasetInfo* info = FindDataset(spec.name);
  if (info == nullptr || !info->needs_files) return c;  // synthetic: path is a shape name
  if (c.path.empty()) c.path = info->default_path;
  if (c.path.empty()) return c;
  c.path = std::filesystem::path(c.path).lexically_normal().string();
  while (c.path.size() > 1 && c.path.back() == '/') c.path.pop_back();
  return c;
}

}  // namespace gridsearch
