// The torch subcommands of `gridsearch` (train, models), forwarded to the
// LibTorch plugin (worker/torch_plugin.h), loaded when one of them runs.
#include <cstdio>

#include "cli/commands.h"
#include "cli/train_command.h"
#include "worker/torch_plugin.h"

namespace gridsearch {
namespace {

const TorchPluginApi* PluginOrReport(const char* command) {
  const TorchPluginApi* api = nullptr;
  Status s = LoadTorchPlugin(&api);
  if (!s.ok()) std::fprintf(stderr, "gridsearch: %s: %s\n", command, s.ToString().c_str());
  return api;
}

}  // namespace

int RunTrainMain(int argc, char** argv) {
  const TorchPluginApi* api = PluginOrReport("train");
  return api != nullptr ? api->run_train_main(argc, argv) : kExitError;
}

int RunModelsCommand(const std::string& format) {
  const TorchPluginApi* api = PluginOrReport("models");
  return api != nullptr ? api->run_models_command(format) : kExitError;
}

}  // namespace gridsearch
