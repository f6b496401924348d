// `gridsearch models`: the catalog with each network's parameter count for
// CIFAR-10 input. The only CLI file that needs torch (it builds each model to
// count its parameters), so it is a target of its own.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/catalog.h"
#include "models/models.h"

namespace gridsearch {

int RunModelsCommand(const std::string& format) {
  std::vector<ModelDescription> models;
  Status s = DescribeModels(&models);
  if (!s.ok()) {
    std::fprintf(stderr, "gridsearch: models: %s\n", s.ToString().c_str());
    return kExitError;
  }
  if (format == "json") {
    nlohmann::json j;
    for (const auto& m : models)
      j["models"].push_back({{"name", m.name},
                             {"help", m.help},
                             {"cifar10_parameters", m.cifar10_parameters},
                             {"input_shapes", m.input_shapes},
                             {"published_parameters", m.published_parameters},
                             {"published_source", m.published_source}});
    for (const auto& d : Datasets())
      j["datasets"].push_back(
          {{"name", d.name}, {"help", d.help}, {"default_path", d.default_path}});
    for (const auto& o : Optimizers()) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : o.params)
        params.push_back({{"name", p.name}, {"default", p.default_value}, {"help", p.help}});
      j["optimizers"].push_back({{"name", o.name}, {"help", o.help}, {"params", params}});
    }
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "models (parameters for CIFAR-10 input, 3x32x32, 10 classes):\n";
  for (const auto& m : models) {
    std::printf("  %-16s %10lld  %s\n", m.name.c_str(), static_cast<long long>(m.cifar10_parameters),
                m.help.c_str());
    std::printf("  %-16s %10s  inputs: %s\n", "", "", m.input_shapes.c_str());
  }
  std::cout << "data sets:\n";
  for (const auto& d : Datasets())
    std::printf("  %-14s %s%s\n", d.name.c_str(), d.help.c_str(),
                d.default_path.empty() ? "" : (" [" + d.default_path + "]").c_str());
  std::cout << "optimizers:\n";
  for (const auto& o : Optimizers()) {
    std::printf("  %-8s %s\n", o.name.c_str(), o.help.c_str());
    for (const auto& p : o.params)
      std::printf("      %-28s default %-8g %s\n", p.name.c_str(), p.default_value, p.help.c_str());
  }
  return kExitOk;
}

}  // namespace gridsearch
