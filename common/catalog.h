// The torch-free catalog of what a sweep spec may name: optimizers with their
// hyperparameters (defaults, valid ranges, aliases), models and data sets.
// The coordinator validates specs against it; the worker's factories read
// their defaults from it, so both sides agree without the coordinator
// linking LibTorch.
#ifndef GRIDSEARCH_COMMON_CATALOG_H_
#define GRIDSEARCH_COMMON_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

struct ParamInfo {
  std::string name;
  double default_value = 0;
  double min = 0;              // lower bound of the valid range
  double max = 0;              // upper bound of the valid range
  bool min_inclusive = true;
  bool max_inclusive = true;
  bool boolean = false;        // accepts true/false (stored as 1/0)
  std::string help;
};

// Another spelling of a parameter. `reciprocal` converts value v to 1/v.
struct ParamAlias {
  std::string alias;
  std::string canonical;
  bool reciprocal = false;
};

struct OptimizerInfo {
  std::string name;
  std::string help;
  std::vector<ParamInfo> params;   // in the order used for grid expansion
  std::vector<ParamAlias> aliases;
  const ParamInfo* FindParam(const std::string& name) const;
};

struct ModelInfo {
  std::string name;
  std::string help;
};

struct DatasetInfo {
  std::string name;
  std::string help;
  std::string default_path;  // where its files usually are; empty: none
  bool needs_files = true;   // false: generated (synthetic)
  bool has_test_split = true;
};

const std::vector<OptimizerInfo>& Optimizers();
const std::vector<ModelInfo>& Models();
const std::vector<DatasetInfo>& Datasets();

// nullptr when unknown.
const OptimizerInfo* FindOptimizer(const std::string& name);
const ModelInfo* FindModel(const std::string& name);
const DatasetInfo* FindDataset(const std::string& name);

// "a, b, c" of the catalog's names, for error messages.
std::string OptimizerNameList();
std::string ModelNameList();
std::string DatasetNameList();

// The closest of `candidates` to `word` within a small edit distance, or "".
std::string ClosestName(const std::string& word, const std::vector<std::string>& candidates);

// Checks one value against a parameter's range. The message names the
// optimizer, the parameter and the value.
Status CheckParamValue(const OptimizerInfo& opt, const ParamInfo& param, double value);

// Returns every parameter of `optimizer` with the values in `given` and the
// catalog's defaults for the rest. Unknown names are an InvalidArgument.
Status ResolveParams(const std::string& optimizer, const std::map<std::string, double>& given,
                     std::map<std::string, double>* full);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_CATALOG_H_
