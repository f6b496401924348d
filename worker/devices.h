// The devices a worker trains on: "cpu", "cuda:N" and lists of them, checked
// against what this LibTorch build and machine have before anything starts.
// The header is torch-free; the answers come from LibTorch.
#ifndef GRIDSEARCH_WORKER_DEVICES_H_
#define GRIDSEARCH_WORKER_DEVICES_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

// CUDA devices this process can see (CUDA_VISIBLE_DEVICES is respected); 0
// without CUDA, in the build or on the machine.
int CudaDeviceCount();

// Checks one device and writes its canonical name ("cpu", "cuda:N"; plain
// "cuda" is "cuda:0"). InvalidArgument names the device when it is not one
// of those or its index is out of range; FailedPrecondition when it is CUDA
// and this build or machine has none.
Status CanonicalDevice(const std::string& device, std::string* canonical);

// Resolves a --devices value: "all" is every visible CUDA device, or "cpu"
// where there is none; otherwise a comma-separated list ("cuda:0,cuda:2",
// "cpu,cpu") taken as written, each device checked with CanonicalDevice.
// An empty list or entry is an InvalidArgument.
Status ResolveDevices(const std::string& spec, std::vector<std::string>* devices);

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_DEVICES_H_
