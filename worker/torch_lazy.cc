// The trainer's and the devices' API (worker/trainer.h, worker/devices.h)
// without LibTorch: each call loads the plugin (worker/torch_plugin.h) on
// first use and forwards to it. Linked into `gridsearch` instead of the
// trainer itself.
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <string>

#include "worker/devices.h"
#include "worker/torch_plugin.h"
#include "worker/trainer.h"

namespace gridsearch {
namespace {

constexpr const char* kPluginFile = "libgridsearch_torch.so";

std::string ExecutableDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, n);
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

// One attempt per process: its outcome (the table, or why there is none).
struct Loaded {
  const TorchPluginApi* api = nullptr;
  Status status;
};

Loaded Load() {
  Loaded out;
  std::vector<std::string> candidates = {ExecutableDir() + kPluginFile};
#ifdef GRIDSEARCH_TORCH_PLUGIN_PATH
  candidates.push_back(GRIDSEARCH_TORCH_PLUGIN_PATH);
#endif
  std::string errors;
  for (const auto& path : candidates) {
    if (access(path.c_str(), F_OK) != 0) {
      errors += (errors.empty() ? "" : "; ") + path + ": not found";
      continue;
    }
    // Global, as if linked: LibTorch looks its BLAS up by name
    // (openblas_set_num_threads) in the process's global scope.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      errors += (errors.empty() ? "" : "; ") + path + ": " + (e ? e : "cannot be loaded");
      continue;
    }
    using Entry = const TorchPluginApi* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, GRIDSEARCH_TORCH_PLUGIN_ENTRY));
    const TorchPluginApi* api = entry != nullptr ? entry() : nullptr;
    if (api == nullptr || api->abi != kTorchPluginAbi || api->layout != TorchPluginLayout()) {
      errors += (errors.empty() ? "" : "; ") + path + ": from another build of gridsearch";
      continue;  // stays loaded: unloading LibTorch is not safe
    }
    out.api = api;
    return out;
  }
  out.status = Status::FailedPrecondition(
      "LibTorch's side of gridsearch (" + std::string(kPluginFile) +
      ", which belongs beside the gridsearch binary) cannot be loaded: " + errors);
  return out;
}

}  // namespace

Status LoadTorchPlugin(const TorchPluginApi** api) {
  static const Loaded loaded = Load();  // thread-safe, once
  *api = loaded.api;
  return loaded.status;
}

// --- worker/trainer.h ---

struct Trainer::Impl {
  TrainerOptions options;
  const TorchPluginApi* api = nullptr;
  void* trainer = nullptr;   // the plugin's Trainer
  Status load_status;
};

Trainer::Trainer(TrainerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->load_status = LoadTorchPlugin(&impl_->api);
  if (impl_->load_status.ok()) impl_->trainer = impl_->api->new_trainer(impl_->options);
}

Trainer::~Trainer() {
  if (impl_->trainer != nullptr) impl_->api->delete_trainer(impl_->trainer);
}

Status Trainer::Run(const JobSpec& job, const CurveSink& sink, JobResult* result) {
  if (impl_->trainer == nullptr) {
    *result = JobResult();
    result->device = DeviceName();
    result->software = SoftwareVersion();
    return impl_->load_status;
  }
  return impl_->api->run(impl_->trainer, job, sink, result);
}

std::string Trainer::DeviceName() const {
  if (impl_->trainer == nullptr) return impl_->options.device;
  return impl_->api->device_name(impl_->trainer);
}

std::string Trainer::SoftwareVersion() {
  const TorchPluginApi* api = nullptr;
  if (!LoadTorchPlugin(&api).ok()) return "libtorch (libgridsearch_torch.so not loaded)";
  return api->software_version();
}

void KeepFreedMemoryForTraining() {
  const TorchPluginApi* api = nullptr;
  if (LoadTorchPlugin(&api).ok()) api->keep_freed_memory();
}

// --- worker/devices.h ---

int CudaDeviceCount() {
  const TorchPluginApi* api = nullptr;
  if (!LoadTorchPlugin(&api).ok()) return 0;
  return api->cuda_device_count();
}

Status CanonicalDevice(const std::string& device, std::string* canonical) {
  const TorchPluginApi* api = nullptr;
  GS_RETURN_IF_ERROR(LoadTorchPlugin(&api));
  return api->canonical_device(device, canonical);
}

Status ResolveDevices(const std::string& spec, std::vector<std::string>* devices) {
  const TorchPluginApi* api = nullptr;
  GS_RETURN_IF_ERROR(LoadTorchPlugin(&api));
  return api->resolve_devices(spec, devices);
}

}  // namespace gridsearch
