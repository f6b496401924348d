// Tests of the IDX reader: the real Fashion-MNIST files, raw and gzip copies,
// and each way a file can be broken.
#include "models/idx.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace gridsearch {
namespace {

namespace fs = std::filesystem;

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

void PutBigEndian32(std::vector<uint8_t>* out, uint32_t v) {
  out->push_back(static_cast<uint8_t>(v >> 24));
  out->push_back(static_cast<uint8_t>(v >> 16));
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

// An images file of `count` images of rows x cols; pixel i holds i % 251.
std::vector<uint8_t> ImagesFile(uint32_t count, uint32_t rows, uint32_t cols,
                                uint32_t magic = kIdxImagesMagic) {
  std::vector<uint8_t> b;
  PutBigEndian32(&b, magic);
  PutBigEndian32(&b, count);
  PutBigEndian32(&b, rows);
  PutBigEndian32(&b, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i) b.push_back(static_cast<uint8_t>(i % 251));
  return b;
}

std::vector<uint8_t> LabelsFile(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> b;
  PutBigEndian32(&b, kIdxLabelsMagic);
  PutBigEndian32(&b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void WriteRaw(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

void WriteGzip(const fs::path& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

std::vector<uint8_t> ReadWholeFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> Gunzip(const fs::path& path) {
  std::vector<uint8_t> out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  uint8_t buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(f);
  return out;
}

bool HaveFashionMnist() {
  return fs::exists(fs::path(kFashionMnist) / "train-images-idx3-ubyte.gz");
}

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "idx_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(IdxTest, ReadsRealFashionMnist) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  IdxFiles files;
  ASSERT_TRUE(FindIdxFiles(kFashionMnist, &files).ok());
  EXPECT_EQ(files.train_images, std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz");
  EXPECT_EQ(files.test_labels, std::string(kFashionMnist) + "/t10k-labels-idx1-ubyte.gz");

  IdxSplit train;
  Status s = ReadIdxSplit(files.train_images, files.train_labels, &train);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(train.images.count, 60000);
  EXPECT_EQ(train.images.rows, 28);
  EXPECT_EQ(train.images.cols, 28);
  EXPECT_EQ(train.images.pixels.size(), 60000u * 28 * 28);
  ASSERT_EQ(train.labels.size(), 60000u);
  EXPECT_EQ(train.labels[0], 9);  // the first training image is an ankle boot
  std::vector<int> per_class(kIdxNumClasses, 0);
  for (uint8_t l : train.labels) {
    ASSERT_LT(l, kIdxNumClasses);
    ++per_class[l];
  }
  for (int c = 0; c < kIdxNumClasses; ++c) EXPECT_EQ(per_class[c], 6000) << "class " << c;
  EXPECT_GT(*std::max_element(train.images.pixels.begin(), train.images.pixels.end()), 200);

  IdxSplit test;
  s = ReadIdxSplit(files.test_images, files.test_labels, &test);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(test.images.count, 10000);
  EXPECT_EQ(test.images.rows, 28);
  EXPECT_EQ(test.images.cols, 28);
  EXPECT_EQ(test.labels.size(), 10000u);
  for (uint8_t l : test.labels) ASSERT_LT(l, kIdxNumClasses);
}

TEST_F(IdxTest, RawUncompressedFilesReadTheSameAsGzip) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  const fs::path src(kFashionMnist);
  WriteRaw(dir_ / "t10k-images-idx3-ubyte", Gunzip(src / "t10k-images-idx3-ubyte.gz"));
  WriteRaw(dir_ / "t10k-labels-idx1-ubyte", Gunzip(src / "t10k-labels-idx1-ubyte.gz"));
  WriteRaw(dir_ / "train-images-idx3-ubyte", ImagesFile(3, 28, 28));
  WriteRaw(dir_ / "train-labels-idx1-ubyte", LabelsFile({0, 1, 2}));

  IdxFiles files;
  ASSERT_TRUE(FindIdxFiles(dir_.string(), &files).ok());
  EXPECT_EQ(files.test_images, (dir_ / "t10k-images-idx3-ubyte").string());
  EXPECT_EQ(files.train_labels, (dir_ / "train-labels-idx1-ubyte").string());

  IdxSplit raw, gz;
  Status s = ReadIdxSplit(files.test_images, files.test_labels, &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = ReadIdxSplit((src / "t10k-images-idx3-ubyte.gz").string(),
                   (src / "t10k-labels-idx1-ubyte.gz").string(), &gz);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(raw.images.count, 10000);
  EXPECT_TRUE(raw.images.pixels == gz.images.pixels);
  EXPECT_TRUE(raw.labels == gz.labels);

  IdxSplit small;
  s = ReadIdxSplit(files.train_images, files.train_labels, &small);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(small.images.count, 3);
  EXPECT_EQ(small.labels, (std::vector<uint8_t>{0, 1, 2}));
}

TEST_F(IdxTest, PrefersGzipWhenBothExist) {
  for (const char* base : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"}) {
    WriteRaw(dir_ / base, ImagesFile(2, 4, 4));
    WriteGzip(dir_ / (std::string(base) + ".gz"), ImagesFile(2, 4, 4));
  }
  for (const char* base : {"train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"})
    WriteRaw(dir_ / base, LabelsFile({1, 2}));
  IdxFiles files;
  ASSERT_TRUE(FindIdxFiles(dir_.string(), &files).ok());
  EXPECT_EQ(files.train_images, (dir_ / "train-images-idx3-ubyte.gz").string());
  EXPECT_EQ(files.test_labels, (dir_ / "t10k-labels-idx1-ubyte").string());
  IdxImages images;
  Status s = ReadIdxImages(files.train_images, &images);
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::vector<uint8_t> file = ImagesFile(2, 4, 4);
  EXPECT_EQ(images.pixels, std::vector<uint8_t>(file.begin() + 16, file.end()));
}

TEST_F(IdxTest, MissingFilesAreNotFound) {
  IdxFiles files;
  Status s = FindIdxFiles(dir_.string(), &files);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_NE(s.message().find("train-images-idx3-ubyte"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(dir_.string()), std::string::npos) << s.message();

  s = FindIdxFiles((dir_ / "nope").string(), &files);
  EXPECT_EQ(s.code(), Status::kNotFound);

  IdxImages images;
  s = ReadIdxImages((dir_ / "absent").string(), &images);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_NE(s.message().find("absent"), std::string::npos) << s.message();
}

TEST_F(IdxTest, TruncatedRawFileNamesFileAndByteCounts) {
  std::vector<uint8_t> bytes = ImagesFile(5, 4, 4);  // 16 + 80 bytes
  bytes.resize(16 + 40);
  const fs::path path = dir_ / "train-images-idx3-ubyte";
  WriteRaw(path, bytes);
  IdxImages images;
  Status s = ReadIdxImages(path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expected 96"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("got 56"), std::string::npos) << s.message();
}

TEST_F(IdxTest, TruncatedGzipCopyOfRealFileIsAnError) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  std::vector<uint8_t> gz = ReadWholeFile(fs::path(kFashionMnist) / "t10k-images-idx3-ubyte.gz");
  ASSERT_GT(gz.size(), 1000u);
  gz.resize(gz.size() / 2);  // cut the compressed stream mid-way
  const fs::path path = dir_ / "t10k-images-idx3-ubyte.gz";
  WriteRaw(path, gz);
  IdxImages images;
  Status s = ReadIdxImages(path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expected 7840016"), std::string::npos) << s.message();
}

TEST_F(IdxTest, ShortPayloadInValidGzipIsTruncated) {
  std::vector<uint8_t> bytes = ImagesFile(10, 28, 28);
  bytes.resize(bytes.size() - 100);
  const fs::path path = dir_ / "images.gz";
  WriteGzip(path, bytes);
  IdxImages images;
  Status s = ReadIdxImages(path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expected 7856"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("got 7756"), std::string::npos) << s.message();
}

TEST_F(IdxTest, TruncatedHeader) {
  const fs::path path = dir_ / "labels";
  WriteRaw(path, {0, 0, 8});
  std::vector<uint8_t> labels;
  Status s = ReadIdxLabels(path.string(), &labels);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("truncated header"), std::string::npos) << s.message();
}

TEST_F(IdxTest, TrailingBytesAreAnError) {
  std::vector<uint8_t> bytes = ImagesFile(2, 4, 4);
  bytes.push_back(7);
  const fs::path path = dir_ / "images";
  WriteRaw(path, bytes);
  IdxImages images;
  Status s = ReadIdxImages(path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("trailing"), std::string::npos) << s.message();
}

TEST_F(IdxTest, BadMagic) {
  const fs::path labels_path = dir_ / "labels";
  WriteRaw(labels_path, LabelsFile({1, 2, 3}));
  IdxImages images;
  Status s = ReadIdxImages(labels_path.string(), &images);  // a labels file is not images
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad magic"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("0x00000801"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(labels_path.string()), std::string::npos) << s.message();

  const fs::path images_path = dir_ / "images";
  WriteRaw(images_path, ImagesFile(1, 2, 2, /*magic=*/0x00000802));
  s = ReadIdxImages(images_path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("bad magic"), std::string::npos) << s.message();

  std::vector<uint8_t> labels;
  WriteRaw(images_path, ImagesFile(1, 2, 2));
  s = ReadIdxLabels(images_path.string(), &labels);
  EXPECT_FALSE(s.ok());
}

TEST_F(IdxTest, BadDimensions) {
  const fs::path path = dir_ / "images";
  WriteRaw(path, ImagesFile(3, 0, 28));
  IdxImages images;
  Status s = ReadIdxImages(path.string(), &images);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("image size"), std::string::npos) << s.message();

  // A header promising ~2^32 x 2^16 x 2^16 pixels must not be allocated.
  std::vector<uint8_t> huge;
  PutBigEndian32(&huge, kIdxImagesMagic);
  PutBigEndian32(&huge, 0xffffffffu);
  PutBigEndian32(&huge, 60000);
  PutBigEndian32(&huge, 60000);
  WriteRaw(path, huge);
  s = ReadIdxImages(path.string(), &images);
  EXPECT_FALSE(s.ok());
}

TEST_F(IdxTest, LabelOutOfRange) {
  const fs::path path = dir_ / "labels";
  WriteRaw(path, LabelsFile({0, 9, 10, 3}));
  std::vector<uint8_t> labels;
  Status s = ReadIdxLabels(path.string(), &labels);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("label 10 at index 2"), std::string::npos) << s.message();
}

TEST_F(IdxTest, CountMismatchNamesBothFiles) {
  const fs::path images = dir_ / "imgs";
  const fs::path labels = dir_ / "lbls";
  WriteRaw(images, ImagesFile(5, 3, 3));
  WriteRaw(labels, LabelsFile({1, 2, 3, 4}));
  IdxSplit split;
  Status s = ReadIdxSplit(images.string(), labels.string(), &split);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(images.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(labels.string()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("5 images"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("4 labels"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gridsearch
