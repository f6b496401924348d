// The LibTorch side of the `gridsearch` binary, loaded on first use.
//
// Loading LibTorch costs a process about half a second of start-up (its
// operator registry) and 160 MB of memory, which the coordinator and every
// query command (status, results, plot...) would pay without using it. So
// `gridsearch` links no LibTorch: the trainer, the device checks and the two
// torch subcommands (`train`, `models`) are built into a plugin,
// libgridsearch_torch.so beside the binary, which the functions of
// worker/trainer.h and worker/devices.h (as linked into gridsearch, from
// worker/torch_lazy.cc) load on their first call. Every other executable
// (gridsearch-train, the tests, the benchmarks) links the trainer directly.
//
// The plugin and the binary come from one build: the table below is checked
// (its ABI number and the sizes of the types it passes) before it is used.
#ifndef GRIDSEARCH_WORKER_TORCH_PLUGIN_H_
#define GRIDSEARCH_WORKER_TORCH_PLUGIN_H_

#include <cstddef>
#include <string>
#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "worker/trainer.h"

namespace gridsearch {

// Raised whenever TorchPluginApi or a type it passes changes meaning.
constexpr int kTorchPluginAbi = 1;

// The sizes of the types that cross between the binary and the plugin, as
// each side was compiled: a plugin from another build is refused.
constexpr size_t TorchPluginLayout() {
  return sizeof(TrainerOptions) * 1000003 + sizeof(JobSpec) * 10007 + sizeof(JobResult) * 101 +
         sizeof(Status) + sizeof(CurvePoint) * 7 + sizeof(std::string) * 13;
}

struct TorchPluginApi {
  int abi = kTorchPluginAbi;
  size_t layout = TorchPluginLayout();
  // Trainer (worker/trainer.h); the pointer is an opaque Trainer*.
  void* (*new_trainer)(const TrainerOptions& options) = nullptr;
  void (*delete_trainer)(void* trainer) = nullptr;
  Status (*run)(void* trainer, const JobSpec& job, const CurveSink& sink,
                JobResult* result) = nullptr;
  std::string (*device_name)(const void* trainer) = nullptr;
  std::string (*software_version)() = nullptr;
  void (*keep_freed_memory)() = nullptr;
  // worker/devices.h
  int (*cuda_device_count)() = nullptr;
  Status (*canonical_device)(const std::string& device, std::string* canonical) = nullptr;
  Status (*resolve_devices)(const std::string& spec, std::vector<std::string>* devices) = nullptr;
  // The torch subcommands (cli/train_command.h, cli/commands.h).
  int (*run_train_main)(int argc, char** argv) = nullptr;
  int (*run_models_command)(const std::string& format) = nullptr;
};

// The plugin's one exported symbol.
#define GRIDSEARCH_TORCH_PLUGIN_ENTRY "gridsearch_torch_plugin_api"

// Loads the plugin (once per process; later calls return the same answer):
// libgridsearch_torch.so from the directory of the running executable, else
// from the build tree it was built in. FailedPrecondition, naming the file
// and the loader's message, when it is missing or from another build.
Status LoadTorchPlugin(const TorchPluginApi** api);

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_TORCH_PLUGIN_H_
