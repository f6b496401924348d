#include "models/models.h"

#include <torch/torch.h>

#include <exception>

#include "common/catalog.h"

namespace gridsearch {
namespace {

// Hidden layer widths of the mlp.
constexpr int64_t kMlpHidden1 = 256;
constexpr int64_t kMlpHidden2 = 128;

torch::nn::Sequential LogReg(int64_t inputs, int64_t classes) {
  return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(inputs, classes));
}

torch::nn::Sequential Mlp(int64_t inputs, int64_t classes) {
  return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(inputs, kMlpHidden1),
                               torch::nn::ReLU(), torch::nn::Linear(kMlpHidden1, kMlpHidden2),
                               torch::nn::ReLU(), torch::nn::Linear(kMlpHidden2, classes));
}

}  // namespace

Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, torch::nn::Sequential* out) {
  if (FindModel(name) == nullptr)
    return Status::InvalidArgument("unknown model '" + name + "' (known: " + ModelNameList() +
                                   ")");
  if (input_shape.empty())
    return Status::InvalidArgument("model '" + name + "': empty input shape");
  int64_t inputs = 1;
  for (int64_t d : input_shape) {
    if (d <= 0)
      return Status::InvalidArgument("model '" + name + "': input dimension " +
                                     std::to_string(d) + " is not positive");
    inputs *= d;
  }
  if (num_classes < 2)
    return Status::InvalidArgument("model '" + name + "': needs at least 2 classes, got " +
                                   std::to_string(num_classes));
  try {
    if (name == "logreg") {
      *out = LogReg(inputs, num_classes);
    } else if (name == "mlp") {
      *out = Mlp(inputs, num_classes);
    } else {
      return Status::Internal("model '" + name + "' is in the catalog but has no builder");
    }
  } catch (const c10::Error& e) {
    return Status::Internal("building model '" + name + "': " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return Status::Internal("building model '" + name + "': " + e.what());
  }
  return Status::OK();
}

}  // namespace gridsearch
