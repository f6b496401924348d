// On the test device (tests/test_device.h).
//
// Tests of the paper networks and the model registry: shapes, gradients,
// parameter counts against the published figures, seeded initialisation,
// dropout, adaptation to other inputs, and DescribeModels. Batches are tiny
// (2 images): the CPUs running these are small and shared.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "models/models.h"
#include "tests/test_device.h"

namespace gridsearch {
namespace {

const std::vector<int64_t> kCifarShape = {3, 32, 32};

torch::nn::Sequential Build(const std::string& name, const std::vector<int64_t>& shape,
                            int64_t classes, double dropout = 0) {
  torch::nn::Sequential model;
  Status s = MakeModel(name, shape, classes, dropout, &model);
  EXPECT_TRUE(s.ok()) << name << ": " << s.ToString();
  if (s.ok()) model->to(TestDevice());
  return model;
}

int CountDropoutModules(const torch::nn::Sequential& model) {
  int n = 0;
  for (const auto& m : model->modules(/*include_self=*/false))
    if (m->as<torch::nn::Dropout>() != nullptr) ++n;
  return n;
}

TEST(NetworksTest, EveryModelTrainsOneCifarBatch) {
  for (const ModelInfo& info : Models()) {
    SCOPED_TRACE(info.name);
    torch::manual_seed(1);
    torch::nn::Sequential model = Build(info.name, kCifarShape, 10);
    ASSERT_TRUE(model.ptr() != nullptr);
    EXPECT_TRUE(model->is_training());
    torch::Tensor x = torch::randn({2, 3, 32, 32}, OnTestDevice(torch::kFloat));
    torch::Tensor y = torch::tensor({3, 7}, OnTestDevice(torch::kLong));
    torch::Tensor logits = model->forward(x);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 10}));
    torch::Tensor loss = torch::nll_loss(torch::log_softmax(logits, 1), y);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
    loss.backward();
    int64_t zero_grads = 0;
    for (const auto& p : model->parameters()) {
      ASSERT_TRUE(p.grad().defined());
      ASSERT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
      if (p.grad().abs().sum().item<double>() == 0) ++zero_grads;
    }
    EXPECT_EQ(zero_grads, 0) << "parameters that get no gradient";
  }
}

TEST(NetworksTest, AdaptToOtherShapesAndClassCounts) {
  // Grey 28x28 (Fashion-MNIST), CIFAR-100, a tiny odd-sized image, and a
  // large one that takes the ImageNet stems.
  struct Case {
    std::vector<int64_t> shape;
    int64_t classes;
  };
  const std::vector<Case> cases = {
      {{1, 28, 28}, 10}, {{3, 32, 32}, 100}, {{2, 5, 7}, 3}, {{3, 72, 72}, 4}};
  torch::NoGradGuard no_grad;
  for (const ModelInfo& info : Models()) {
    for (const Case& c : cases) {
      SCOPED_TRACE(info.name + " on " + std::to_string(c.shape[0]) + "x" +
                   std::to_string(c.shape[1]) + "x" + std::to_string(c.shape[2]));
      torch::nn::Sequential model = Build(info.name, c.shape, c.classes);
      ASSERT_TRUE(model.ptr() != nullptr);
      std::vector<int64_t> batch = c.shape;
      batch.insert(batch.begin(), 2);
      torch::Tensor logits = model->forward(torch::randn(batch, OnTestDevice(torch::kFloat)));
      EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, c.classes}));
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    }
  }
}

TEST(NetworksTest, ParameterCountsMatchThePublishedOnes) {
  auto count = [](const std::string& name) {
    return ParameterCount(*Build(name, kCifarShape, 10));
  };
  // He et al. 2016, Table 6: ResNet-32 0.46M; Huang et al. 2017, Table 2:
  // DenseNet (L=40, k=12) 1.0M. Within 3%.
  EXPECT_NEAR(count("resnet32"), 0.46e6, 0.03 * 0.46e6);
  EXPECT_NEAR(count("densenet40"), 1.0e6, 0.03 * 1.0e6);
  // Li et al. 2017, Table 1: the CIFAR VGG-16 has 1.5e7 (two digits given).
  EXPECT_NEAR(count("vgg16"), 1.5e7, 0.05 * 1.5e7);
  // MobileNetV2 3.4M (Sandler et al., Table 4) and EfficientNet-B0 5.3M (Tan
  // & Le, Table 2) are ImageNet figures; the exact counts behind them
  // (3,504,872 and 5,288,548, as torchvision's builds count) minus the
  // 1000-class head plus a 10-class one are what the CIFAR versions must
  // have: the strides change, the weights do not. Exact, to catch changes.
  EXPECT_EQ(count("mobilenetv2"), 3504872 - (1280 * 1000 + 1000) + (1280 * 10 + 10));
  EXPECT_EQ(count("efficientnet_b0"), 5288548 - (1280 * 1000 + 1000) + (1280 * 10 + 10));
  // ResNet-34: 21.8M on ImageNet (He et al. give its 3.6 GFLOPs, not its
  // size; 21.8M is the usual count). The CIFAR version has a conv3x3 stem
  // instead of conv7x7 and a 10-class head: 21.28M.
  EXPECT_NEAR(count("resnet34"), 21.28e6, 0.01 * 21.28e6);
  torch::nn::Sequential imagenet;
  ASSERT_TRUE(MakeModel("resnet34", {3, 224, 224}, 1000, &imagenet).ok());
  EXPECT_NEAR(ParameterCount(*imagenet), 21.8e6, 0.01 * 21.8e6);
}

TEST(NetworksTest, SameSeedGivesBitIdenticalWeights) {
  for (const ModelInfo& info : Models()) {
    SCOPED_TRACE(info.name);
    torch::manual_seed(11);
    torch::nn::Sequential a = Build(info.name, kCifarShape, 10);
    torch::manual_seed(11);
    torch::nn::Sequential b = Build(info.name, kCifarShape, 10);
    torch::manual_seed(12);
    torch::nn::Sequential c = Build(info.name, kCifarShape, 10);
    auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
    ASSERT_EQ(pa.size(), pb.size());
    bool any_differs = false;
    for (const auto& item : pa) {
      ASSERT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
      if (!torch::equal(item.value(), pc[item.key()])) any_differs = true;
    }
    EXPECT_TRUE(any_differs) << "another seed should give other weights";
    auto ba = a->named_buffers(), bb = b->named_buffers();
    ASSERT_EQ(ba.size(), bb.size());
    for (const auto& item : ba) ASSERT_TRUE(torch::equal(item.value(), bb[item.key()]));
  }
}

TEST(NetworksTest, HeInitialisationOfConvolutions) {
  // He et al. 2015 with fan_out: std = sqrt(2 / (k * k * out)). ResNet-32's
  // last 3x3 conv has 64 * 64 * 9 weights: the sample std is within 3%.
  torch::manual_seed(3);
  torch::nn::Sequential model = Build("resnet32", kCifarShape, 10);
  torch::Tensor w = model->named_parameters()["stage3_unit5.conv2.weight"];
  ASSERT_TRUE(w.defined());
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (3 * 3 * 64)),
              0.03 * std::sqrt(2.0 / (3 * 3 * 64)));
  EXPECT_NEAR(w.mean().item<double>(), 0, 0.01);
  // Batch norm starts as the identity.
  torch::Tensor gamma = model->named_parameters()["stage3_unit5.bn1.weight"];
  EXPECT_TRUE(torch::equal(gamma, torch::ones_like(gamma)));
}

TEST(NetworksTest, DropoutOnlyWhereAskedAndOnlyInTraining) {
  for (const char* name : {"mlp", "cnn", "vgg16", "densenet40", "mobilenetv2", "efficientnet_b0"}) {
    SCOPED_TRACE(name);
    torch::manual_seed(5);
    torch::nn::Sequential none = Build(name, kCifarShape, 10);
    torch::manual_seed(5);
    torch::nn::Sequential with = Build(name, kCifarShape, 10, 0.5);
    const int dropout_modules = CountDropoutModules(with);
    // DenseNet applies dropout inside its layers rather than as modules.
    if (std::string(name) != "densenet40") EXPECT_GE(dropout_modules, 1);
    EXPECT_EQ(CountDropoutModules(none), 0);
    EXPECT_EQ(ParameterCount(*none), ParameterCount(*with));

    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::randn({2, 3, 32, 32}, OnTestDevice(torch::kFloat));
    with->train();
    torch::manual_seed(1);
    torch::Tensor first = with->forward(x);
    torch::manual_seed(2);
    torch::Tensor second = with->forward(x);
    EXPECT_FALSE(torch::equal(first, second)) << "dropout draws new masks in training";
    // The same random numbers give the same masks (what PAL relies on).
    torch::manual_seed(1);
    EXPECT_TRUE(torch::equal(first, with->forward(x)));
    with->eval();
    EXPECT_TRUE(torch::equal(with->forward(x), with->forward(x)));
  }
  // The ResNets have no dropout layers and accept the argument.
  torch::nn::Sequential resnet = Build("resnet32", kCifarShape, 10, 0.3);
  EXPECT_EQ(CountDropoutModules(resnet), 0);
}

TEST(NetworksTest, BadArgumentsAreInvalidArguments) {
  torch::nn::Sequential model;
  EXPECT_EQ(MakeModel("vgg16", kCifarShape, 10, 1.0, &model).code(), Status::kInvalidArgument);
  EXPECT_EQ(MakeModel("vgg16", kCifarShape, 10, -0.1, &model).code(), Status::kInvalidArgument);
  EXPECT_EQ(MakeModel("mlp", {784}, 10, std::nan(""), &model).code(), Status::kInvalidArgument);
  Status s = MakeModel("resnet32", {3, 1024}, 10, &model);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("{3, 1024}"), std::string::npos) << s.message();
  // The fully connected models flatten any shape.
  EXPECT_TRUE(MakeModel("mlp", {784}, 10, &model).ok());
  EXPECT_TRUE(MakeModel("logreg", {2, 3, 4, 5}, 10, &model).ok());
}

TEST(DescribeModelsTest, ListsEveryModelWithItsCifar10ParameterCount) {
  // Describing builds models; it must not move the global generator.
  torch::manual_seed(99);
  const double expected_draw = torch::rand({1}).item<double>();
  torch::manual_seed(99);
  std::vector<ModelDescription> models;
  Status s = DescribeModels(&models);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(torch::rand({1}).item<double>(), expected_draw);

  ASSERT_EQ(models.size(), Models().size());
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelDescription& d = models[i];
    SCOPED_TRACE(d.name);
    EXPECT_EQ(d.name, Models()[i].name);
    EXPECT_EQ(d.help, Models()[i].help);
    EXPECT_EQ(d.cifar10_parameters, ParameterCount(*Build(d.name, kCifarShape, 10)));
    EXPECT_FALSE(d.input_shapes.empty());
    EXPECT_EQ(d.published_parameters == 0, d.published_source.empty());
    if (d.published_parameters > 0)
      EXPECT_NEAR(d.cifar10_parameters, d.published_parameters, 0.05 * d.published_parameters);
  }
  EXPECT_EQ(models[0].name, "logreg");
  EXPECT_EQ(models[0].cifar10_parameters, 3072 * 10 + 10);
}

}  // namespace
}  // namespace gridsearch
