// Tests of the model and optimizer factories and of the data-set loader.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "common/catalog.h"
#include "models/datasets.h"
#include "models/models.h"
#include "optimizers/baseline.h"
#include "tests/test_device.h"

namespace gridsearch {
namespace {

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(kFashionMnist) + "/train-images-idx3-ubyte.gz");
}

int64_t ParameterCount(const torch::nn::Sequential& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

std::map<std::string, double> Defaults(const std::string& optimizer) {
  std::map<std::string, double> full;
  EXPECT_TRUE(ResolveParams(optimizer, {}, &full).ok());
  return full;
}

// ---------------------------------------------------------------- models

TEST(MakeModelTest, LogRegShapesAndParameters) {
  torch::nn::Sequential model;
  Status s = MakeModel("logreg", {1, 28, 28}, 10, &model);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ParameterCount(model), 784 * 10 + 10);
  model->to(TestDevice());
  torch::Tensor out = model->forward(torch::randn({4, 1, 28, 28}, OnTestDevice(torch::kFloat)));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 10}));
}

TEST(MakeModelTest, MlpShapesAndParameters) {
  torch::nn::Sequential model;
  Status s = MakeModel("mlp", {1, 28, 28}, 10, &model);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ParameterCount(model), (784 * 256 + 256) + (256 * 128 + 128) + (128 * 10 + 10));
  model->to(TestDevice());
  torch::Tensor out = model->forward(torch::randn({3, 1, 28, 28}, OnTestDevice(torch::kFloat)));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 10}));
}

TEST(MakeModelTest, EveryCatalogModelBuildsAndHasFiniteGradients) {
  for (const ModelInfo& info : Models()) {
    torch::nn::Sequential model;
    Status s = MakeModel(info.name, {1, 8, 8}, 5, &model);
    ASSERT_TRUE(s.ok()) << info.name << ": " << s.ToString();
    model->to(TestDevice());
    torch::Tensor x = torch::randn({6, 1, 8, 8}, OnTestDevice(torch::kFloat));
    torch::Tensor y = torch::randint(5, {6}, OnTestDevice(torch::kLong));
    torch::Tensor loss = torch::nll_loss(torch::log_softmax(model->forward(x), 1), y);
    loss.backward();
    EXPECT_TRUE(std::isfinite(loss.item<double>())) << info.name;
    for (const auto& p : model->parameters()) {
      ASSERT_TRUE(p.grad().defined()) << info.name;
      EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>()) << info.name;
      EXPECT_GT(p.grad().abs().sum().item<double>(), 0) << info.name;
    }
  }
}

TEST(MakeModelTest, SameSeedSameWeights) {
  torch::nn::Sequential a, b, c;
  torch::manual_seed(7);
  ASSERT_TRUE(MakeModel("mlp", {1, 28, 28}, 10, &a).ok());
  torch::manual_seed(7);
  ASSERT_TRUE(MakeModel("mlp", {1, 28, 28}, 10, &b).ok());
  torch::manual_seed(8);
  ASSERT_TRUE(MakeModel("mlp", {1, 28, 28}, 10, &c).ok());
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  EXPECT_FALSE(torch::equal(pa[0], pc[0]));
}

TEST(MakeModelTest, UnknownNameListsKnownOnes) {
  torch::nn::Sequential model;
  Status s = MakeModel("resnet9000", {1, 28, 28}, 10, &model);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("resnet9000"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("logreg"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("mlp"), std::string::npos) << s.message();
}

TEST(MakeModelTest, BadShapesAreInvalidArguments) {
  torch::nn::Sequential model;
  EXPECT_EQ(MakeModel("mlp", {}, 10, &model).code(), Status::kInvalidArgument);
  EXPECT_EQ(MakeModel("mlp", {1, 0, 28}, 10, &model).code(), Status::kInvalidArgument);
  EXPECT_EQ(MakeModel("logreg", {1, 28, 28}, 1, &model).code(), Status::kInvalidArgument);
}

// ------------------------------------------------------------ optimizers

TEST(MakeOptimizerTest, EachBaselineBuildsAndSteps) {
  for (const char* name : {"sgd", "adam", "rmsprop"}) {
    torch::manual_seed(1);
    torch::nn::Sequential model;
    ASSERT_TRUE(MakeModel("logreg", {1, 4, 4}, 3, &model).ok());
    model->to(TestDevice());
    std::unique_ptr<torch::optim::Optimizer> opt;
    Status s = MakeOptimizer(name, Defaults(name), model->parameters(), &opt);
    ASSERT_TRUE(s.ok()) << name << ": " << s.ToString();
    ASSERT_NE(opt, nullptr);
    EXPECT_DOUBLE_EQ(GetLearningRate(*opt), FindOptimizer(name)->FindParam("lr")->default_value);
    torch::Tensor before = model->parameters()[0].clone();
    opt->zero_grad();
    torch::Tensor x = torch::randn({5, 1, 4, 4}, OnTestDevice(torch::kFloat));
    torch::Tensor loss = torch::nll_loss(torch::log_softmax(model->forward(x), 1),
                                         torch::randint(3, {5}, OnTestDevice(torch::kLong)));
    loss.backward();
    opt->step();
    EXPECT_FALSE(torch::equal(before, model->parameters()[0])) << name;
  }
}

TEST(MakeOptimizerTest, MapsCatalogParametersToLibTorchOptions) {
  torch::nn::Sequential model;
  ASSERT_TRUE(MakeModel("logreg", {1, 4, 4}, 3, &model).ok());
  std::unique_ptr<torch::optim::Optimizer> opt;

  auto sgd_params = Defaults("sgd");
  sgd_params["lr"] = 0.3;
  sgd_params["momentum"] = 0.9;
  sgd_params["nesterov"] = 1;
  sgd_params["weight_decay"] = 1e-4;
  ASSERT_TRUE(MakeOptimizer("sgd", sgd_params, model->parameters(), &opt).ok());
  auto* sgd = dynamic_cast<torch::optim::SGD*>(opt.get());
  ASSERT_NE(sgd, nullptr);
  const auto& so = static_cast<const torch::optim::SGDOptions&>(sgd->defaults());
  EXPECT_EQ(so.lr(), 0.3);
  EXPECT_EQ(so.momentum(), 0.9);
  EXPECT_TRUE(so.nesterov());
  EXPECT_EQ(so.dampening(), 0);
  EXPECT_EQ(so.weight_decay(), 1e-4);

  auto adam_params = Defaults("adam");
  adam_params["beta1"] = 0.95;
  adam_params["eps"] = 0.1;
  adam_params["amsgrad"] = 1;
  ASSERT_TRUE(MakeOptimizer("adam", adam_params, model->parameters(), &opt).ok());
  auto* adam = dynamic_cast<torch::optim::Adam*>(opt.get());
  ASSERT_NE(adam, nullptr);
  const auto& ao = static_cast<const torch::optim::AdamOptions&>(adam->defaults());
  EXPECT_EQ(std::get<0>(ao.betas()), 0.95);
  EXPECT_EQ(std::get<1>(ao.betas()), 0.999);
  EXPECT_EQ(ao.eps(), 0.1);
  EXPECT_TRUE(ao.amsgrad());

  auto rms_params = Defaults("rmsprop");
  rms_params["alpha"] = 0.85;
  rms_params["eps"] = 1e-10;
  rms_params["centered"] = 1;
  ASSERT_TRUE(MakeOptimizer("rmsprop", rms_params, model->parameters(), &opt).ok());
  auto* rms = dynamic_cast<torch::optim::RMSprop*>(opt.get());
  ASSERT_NE(rms, nullptr);
  const auto& ro = static_cast<const torch::optim::RMSpropOptions&>(rms->defaults());
  EXPECT_EQ(ro.alpha(), 0.85);
  EXPECT_EQ(ro.eps(), 1e-10);
  EXPECT_TRUE(ro.centered());
}

TEST(MakeOptimizerTest, MissingParametersTakeCatalogDefaults) {
  torch::nn::Sequential model;
  ASSERT_TRUE(MakeModel("logreg", {1, 4, 4}, 3, &model).ok());
  std::unique_ptr<torch::optim::Optimizer> opt;
  Status s = MakeOptimizer("adam", {{"lr", 0.02}}, model->parameters(), &opt);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(GetLearningRate(*opt), 0.02);
}

TEST(MakeOptimizerTest, ClearErrors) {
  torch::nn::Sequential model;
  ASSERT_TRUE(MakeModel("logreg", {1, 4, 4}, 3, &model).ok());
  std::unique_ptr<torch::optim::Optimizer> opt;

  Status s = MakeOptimizer("adagrad", {}, model->parameters(), &opt);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  for (const char* known : {"adagrad", "sgd", "adam", "rmsprop"})
    EXPECT_NE(s.message().find(known), std::string::npos) << s.message();

  auto p = Defaults("sgd");
  p["nesterov"] = 1;  // momentum stays at its default 0
  s = MakeOptimizer("sgd", p, model->parameters(), &opt);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("nesterov"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("momentum"), std::string::npos) << s.message();

  p = Defaults("sgd");
  p["lr"] = -1;
  s = MakeOptimizer("sgd", p, model->parameters(), &opt);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("lr"), std::string::npos) << s.message();

  p = Defaults("adam");
  p["beta3"] = 0.5;
  s = MakeOptimizer("adam", p, model->parameters(), &opt);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("beta3"), std::string::npos) << s.message();

  p = Defaults("rmsprop");
  p["alpha"] = 1.5;
  s = MakeOptimizer("rmsprop", p, model->parameters(), &opt);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("alpha"), std::string::npos) << s.message();
}

TEST(SetLearningRateTest, SetsEveryGroupAndDrivesTheUpdate) {
  torch::Tensor w = torch::ones({3}, OnTestDevice(torch::kFloat)).requires_grad_(true);
  torch::Tensor v = torch::ones({2}, OnTestDevice(torch::kFloat)).requires_grad_(true);
  torch::optim::SGD sgd({torch::optim::OptimizerParamGroup({w}),
                         torch::optim::OptimizerParamGroup({v})},
                        torch::optim::SGDOptions(0.1));
  SetLearningRate(sgd, 0.25);
  for (const auto& group : sgd.param_groups()) EXPECT_EQ(group.options().get_lr(), 0.25);
  EXPECT_EQ(GetLearningRate(sgd), 0.25);

  // d/dw sum(w * 2) = 2, so one step moves w by -lr * 2.
  sgd.zero_grad();
  ((w * 2).sum() + (v * 2).sum()).backward();
  sgd.step();
  EXPECT_TRUE(torch::allclose(w, torch::full({3}, 0.5, OnTestDevice(torch::kFloat))));
  EXPECT_TRUE(torch::allclose(v, torch::full({2}, 0.5, OnTestDevice(torch::kFloat))));

  for (const char* name : {"adam", "rmsprop"}) {
    torch::nn::Sequential model;
    ASSERT_TRUE(MakeModel("logreg", {1, 2, 2}, 2, &model).ok());
    std::unique_ptr<torch::optim::Optimizer> opt;
    ASSERT_TRUE(MakeOptimizer(name, Defaults(name), model->parameters(), &opt).ok());
    SetLearningRate(*opt, 0.125);
    EXPECT_EQ(GetLearningRate(*opt), 0.125) << name;
  }
}

// -------------------------------------------------------------- data sets

TEST(LoadDatasetTest, SyntheticIsFixedAndCentered) {
  Dataset a, b;
  Status s = LoadDataset({"synthetic", "", 0}, &a);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(a.train_x.sizes(), (std::vector<int64_t>{kSyntheticTrainSize, 1, 28, 28}));
  EXPECT_EQ(a.test_x.sizes(), (std::vector<int64_t>{kSyntheticTestSize, 1, 28, 28}));
  EXPECT_EQ(a.validation_x.size(0), 0);
  EXPECT_EQ(a.train_x.scalar_type(), torch::kFloat);
  EXPECT_EQ(a.train_y.scalar_type(), torch::kLong);
  EXPECT_TRUE(a.train_x.is_contiguous());
  EXPECT_EQ(a.num_classes, 10);
  EXPECT_EQ(a.input_shape, (std::vector<int64_t>{1, 28, 28}));
  EXPECT_GE(a.train_y.min().item<int64_t>(), 0);
  EXPECT_LE(a.train_y.max().item<int64_t>(), 9);
  EXPECT_EQ(a.scale, 1.0);
  EXPECT_EQ(a.mean.sizes(), (std::vector<int64_t>{1, 1, 28, 28}));
  torch::Tensor inputs = ModelInputs(a, a.train_x);
  EXPECT_EQ(inputs.scalar_type(), torch::kFloat);
  EXPECT_LT(inputs.mean(0).abs().max().item<double>(), 1e-4);

  // The seed is fixed, not the global RNG's: another load gives the same data.
  torch::manual_seed(12345);
  ASSERT_TRUE(LoadDataset({"synthetic", "", 0}, &b).ok());
  EXPECT_TRUE(torch::equal(a.train_x, b.train_x));
  EXPECT_TRUE(torch::equal(a.test_y, b.test_y));

  // A subset is the first examples (centred on its own mean); the rest is
  // the validation split.
  Dataset c;
  ASSERT_TRUE(LoadDataset({"synthetic", "", 500}, &c).ok());
  EXPECT_EQ(c.train_x.size(0), 500);
  EXPECT_TRUE(torch::equal(c.train_y, a.train_y.slice(0, 0, 500)));
  EXPECT_TRUE(torch::equal(c.validation_y, a.train_y.slice(0, 500)));
  EXPECT_EQ(c.test_x.size(0), kSyntheticTestSize);
  EXPECT_LT(ModelInputs(c, c.train_x).mean(0).abs().max().item<double>(), 1e-4);
}

TEST(LoadDatasetTest, TrainSizeTooLargeNamesBothNumbers) {
  Dataset d;
  Status s = LoadDataset({"synthetic", "", 6001}, &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("6001"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("6000"), std::string::npos) << s.message();
  EXPECT_EQ(LoadDataset({"synthetic", "", -1}, &d).code(), Status::kInvalidArgument);
}

TEST(LoadDatasetTest, UnknownNameAndMissingPath) {
  Dataset d;
  Status s = LoadDataset({"imagenet", "", 0}, &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("fashion-mnist"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("cifar10"), std::string::npos) << s.message();

  s = LoadDataset({"mnist", "", 0}, &d);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("dataset.path"), std::string::npos) << s.message();

  s = LoadDataset({"mnist", "/nonexistent/mnist", 0}, &d);
  EXPECT_EQ(s.code(), Status::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/mnist"), std::string::npos) << s.message();
}

TEST(LoadDatasetTest, FashionMnistSubset) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnist;
  Dataset d;
  Status s = LoadDataset({"fashion-mnist", "", 2000}, &d);  // default path
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(d.train_x.sizes(), (std::vector<int64_t>{2000, 1, 28, 28}));
  EXPECT_EQ(d.train_y.sizes(), (std::vector<int64_t>{2000}));
  EXPECT_EQ(d.test_x.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(d.validation_x.sizes(), (std::vector<int64_t>{58000, 1, 28, 28}));
  EXPECT_EQ(d.train_y[0].item<int64_t>(), 9);
  EXPECT_EQ(d.num_classes, 10);
  // Stored as the file's bytes; ModelInputs scales and centres them.
  EXPECT_EQ(d.train_x.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(d.train_x.is_contiguous());
  EXPECT_TRUE(d.test_x.is_contiguous());
  // Scaled to [0, 1] then centred: values lie in [-1, 1] and the training
  // mean is zero per pixel; the test split uses the training mean, so its
  // mean is small but not exactly zero.
  torch::Tensor train = ModelInputs(d, d.train_x);
  torch::Tensor test = ModelInputs(d, d.test_x);
  EXPECT_EQ(train.scalar_type(), torch::kFloat);
  EXPECT_LE(train.abs().max().item<double>(), 1.0);
  EXPECT_LT(train.mean(0).abs().max().item<double>(), 1e-5);
  EXPECT_GT(train.std().item<double>(), 0.1);
  EXPECT_LT(test.mean().abs().item<double>(), 0.05);

  Dataset bigger;
  EXPECT_EQ(LoadDataset({"fashion-mnist", kFashionMnist, 60001}, &bigger).code(),
            Status::kInvalidArgument);
}

}  // namespace
}  // namespace gridsearch
