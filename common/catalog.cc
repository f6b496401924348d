#include "common/catalog.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace gridsearch {
namespace {

ParamInfo Range(std::string name, double def, double lo, bool lo_incl, double hi, bool hi_incl,
                std::string help) {
  ParamInfo p;
  p.name = std::move(name);
  p.default_value = def;
  p.min = lo;
  p.min_inclusive = lo_incl;
  p.max = hi;
  p.max_inclusive = hi_incl;
  p.help = std::move(help);
  return p;
}

ParamInfo Flag(std::string name, bool def, std::string help) {
  ParamInfo p = Range(std::move(name), def ? 1 : 0, 0, true, 1, true, std::move(help));
  p.boolean = true;
  return p;
}

constexpr double kInf = HUGE_VAL;

ParamInfo LearningRate(double def) {
  return Range("lr", def, 0, false, kInf, false, "initial learning rate");
}
ParamInfo Decay() {
  return Range("decay", 1, 0, false, 1, true,
               "exponential decay factor per decay_steps (1 = no decay)");
}
ParamInfo WeightDecay() {
  return Range("weight_decay", 0, 0, true, kInf, false, "L2 penalty");
}

std::vector<OptimizerInfo> BuildOptimizers() {
  std::vector<OptimizerInfo> v;
  v.push_back({"sgd",
               "stochastic gradient descent with heavy-ball momentum (LibTorch SGD)",
               {LearningRate(0.01), Range("momentum", 0, 0, true, 1, true, "momentum factor"),
                Decay(), WeightDecay(), Flag("nesterov", false, "Nesterov momentum")},
               {}});
  v.push_back({"adam",
               "Adam (LibTorch Adam)",
               {LearningRate(0.001), Range("beta1", 0.9, 0, true, 1, false, "first-moment decay"),
                Range("beta2", 0.999, 0, true, 1, false, "second-moment decay"),
                Range("eps", 1e-8, 0, false, kInf, false, "denominator epsilon"), Decay(),
                WeightDecay(), Flag("amsgrad", false, "AMSGrad variant")},
               {}});
  v.push_back({"rmsprop",
               "RMSProp (LibTorch RMSprop)",
               {LearningRate(0.01), Range("alpha", 0.99, 0, true, 1, true, "squared-gradient decay"),
                Range("eps", 1e-8, 0, false, kInf, false, "denominator epsilon"),
                Range("momentum", 0, 0, true, 1, true, "momentum factor"), Decay(), WeightDecay(),
                Flag("centered", false, "centered RMSProp")},
               {}});
  // Defaults (optimizers/pal.h): PAL 2019's best configurations (Table 3:
  // mu 0.1, s_max 1, alpha 0.4) and its suggested lambda interval [0.4, 0.6]
  // (PAL 2020: update step adaptation >= 1); no decay, as for the baselines.
  v.push_back(
      {"pal",
       "PAL, parabolic approximation line search (PAL 2019 and PAL 2020); decays mu and s_max",
       {Range("measuring_step", 0.1, 0, false, kInf, false,
              "measuring step mu: distance of the second loss sample along the line"),
        Range("max_step", 1, 0, false, kInf, false, "maximum step s_max"),
        Range("momentum", 0.4, 0, true, 1, true,
              "momentum alpha (PAL 2019) = direction adaptation beta (PAL 2020)"),
        Range("loose_approximation", 0.6, 0, false, kInf, false,
              "lambda, scales the curvature (PAL 2019); 1/update_step_adaptation (PAL 2020)"),
        Decay(),
        Flag("exact_directional_derivative", false,
             "l'(0) = -(g . d)/|d| (PAL 2020) instead of -|d| (PAL 2019)"),
        Range("epsilon", 1e-10, 0, true, kInf, false,
              "search directions with |d| <= epsilon make no update")},
       {{"direction_adaptation", "momentum", false},
        {"update_step_adaptation", "loose_approximation", true}}});
  return v;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string FormatNumber(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

}  // namespace

const ParamInfo* OptimizerInfo::FindParam(const std::string& n) const {
  for (const auto& p : params)
    if (p.name == n) return &p;
  return nullptr;
}

const std::vector<OptimizerInfo>& Optimizers() {
  static const std::vector<OptimizerInfo> kOptimizers = BuildOptimizers();
  return kOptimizers;
}

const std::vector<ModelInfo>& Models() {
  static const std::vector<ModelInfo> kModels = {
      {"logreg", "multinomial logistic regression (one linear layer)"},
      {"mlp", "multilayer perceptron, two hidden ReLU layers of 256 and 128 units"},
      {"cnn", "small convolutional network for CPU work"},
      {"resnet32", "CIFAR ResNet-32, pre-activation (v2), 3 stages of 5 basic blocks, 16/32/64 filters"},
      {"resnet34", "ResNet-34, pre-activation (v2), basic blocks [3,4,6,3], stem for 32x32 inputs"},
      {"vgg16", "VGG-16 (variant D) with batch norm and a CIFAR head"},
      {"densenet40", "DenseNet-40 (L=40, k=12), 3 dense blocks, no bottleneck or compression"},
      {"mobilenetv2", "MobileNetV2 adapted to 32x32 inputs"},
      {"efficientnet_b0", "EfficientNet-B0 adapted to 32x32 inputs"},
  };
  return kModels;
}

const std::vector<DatasetInfo>& Datasets() {
  static const std::vector<DatasetInfo> kDatasets = {
      {"fashion-mnist", "Fashion-MNIST, 28x28 grey images, 10 classes, IDX files (gzip or raw)",
       "/usr/share/datasets/fashion-mnist", true, true},
      {"mnist", "MNIST digits, 28x28 grey images, 10 classes, IDX files (gzip or raw)", "", true,
       true},
      {"cifar10",
       "CIFAR-10, 32x32 colour images, 10 classes, binary files data_batch_1..5.bin, test_batch.bin",
       "", true, true},
      {"cifar100", "CIFAR-100, 32x32 colour images, 100 classes, binary files train.bin, test.bin",
       "", true, true},
      {"synthetic",
       "seeded Gaussian clusters, 1x28x28, 10 classes; path \"cifar10-shape\" or \"cifar100-shape\" "
       "makes it 3x32x32 with 10 or 100 classes; needs no files (for tests)",
       "",
       false, true},
  };
  return kDatasets;
}

const OptimizerInfo* FindOptimizer(const std::string& name) {
  for (const auto& o : Optimizers())
    if (o.name == name) return &o;
  return nullptr;
}

const ModelInfo* FindModel(const std::string& name) {
  for (const auto& m : Models())
    if (m.name == name) return &m;
  return nullptr;
}

const DatasetInfo* FindDataset(const std::string& name) {
  for (const auto& d : Datasets())
    if (d.name == name) return &d;
  return nullptr;
}

std::string OptimizerNameList() {
  std::vector<std::string> names;
  for (const auto& o : Optimizers()) names.push_back(o.name);
  return JoinNames(names);
}

std::string ModelNameList() {
  std::vector<std::string> names;
  for (const auto& m : Models()) names.push_back(m.name);
  return JoinNames(names);
}

std::string DatasetNameList() {
  std::vector<std::string> names;
  for (const auto& d : Datasets()) names.push_back(d.name);
  return JoinNames(names);
}

std::string ClosestName(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  // A prefix of a longer name ("budget" for "budget_seconds") is a strong hint.
  if (word.size() >= 3) {
    for (const auto& c : candidates)
      if (c.size() > word.size() && c.compare(0, word.size(), word) == 0) return c;
  }
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

Status CheckParamValue(const OptimizerInfo& opt, const ParamInfo& p, double v) {
  std::string where = "optimizers." + opt.name + "." + p.name;
  if (!std::isfinite(v)) return Status::InvalidArgument(where + ": value must be finite");
  if (p.boolean) {
    if (v != 0 && v != 1)
      return Status::InvalidArgument(where + ": expected true or false, got " + FormatNumber(v));
    return Status::OK();
  }
  bool low_ok = p.min_inclusive ? v >= p.min : v > p.min;
  bool high_ok = p.max_inclusive ? v <= p.max : v < p.max;
  if (!low_ok || !high_ok) {
    std::string range = std::string(p.min_inclusive ? "[" : "(") + FormatNumber(p.min) + ", " +
                        (std::isinf(p.max) ? "inf" : FormatNumber(p.max)) +
                        (p.max_inclusive ? "]" : ")");
    return Status::InvalidArgument(where + ": " + FormatNumber(v) + " is outside the valid range " +
                                   range);
  }
  return Status::OK();
}

Status ResolveParams(const std::string& optimizer, const std::map<std::string, double>& given,
                     std::map<std::string, double>* full) {
  const OptimizerInfo* opt = FindOptimizer(optimizer);
  if (opt == nullptr)
    return Status::InvalidArgument("unknown optimizer '" + optimizer + "' (known: " +
                                   OptimizerNameList() + ")");
  full->clear();
  for (const auto& p : opt->params) (*full)[p.name] = p.default_value;
  for (const auto& [name, value] : given) {
    const ParamInfo* p = opt->FindParam(name);
    if (p == nullptr)
      return Status::InvalidArgument("optimizer '" + optimizer + "' has no parameter '" + name +
                                     "'");
    GS_RETURN_IF_ERROR(CheckParamValue(*opt, *p, value));
    (*full)[name] = value;
  }
  return Status::OK();
}

}  // namespace gridsearch
