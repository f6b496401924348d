// The device the torch tests compute on, so that one test suite verifies a
// CPU build and a CUDA build alike:
//
//   ctest --test-dir build -L torch                            # the CPU
//   GRIDSEARCH_TEST_DEVICE=cuda ctest --test-dir build -L torch   # cuda:0
//
// GRIDSEARCH_TEST_DEVICE is "cpu" (the default when unset or empty), "cuda"
// (cuda:0) or "cuda:N". A device that this LibTorch or machine does not have
// stops the test program with a message naming it: a request for a GPU
// never quietly runs on the CPU.
#ifndef GRIDSEARCH_TESTS_TEST_DEVICE_H_
#define GRIDSEARCH_TESTS_TEST_DEVICE_H_

#include <torch/cuda.h>
#include <torch/types.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace gridsearch {

inline const torch::Device& TestDevice() {
  static const torch::Device device = [] {
    const char* env = std::getenv("GRIDSEARCH_TEST_DEVICE");
    const std::string name = env != nullptr && *env != '\0' ? env : "cpu";
    auto fail = [&name](const std::string& why) {
      std::fprintf(stderr, "GRIDSEARCH_TEST_DEVICE=%s: %s\n", name.c_str(), why.c_str());
      std::exit(2);
    };
    if (name != "cpu" && name.rfind("cuda", 0) != 0) fail("expected cpu, cuda or cuda:N");
    torch::Device d(torch::kCPU);
    try {
      d = torch::Device(name);
    } catch (const c10::Error&) {
      fail("expected cpu, cuda or cuda:N");
    }
    if (d.is_cuda()) {
      if (!torch::cuda::is_available()) fail("this LibTorch or machine has no CUDA device");
      if (!d.has_index()) d = torch::Device(torch::kCUDA, 0);
      if (d.index() >= static_cast<int>(torch::cuda::device_count()))
        fail("only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    }
    return d;
  }();
  return device;
}

// Its name as the trainer's options and results spell it ("cpu", "cuda:0").
inline std::string TestDeviceName() { return TestDevice().str(); }

// Tensor options of `dtype` on the test device.
inline torch::TensorOptions OnTestDevice(torch::ScalarType dtype) {
  return torch::dtype(dtype).device(TestDevice());
}

}  // namespace gridsearch

#endif  // GRIDSEARCH_TESTS_TEST_DEVICE_H_
