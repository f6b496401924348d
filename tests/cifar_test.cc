// Tests of the CIFAR reader on files written here in the official byte
// layout (and broken in each way a copy can be), of the data sets built from
// them (training subset, validation split, mean subtraction), of the
// CIFAR-shaped synthetic data, and of the crop + flip augmentation.
#include "models/cifar.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "models/augment.h"
#include "models/datasets.h"

namespace gridsearch {
namespace {

namespace fs = std::filesystem;

// A fresh temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cifar_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Pixel byte j of image i of a file whose first image is `first`: distinct
// enough that any misplaced byte shows.
uint8_t Pixel(int64_t image, int64_t j) { return static_cast<uint8_t>((image * 31 + j * 7) % 256); }

// `count` records in the official layout, images first..first+count-1,
// CIFAR-10 label image % 10, CIFAR-100 coarse image % 20 and fine image % 100.
std::vector<uint8_t> Records(CifarVariant variant, int64_t first, int64_t count) {
  std::vector<uint8_t> b(
      static_cast<size_t>(count * (CifarLabelBytes(variant) + kCifarImageBytes)));
  uint8_t* p = b.data();
  for (int64_t i = first; i < first + count; ++i) {
    if (variant == CifarVariant::kCifar10) {
      *p++ = static_cast<uint8_t>(i % 10);
    } else {
      *p++ = static_cast<uint8_t>(i % 20);
      *p++ = static_cast<uint8_t>(i % 100);
    }
    for (int64_t j = 0; j < kCifarImageBytes; ++j) *p++ = Pixel(i, j);
  }
  return b;
}

void Write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// data_batch_1..5.bin of `per_batch` records each (images numbered on
// across the batches) and test_batch.bin of `test` records numbered from
// 100000.
void WriteCifar10(const fs::path& dir, int64_t per_batch, int64_t test) {
  fs::create_directories(dir);
  for (int b = 0; b < 5; ++b)
    Write(dir / ("data_batch_" + std::to_string(b + 1) + ".bin"),
          Records(CifarVariant::kCifar10, b * per_batch, per_batch));
  Write(dir / "test_batch.bin", Records(CifarVariant::kCifar10, 100000, test));
}

void WriteCifar100(const fs::path& dir, int64_t train, int64_t test) {
  fs::create_directories(dir);
  Write(dir / "train.bin", Records(CifarVariant::kCifar100, 0, train));
  Write(dir / "test.bin", Records(CifarVariant::kCifar100, 100000, test));
}

DatasetSpec Spec(const std::string& name, const fs::path& path, int64_t train_size = 0) {
  DatasetSpec spec;
  spec.name = name;
  spec.path = path.string();
  spec.train_size = train_size;
  return spec;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ------------------------------------------------------------ the reader

TEST(CifarReaderTest, ReadsTheOfficialCifar10Layout) {
  TempDir dir;
  WriteCifar10(dir.path(), 4, 3);
  CifarFiles files;
  ASSERT_TRUE(FindCifarFiles(dir.path().string(), CifarVariant::kCifar10, &files).ok());
  ASSERT_EQ(files.train.size(), 5u);
  EXPECT_EQ(fs::path(files.train[4]).filename(), "data_batch_5.bin");
  EXPECT_EQ(fs::path(files.test).filename(), "test_batch.bin");

  CifarImages train;
  Status s = ReadCifarFiles(files.train, CifarVariant::kCifar10, &train);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(train.count, 20);
  ASSERT_EQ(train.pixels.size(), 20u * 3072);
  for (int64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(train.labels[i], i % 10);
    // Red plane first, row-major: byte j of the image is channel j / 1024.
    for (int64_t j : {0, 1, 1023, 1024, 2048, 3071})
      ASSERT_EQ(train.pixels[i * 3072 + j], Pixel(i, j)) << "image " << i << " byte " << j;
  }
}

TEST(CifarReaderTest, Cifar100UsesTheFineLabelOfTwo) {
  TempDir dir;
  WriteCifar100(dir.path(), 150, 2);
  CifarImages train;
  CifarFiles files;
  ASSERT_TRUE(FindCifarFiles(dir.path().string(), CifarVariant::kCifar100, &files).ok());
  ASSERT_TRUE(ReadCifarFiles(files.train, CifarVariant::kCifar100, &train).ok());
  ASSERT_EQ(train.count, 150);
  EXPECT_EQ(train.labels[42], 42);
  EXPECT_EQ(train.labels[142], 42);
  EXPECT_EQ(train.pixels[142 * 3072 + 5], Pixel(142, 5));
}

TEST(CifarReaderTest, FindsTheArchiveFolderInsideThePath) {
  TempDir dir;
  WriteCifar10(dir.path() / "cifar-10-batches-bin", 1, 1);
  WriteCifar100(dir.path() / "cifar-100-binary", 1, 1);
  CifarFiles files;
  ASSERT_TRUE(FindCifarFiles(dir.path().string(), CifarVariant::kCifar10, &files).ok());
  EXPECT_EQ(fs::path(files.test).parent_path().filename(), "cifar-10-batches-bin");
  ASSERT_TRUE(FindCifarFiles(dir.path().string(), CifarVariant::kCifar100, &files).ok());
  EXPECT_EQ(fs::path(files.test).parent_path().filename(), "cifar-100-binary");
}

TEST(CifarReaderTest, MissingFolderAndFilesAreNamed) {
  TempDir dir;
  CifarFiles files;
  Status s = FindCifarFiles((dir.path() / "nope").string(), CifarVariant::kCifar10, &files);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "nope")) << s.message();

  WriteCifar10(dir.path(), 1, 1);
  fs::remove(dir.path() / "data_batch_3.bin");
  s = FindCifarFiles(dir.path().string(), CifarVariant::kCifar10, &files);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "data_batch_3.bin")) << s.message();

  WriteCifar10(dir.path(), 1, 1);
  fs::remove(dir.path() / "test_batch.bin");
  s = FindCifarFiles(dir.path().string(), CifarVariant::kCifar10, &files);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "test_batch.bin")) << s.message();

  s = FindCifarFiles(dir.path().string(), CifarVariant::kCifar100, &files);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "train.bin")) << s.message();

  CifarImages images;
  s = ReadCifarFile((dir.path() / "absent.bin").string(), CifarVariant::kCifar10, &images);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "absent.bin")) << s.message();
}

TEST(CifarReaderTest, TruncatedFileNamesTheFileAndTheRecordSize) {
  TempDir dir;
  std::vector<uint8_t> bytes = Records(CifarVariant::kCifar10, 0, 3);
  bytes.resize(bytes.size() - 100);  // cut inside the last record
  const fs::path path = dir.path() / "data_batch_1.bin";
  Write(path, bytes);
  CifarImages images;
  Status s = ReadCifarFile(path.string(), CifarVariant::kCifar10, &images);
  EXPECT_EQ(s.code(), Status::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), path.string())) << s.message();
  EXPECT_TRUE(Contains(s.message(), std::to_string(bytes.size()))) << s.message();
  EXPECT_TRUE(Contains(s.message(), "3073-byte")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "truncated")) << s.message();

  Write(path, {});
  s = ReadCifarFile(path.string(), CifarVariant::kCifar10, &images);
  EXPECT_EQ(s.code(), Status::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "0 bytes")) << s.message();
}

TEST(CifarReaderTest, BatchCutOnARecordBoundaryIsCaughtByItsSize) {
  // One batch shorter than the others by whole records: each file alone is
  // well formed, together they are not a copy of the data set.
  TempDir dir;
  WriteCifar10(dir.path(), 6, 2);
  Write(dir.path() / "data_batch_4.bin", Records(CifarVariant::kCifar10, 0, 5));
  Dataset d;
  Status s = LoadDataset(Spec("cifar10", dir.path()), &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "data_batch_4.bin")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "5 records")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "6")) << s.message();
}

TEST(CifarReaderTest, CorruptLabelsAndTheWrongVariant) {
  TempDir dir;
  std::vector<uint8_t> bytes = Records(CifarVariant::kCifar10, 0, 3);
  bytes[2 * 3073] = 10;  // label byte of record 2
  const fs::path path = dir.path() / "bad.bin";
  Write(path, bytes);
  CifarImages images;
  Status s = ReadCifarFile(path.string(), CifarVariant::kCifar10, &images);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), path.string())) << s.message();
  EXPECT_TRUE(Contains(s.message(), "record 2")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "0..9")) << s.message();

  // 3074 CIFAR-10 records are 3073 CIFAR-100 records long: the sizes fit,
  // the coarse labels (pixel bytes here) do not.
  Write(path, Records(CifarVariant::kCifar10, 0, 3074));
  s = ReadCifarFile(path.string(), CifarVariant::kCifar100, &images);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "coarse label")) << s.message();

  // A CIFAR-100 file read as CIFAR-10 has the wrong size.
  Write(path, Records(CifarVariant::kCifar100, 0, 10));
  s = ReadCifarFile(path.string(), CifarVariant::kCifar10, &images);
  EXPECT_EQ(s.code(), Status::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "30740 bytes")) << s.message();
}

// ------------------------------------------------------------- data sets

TEST(CifarDatasetTest, TrainingSubsetValidationAndMeanSubtraction) {
  TempDir dir;
  WriteCifar10(dir.path(), 8, 5);  // 40 training images
  Dataset d;
  Status s = LoadDataset(Spec("cifar10", dir.path(), 30), &d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(d.num_classes, 10);
  EXPECT_EQ(d.input_shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(d.train_x.sizes(), (std::vector<int64_t>{30, 3, 32, 32}));
  EXPECT_EQ(d.train_x.scalar_type(), torch::kUInt8);
  EXPECT_EQ(d.validation_x.sizes(), (std::vector<int64_t>{10, 3, 32, 32}));
  EXPECT_EQ(d.test_x.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  EXPECT_EQ(d.train_y[29].item<int64_t>(), 9);
  EXPECT_EQ(d.validation_y[0].item<int64_t>(), 0);  // image 30
  // Image i, channel c, row r, column q is byte c*1024 + r*32 + q.
  EXPECT_EQ(d.train_x[17][2][3][4].item<int64_t>(), Pixel(17, 2 * 1024 + 3 * 32 + 4));
  EXPECT_EQ(d.validation_x[1][0][0][1].item<int64_t>(), Pixel(31, 1));
  EXPECT_EQ(d.test_x[4][1][0][0].item<int64_t>(), Pixel(100004, 1024));

  // The mean is the per-pixel mean of the 30 training images in [0, 1]...
  torch::Tensor expected_mean = d.train_x.to(torch::kDouble).div(255).mean(0, true);
  EXPECT_EQ(d.mean.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_TRUE(torch::allclose(d.mean.to(torch::kDouble), expected_mean, 0, 1e-6));
  // ...subtracted from every split, so the training inputs average zero per
  // pixel and the others are shifted by the same, training, mean.
  torch::Tensor train = ModelInputs(d, d.train_x);
  EXPECT_EQ(train.scalar_type(), torch::kFloat);
  EXPECT_LT(train.mean(0).abs().max().item<double>(), 1e-6);
  torch::Tensor test = ModelInputs(d, d.test_x);
  EXPECT_TRUE(torch::allclose(test.to(torch::kDouble),
                              d.test_x.to(torch::kDouble).div(255) - expected_mean, 0, 1e-6));
  EXPECT_GT(test.mean(0).abs().max().item<double>(), 1e-3);

  // All of them, and more than there are.
  ASSERT_TRUE(LoadDataset(Spec("cifar10", dir.path(), 0), &d).ok());
  EXPECT_EQ(d.train_x.size(0), 40);  // fewer than 45000: all
  EXPECT_EQ(d.validation_x.size(0), 0);
  s = LoadDataset(Spec("cifar10", dir.path(), 41), &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "41")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "40")) << s.message();
}

TEST(CifarDatasetTest, DefaultTrainingSubsetIsTheFirst45000) {
  // PAL 2019 trains on the first 45000 of the 50000 images. 5 x 9001
  // records (138 MB) are the smallest copy that shows the cut.
  TempDir dir;
  WriteCifar10(dir.path(), 9001, 1);
  Dataset d;
  Status s = LoadDataset(Spec("cifar10", dir.path()), &d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(d.train_x.size(0), kCifarDefaultTrainSize);
  EXPECT_EQ(d.validation_x.size(0), 5);
  EXPECT_EQ(d.validation_y[0].item<int64_t>(), 45000 % 10);
  EXPECT_EQ(d.validation_x[0][0][0][0].item<int64_t>(), Pixel(45000, 0));
}

TEST(CifarDatasetTest, Cifar100HasAHundredClasses) {
  TempDir dir;
  WriteCifar100(dir.path(), 200, 10);
  Dataset d;
  Status s = LoadDataset(Spec("cifar100", dir.path(), 150), &d);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(d.num_classes, 100);
  EXPECT_EQ(d.train_x.size(0), 150);
  EXPECT_EQ(d.validation_x.size(0), 50);
  EXPECT_EQ(d.train_y.max().item<int64_t>(), 99);
}

TEST(CifarDatasetTest, ErrorsNameTheFolderOrFile) {
  Dataset d;
  Status s = LoadDataset(Spec("cifar10", ""), &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "dataset.path")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "data_batch_1.bin")) << s.message();

  s = LoadDataset(Spec("cifar100", "/nonexistent/cifar100"), &d);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_TRUE(Contains(s.message(), "/nonexistent/cifar100")) << s.message();

  TempDir dir;
  WriteCifar10(dir.path(), 2, 2);
  std::vector<uint8_t> test = Records(CifarVariant::kCifar10, 0, 2);
  test.pop_back();
  Write(dir.path() / "test_batch.bin", test);
  s = LoadDataset(Spec("cifar10", dir.path()), &d);
  EXPECT_EQ(s.code(), Status::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "test_batch.bin")) << s.message();
}

TEST(SyntheticShapeTest, CifarShapedSyntheticData) {
  Dataset d10, d100, again;
  Status s = LoadDataset({"synthetic", kSyntheticCifar10Shape, 0}, &d10);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(d10.train_x.sizes(), (std::vector<int64_t>{kSyntheticCifarTrainSize, 3, 32, 32}));
  EXPECT_EQ(d10.test_x.size(0), kSyntheticCifarTestSize);
  EXPECT_EQ(d10.train_x.scalar_type(), torch::kUInt8);  // like CIFAR
  EXPECT_EQ(d10.num_classes, 10);
  EXPECT_EQ(d10.input_shape, (std::vector<int64_t>{3, 32, 32}));
  EXPECT_LT(ModelInputs(d10, d10.train_x).mean(0).abs().max().item<double>(), 1e-5);
  // Not saturated: the pixels use the byte range without piling up at its ends.
  EXPECT_LT(d10.train_x.eq(255).to(torch::kFloat).mean().item<double>(), 0.01);

  ASSERT_TRUE(LoadDataset({"synthetic", kSyntheticCifar100Shape, 100}, &d100).ok());
  EXPECT_EQ(d100.num_classes, 100);
  EXPECT_EQ(d100.train_x.size(0), 100);
  EXPECT_EQ(d100.validation_x.size(0), kSyntheticCifarTrainSize - 100);
  EXPECT_GT(d100.train_y.max().item<int64_t>(), 50);

  torch::manual_seed(4);  // the data do not depend on the global generator
  ASSERT_TRUE(LoadDataset({"synthetic", kSyntheticCifar10Shape, 0}, &again).ok());
  EXPECT_TRUE(torch::equal(d10.train_x, again.train_x));

  s = LoadDataset({"synthetic", "cifar-shape", 0}, &again);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "cifar10-shape")) << s.message();
}

TEST(CanonicalDatasetSpecTest, OneKeyPerData) {
  const DatasetInfo* fashion = FindDataset("fashion-mnist");
  ASSERT_NE(fashion, nullptr);
  DatasetSpec empty{"fashion-mnist", "", 100, true};
  DatasetSpec spelled{"fashion-mnist", fashion->default_path + "/", 100, false};
  DatasetSpec dotted{"fashion-mnist", fashion->default_path + "/./", 100, false};
  EXPECT_EQ(CanonicalDatasetSpec(empty).path, fashion->default_path);
  EXPECT_EQ(CanonicalDatasetSpec(spelled).path, fashion->default_path);
  EXPECT_EQ(CanonicalDatasetSpec(dotted).path, fashion->default_path);
  EXPECT_FALSE(CanonicalDatasetSpec(empty).augment);
  EXPECT_EQ(CanonicalDatasetSpec(empty).train_size, 100);
  // The synthetic path is a shape name and stays as given.
  EXPECT_EQ(CanonicalDatasetSpec({"synthetic", kSyntheticCifar10Shape, 0}).path,
            kSyntheticCifar10Shape);
  EXPECT_EQ(CanonicalDatasetSpec({"synthetic", "", 0}).path, "");
}

// ---------------------------------------------------------- augmentation

// Reference: one image at a time, pixel by pixel.
torch::Tensor NaiveCropFlip(const torch::Tensor& images, const torch::Tensor& params, int64_t pad) {
  torch::Tensor out = torch::zeros_like(images);
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  auto in = images.accessor<float, 4>();
  auto o = out.accessor<float, 4>();
  auto p = params.accessor<int64_t, 2>();
  for (int64_t n = 0; n < b; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
          const int64_t jj = p[n][2] ? w - 1 - j : j;
          const int64_t si = p[n][0] + i - pad, sj = p[n][1] + jj - pad;
          o[n][ch][i][j] = (si >= 0 && si < h && sj >= 0 && sj < w) ? in[n][ch][si][sj] : 0.f;
        }
  return out;
}

TEST(AugmentTest, DrawsAreInRangeAndReproducible) {
  at::Generator a = at::detail::createCPUGenerator(7), b = at::detail::createCPUGenerator(7);
  torch::Tensor pa = DrawCropFlip(1000, kAugmentPadding, a);
  torch::Tensor pb = DrawCropFlip(1000, kAugmentPadding, b);
  EXPECT_EQ(pa.sizes(), (std::vector<int64_t>{1000, 3}));
  EXPECT_EQ(pa.scalar_type(), torch::kLong);
  EXPECT_TRUE(torch::equal(pa, pb));
  EXPECT_EQ(pa.slice(1, 0, 2).min().item<int64_t>(), 0);
  EXPECT_EQ(pa.slice(1, 0, 2).max().item<int64_t>(), 2 * kAugmentPadding);
  EXPECT_EQ(pa.select(1, 2).min().item<int64_t>(), 0);
  EXPECT_EQ(pa.select(1, 2).max().item<int64_t>(), 1);
  const double flipped = pa.select(1, 2).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(flipped, 0.5, 0.08);
  EXPECT_FALSE(torch::equal(pa, DrawCropFlip(1000, kAugmentPadding, a)));  // it advanced
}

TEST(AugmentTest, CropFlipMatchesAPixelByPixelReference) {
  torch::manual_seed(3);
  torch::Tensor images = torch::randn({16, 3, 32, 32});
  // Identity: centred window, no flip.
  torch::Tensor identity =
      torch::tensor({kAugmentPadding, kAugmentPadding, int64_t{0}}).view({1, 3}).repeat({16, 1});
  EXPECT_TRUE(torch::equal(CropFlip(images, identity, kAugmentPadding), images));
  // Flip only: columns reversed.
  torch::Tensor flip =
      torch::tensor({kAugmentPadding, kAugmentPadding, int64_t{1}}).view({1, 3}).repeat({16, 1});
  EXPECT_TRUE(torch::equal(CropFlip(images, flip, kAugmentPadding), images.flip({3})));
  // Random crops and flips, including the extreme offsets.
  at::Generator gen = at::detail::createCPUGenerator(9);
  torch::Tensor params = DrawCropFlip(16, kAugmentPadding, gen);
  params[0].copy_(torch::tensor({int64_t{0}, int64_t{8}, int64_t{1}}));
  params[1].copy_(torch::tensor({int64_t{8}, int64_t{0}, int64_t{0}}));
  torch::Tensor out = CropFlip(images, params, kAugmentPadding);
  EXPECT_EQ(out.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(out, NaiveCropFlip(images, params, kAugmentPadding)));
  // Shifted down by 4 (dy = 0): the top 4 rows are padding.
  EXPECT_EQ(out[0].slice(1, 0, 4).abs().sum().item<double>(), 0);
  // Odd sizes and one channel work too.
  torch::Tensor grey = torch::randn({16, 1, 28, 27});
  EXPECT_TRUE(torch::equal(CropFlip(grey, params, kAugmentPadding),
                           NaiveCropFlip(grey, params, kAugmentPadding)));
}

TEST(AugmentTest, BadParamsThrow) {
  torch::Tensor images = torch::randn({4, 3, 8, 8});
  EXPECT_THROW(CropFlip(images, torch::zeros({3, 3}, torch::kLong), 4), c10::Error);
  EXPECT_THROW(CropFlip(images.view({4, 192}), torch::zeros({4, 3}, torch::kLong), 4), c10::Error);
}

}  // namespace
}  // namespace gridsearch
