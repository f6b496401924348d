#include "models/models.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <exception>
#include <mutex>

#include "common/catalog.h"
#include "models/networks.h"

namespace gridsearch {
namespace {

using Builder = torch::nn::Sequential (*)(const NetworkShape&);

struct Entry {
  const char* name;
  Builder build;
  bool convolutional;  // needs a {C, H, W} input shape
  int64_t published;   // CIFAR-10 parameter count in the literature; 0: none
  const char* source;
};

// Every model of the catalog. The published figures are the ones the papers
// give for their CIFAR-10 networks; the ImageNet-only networks have none here
// (their ImageNet figures are quoted in the builders' files).
constexpr Entry kRegistry[] = {
    {"logreg", BuildLogReg, false, 0, ""},
    {"mlp", BuildMlp, false, 0, ""},
    {"cnn", BuildSmallCnn, true, 0, ""},
    {"resnet32", BuildResNet32, true, 460000,
     "He et al. 2016, Deep Residual Learning, Table 6 (0.46M)"},
    {"resnet34", BuildResNet34, true, 0, ""},
    {"vgg16", BuildVgg16, true, 15000000,
     "Li et al. 2017, Pruning Filters for Efficient ConvNets, Table 1 (1.5e7)"},
    {"densenet40", BuildDenseNet40, true, 1000000,
     "Huang et al. 2017, Densely Connected Convolutional Networks, Table 2 (1.0M)"},
    {"mobilenetv2", BuildMobileNetV2, true, 0, ""},
    {"efficientnet_b0", BuildEfficientNetB0, true, 0, ""},
};

const Entry* FindEntry(const std::string& name) {
  for (const Entry& e : kRegistry)
    if (name == e.name) return &e;
  return nullptr;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "{";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "}";
}

}  // namespace

Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, double dropout, torch::nn::Sequential* out) {
  if (FindModel(name) == nullptr)
    return Status::InvalidArgument("unknown model '" + name + "' (known: " + ModelNameList() + ")");
  const Entry* entry = FindEntry(name);
  if (entry == nullptr)
    return Status::Internal("model '" + name + "' is in the catalog but has no builder");
  if (input_shape.empty())
    return Status::InvalidArgument("model '" + name + "': empty input shape");
  int64_t inputs = 1;
  for (int64_t d : input_shape) {
    if (d <= 0)
      return Status::InvalidArgument("model '" + name + "': input dimension " + std::to_string(d) +
                                     " is not positive");
    inputs *= d;
  }
  if (entry->convolutional && input_shape.size() != 3)
    return Status::InvalidArgument("model '" + name + "' takes images {C, H, W}, got shape " +
                                   ShapeString(input_shape));
  if (num_classes < 2)
    return Status::InvalidArgument("model '" + name + "': needs at least 2 classes, got " +
                                   std::to_string(num_classes));
  if (!(dropout >= 0 && dropout < 1))
    return Status::InvalidArgument("model '" + name + "': dropout must be in [0, 1), got " +
                                   std::to_string(dropout));
  NetworkShape shape;
  if (input_shape.size() == 3) {
    shape.channels = input_shape[0];
    shape.height = input_shape[1];
    shape.width = input_shape[2];
  } else {
    // logreg and mlp only flatten: any shape is `inputs` features.
    shape.channels = inputs;
    shape.height = 1;
    shape.width = 1;
  }
  shape.classes = num_classes;
  shape.dropout = dropout;
  try {
    *out = entry->build(shape);
    (*out)->train();
  } catch (const c10::Error& e) {
    return Status::Internal("building model '" + name + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal("building model '" + name + "': " + e.what());
  }
  return Status::OK();
}

Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, torch::nn::Sequential* out) {
  return MakeModel(name, input_shape, num_classes, /*dropout=*/0, out);
}

int64_t ParameterCount(const torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters(/*recurse=*/true))
    if (p.requires_grad()) n += p.numel();
  return n;
}

Status DescribeModels(std::vector<ModelDescription>* out) {
  out->clear();
  // Building draws from the global generator; put its state back so that a
  // description never shifts the weights of a model built afterwards.
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor saved_state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved_state = generator.get_state();
  }
  Status status;
  for (const ModelInfo& info : Models()) {
    ModelDescription d;
    d.name = info.name;
    d.help = info.help;
    const Entry* entry = FindEntry(info.name);
    if (entry != nullptr) {
      d.input_shapes = entry->convolutional
                           ? "C x H x W images, any C, H, W >= 1 (built for 3 x 32 x 32)"
                           : "any shape (flattened)";
      d.published_parameters = entry->published;
      d.published_source = entry->source;
    }
    torch::nn::Sequential model;
    status = MakeModel(info.name, {3, 32, 32}, 10, &model);
    if (!status.ok()) break;
    d.cifar10_parameters = ParameterCount(*model);
    out->push_back(std::move(d));
  }
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved_state);
  }
  if (!status.ok()) return Status::Internal("describing the models: " + status.message());
  return Status::OK();
}

}  // namespace gridsearch
