// The networks a job can train, built as torch::nn::Sequential so the trainer
// drives every model the same way (forward gives logits [batch, classes]).
//
// Names come from common/catalog.h Models():
//   logreg  Flatten -> Linear(inputs, classes): multinomial logistic regression;
//   mlp     Flatten -> Linear(inputs, 256) -> ReLU -> Linear(256, 128) -> ReLU
//           -> Linear(128, classes).
// Weights use LibTorch's default initialisation, drawn from the global RNG:
// seed it (torch::manual_seed) first for reproducible weights.
//
// MakeModel returns OK and sets *out to a fresh model on the CPU, or
// InvalidArgument (unknown name, listing the known ones; empty or
// non-positive shape; fewer than two classes). It never throws.
#ifndef GRIDSEARCH_MODELS_MODELS_H_
#define GRIDSEARCH_MODELS_MODELS_H_

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

// input_shape excludes the batch dimension, e.g. {1, 28, 28}.
Status MakeModel(const std::string& name, const std::vector<int64_t>& input_shape,
                 int64_t num_classes, torch::nn::Sequential* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_MODELS_H_
