// One short job per paper network through the Trainer, on the CIFAR-shaped
// synthetic data set, plus what the trainer does with the data (cache,
// augmentation, dropout, CIFAR files, errors that leave the trainer usable).
// Budgets are a fraction of a second and training sets a few dozen images:
// the paper networks are heavy for the small shared CPUs running these, and
// the point is that every piece runs end to end, not that it learns.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "models/datasets.h"
#include "tests/test_device.h"
#include "worker/trainer.h"

namespace gridsearch {
namespace {

namespace fs = std::filesystem;

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

JobSpec CifarShapedJob(const std::string& model, double budget_seconds, int64_t seed = 1,
                       std::map<std::string, double> sgd_params = {}) {
  JobSpec job;
  job.job_id = 1;
  job.optimizer = "sgd";
  if (sgd_params.empty()) sgd_params = {{"lr", 0.01}, {"momentum", 0.9}};
  EXPECT_TRUE(ResolveParams("sgd", sgd_params, &job.params).ok());
  job.seed = seed;
  job.model = model;
  job.dataset.name = "synthetic";
  job.dataset.path = kSyntheticCifar10Shape;
  job.dataset.train_size = 16;  // keeps the final evaluation short
  job.batch_size = 4;
  job.budget_seconds = budget_seconds;
  return job;
}

struct Recorder {
  std::vector<CurvePoint> points;
  CurveSink Sink() {
    return [this](const std::vector<CurvePoint>& batch) {
      points.insert(points.end(), batch.begin(), batch.end());
      return Status::OK();
    };
  }
  std::vector<double> Losses() const {
    std::vector<double> v;
    for (const auto& p : points) v.push_back(p.loss);
    return v;
  }
};

// Trainers run on the test device (tests/test_device.h).
TrainerOptions Options() {
  TrainerOptions options;
  options.device = TestDeviceName();
  options.flush_interval_seconds = 0.05;
  return options;
}

TEST(NetworksE2eTest, OneJobPerPaperNetworkOnCifarShapedData) {
  Trainer trainer(Options());
  for (const char* model :
       {"resnet32", "resnet34", "vgg16", "densenet40", "mobilenetv2", "efficientnet_b0", "cnn"}) {
    SCOPED_TRACE(model);
    Recorder recorder;
    JobResult result;
    Status s = trainer.Run(CifarShapedJob(model, 0.3), recorder.Sink(), &result);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_FALSE(result.diverged);
    EXPECT_GE(result.steps, 1);
    EXPECT_EQ(static_cast<int64_t>(recorder.points.size()), result.steps);
    for (const CurvePoint& p : recorder.points) EXPECT_TRUE(std::isfinite(p.loss));
    EXPECT_TRUE(std::isfinite(result.final_train_loss));
    EXPECT_TRUE(std::isfinite(result.test_loss));
    EXPECT_GE(result.test_accuracy, 0.0);
    EXPECT_LE(result.test_accuracy, 1.0);
    EXPECT_NEAR(result.epochs, result.steps * 4 / 16.0, 1e-9);
  }
}

TEST(NetworksE2eTest, Cifar100ShapeGivesAHundredWayHead) {
  Trainer trainer(Options());
  JobSpec job = CifarShapedJob("resnet32", 0.1);
  job.dataset.path = kSyntheticCifar100Shape;
  JobResult result;
  Status s = trainer.Run(job, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // An untrained 100-way classifier: a loss near log(100), far above log(10).
  EXPECT_GT(result.test_loss, std::log(10.0) + 1) << result.test_loss;
}

// With a learning rate far below float resolution the weights never move,
// so each batch loss depends only on the batch and its random numbers
// (augmentation, dropout): equal sequences mean equal batches.
std::vector<double> FrozenLosses(Trainer& trainer, JobSpec job) {
  ResolveParams("sgd", {{"lr", 1e-30}}, &job.params);
  Recorder recorder;
  JobResult result;
  Status s = trainer.Run(job, recorder.Sink(), &result);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return recorder.Losses();
}

TEST(NetworksE2eTest, AugmentationIsSeededAndChangesTheBatches) {
  Trainer trainer(Options());
  JobSpec plain = CifarShapedJob("cnn", 0.4, /*seed=*/3);
  JobSpec augmented = plain;
  augmented.dataset.augment = true;
  const std::vector<double> a = FrozenLosses(trainer, augmented);
  const std::vector<double> b = FrozenLosses(trainer, augmented);
  const std::vector<double> none = FrozenLosses(trainer, plain);
  JobSpec other_seed = augmented;
  other_seed.seed = 4;
  const std::vector<double> c = FrozenLosses(trainer, other_seed);
  const size_t n = std::min({a.size(), b.size(), none.size(), c.size()});
  ASSERT_GE(n, 8u) << "too few steps to compare two epochs";  // 4 steps per epoch
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(a[i], b[i]) << "step " << i + 1;
  EXPECT_NE(std::vector<double>(a.begin(), a.begin() + n),
            std::vector<double>(none.begin(), none.begin() + n));
  EXPECT_NE(std::vector<double>(a.begin(), a.begin() + n),
            std::vector<double>(c.begin(), c.begin() + n));
  // Each epoch draws new crops: epoch 2 is not epoch 1 again.
  EXPECT_NE(std::vector<double>(a.begin(), a.begin() + 4),
            std::vector<double>(a.begin() + 4, a.begin() + 8));
}

TEST(NetworksE2eTest, DropoutReachesTheModelAndIsSeeded) {
  Trainer trainer(Options());
  JobSpec job = CifarShapedJob("mlp", 0.1, /*seed=*/5);
  const std::vector<double> none = FrozenLosses(trainer, job);
  job.dropout = 0.5;
  const std::vector<double> a = FrozenLosses(trainer, job);
  const std::vector<double> b = FrozenLosses(trainer, job);
  ASSERT_FALSE(none.empty());
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  EXPECT_NE(a[0], none[0]) << "dropout changes the first batch's loss";
  EXPECT_EQ(a[0], b[0]) << "the same seed draws the same dropout masks";

  JobResult result;
  job.dropout = 1.5;
  Status s = trainer.Run(job, nullptr, &result);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("dropout"), std::string::npos) << s.message();
}

// A CIFAR-10 copy in the official layout: 5 batches of `per_batch` records.
void WriteTinyCifar10(const fs::path& dir, int per_batch) {
  fs::create_directories(dir);
  auto write = [](const fs::path& path, int records, int first) {
    std::ofstream f(path, std::ios::binary);
    for (int i = first; i < first + records; ++i) {
      f.put(static_cast<char>(i % 10));
      for (int j = 0; j < 3072; ++j) f.put(static_cast<char>((i % 10) * 20 + (j % 7)));
    }
  };
  for (int b = 1; b <= 5; ++b)
    write(dir / ("data_batch_" + std::to_string(b) + ".bin"), per_batch, b * per_batch);
  write(dir / "test_batch.bin", 10, 0);
}

TEST(NetworksE2eTest, CifarFilesTrainAndBrokenOnesFailTheJobOnly) {
  char pattern[] = "/tmp/networks_e2e_XXXXXX";
  const fs::path dir = mkdtemp(pattern);
  WriteTinyCifar10(dir / "good", 8);
  WriteTinyCifar10(dir / "broken", 8);
  fs::resize_file(dir / "broken" / "data_batch_2.bin", 8 * 3073 - 1);

  Trainer trainer(Options());
  JobSpec job = CifarShapedJob("resnet32", 0.2);
  job.dataset.name = "cifar10";
  job.dataset.path = (dir / "broken").string();
  job.dataset.train_size = 0;  // fewer than 45000: all 40
  JobResult result;
  Status s = trainer.Run(job, nullptr, &result);
  EXPECT_EQ(s.code(), Status::kDataLoss);
  EXPECT_NE(s.message().find("data_batch_2.bin"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("3073"), std::string::npos) << s.message();

  // The trainer goes on with the next job.
  job.dataset.path = (dir / "good").string();
  job.dataset.augment = true;
  s = trainer.Run(job, nullptr, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GE(result.steps, 1);
  EXPECT_NEAR(result.epochs, result.steps * 4 / 40.0, 1e-9);
  EXPECT_TRUE(std::isfinite(result.final_train_loss));
  EXPECT_TRUE(std::isfinite(result.test_loss));

  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(NetworksE2eTest, EmptyAndDefaultPathShareOneCachedCopy) {
  if (!fs::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  Trainer trainer(Options());
  JobSpec job = CifarShapedJob("logreg", 0.05);
  job.dataset.name = "fashion-mnist";
  job.dataset.path = "";
  job.dataset.train_size = 1000;
  job.batch_size = 100;
  JobResult first, second;
  ASSERT_TRUE(trainer.Run(job, nullptr, &first).ok());
  job.dataset.path = std::string(kFashionMnist) + "/";
  job.dataset.augment = true;  // acts per batch: the same cached data
  ASSERT_TRUE(trainer.Run(job, nullptr, &second).ok());
  // Loading and decoding the gzip files takes far longer than this.
  EXPECT_LT(second.setup_seconds, 0.1);
  EXPECT_LT(second.setup_seconds, first.setup_seconds / 2);
}

}  // namespace
}  // namespace gridsearch
