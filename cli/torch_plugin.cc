// libgridsearch_torch.so: the LibTorch side of `gridsearch` (see
// worker/torch_plugin.h), the real trainer, devices and torch subcommands
// behind one table of functions.
#include "cli/commands.h"
#include "cli/train_command.h"
#include "worker/devices.h"
#include "worker/torch_plugin.h"
#include "worker/trainer.h"

namespace gridsearch {
namespace {

TorchPluginApi MakeApi() {
  TorchPluginApi api;
  api.new_trainer = [](const TrainerOptions& options) -> void* { return new Trainer(options); };
  api.delete_trainer = [](void* trainer) { delete static_cast<Trainer*>(trainer); };
  api.run = [](void* trainer, const JobSpec& job, const CurveSink& sink, JobResult* result) {
    return static_cast<Trainer*>(trainer)->Run(job, sink, result);
  };
  api.device_name = [](const void* trainer) {
    return static_cast<const Trainer*>(trainer)->DeviceName();
  };
  api.software_version = [] { return Trainer::SoftwareVersion(); };
  api.keep_freed_memory = [] { KeepFreedMemoryForTraining(); };
  api.cuda_device_count = [] { return CudaDeviceCount(); };
  api.canonical_device = [](const std::string& device, std::string* canonical) {
    return CanonicalDevice(device, canonical);
  };
  api.resolve_devices = [](const std::string& spec, std::vector<std::string>* devices) {
    return ResolveDevices(spec, devices);
  };
  api.run_train_main = [](int argc, char** argv) { return RunTrainMain(argc, argv); };
  api.run_models_command = [](const std::string& format) { return RunModelsCommand(format); };
  return api;
}

}  // namespace
}  // namespace gridsearch

extern "C" __attribute__((visibility("default"))) const gridsearch::TorchPluginApi*
gridsearch_torch_plugin_api() {
  static const gridsearch::TorchPluginApi api = gridsearch::MakeApi();
  return &api;
}
