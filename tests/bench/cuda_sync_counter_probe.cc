// Calls the fake runtime's functions (fake_cuda_runtime.cc) a known number
// of times and checks what comes back; cuda_sync_counter_test.sh runs it with
// and without the counter preloaded and compares the counts it wrote. Built
// with GS_REAL_CUDA_RUNTIME it calls the real CUDA runtime instead, where
// without a GPU every call fails: only the counts are checked then.
#include <cstddef>
#include <cstdio>

extern "C" {
int cudaDeviceSynchronize(void);
int cudaStreamSynchronize(void*);
int cudaEventSynchronize(void*);
int cudaEventQuery(void*);
int cudaMemcpy(void*, const void*, size_t, int);
int cudaMemcpyAsync(void*, const void*, size_t, int, void*);
int cudaMalloc(void**, size_t);
int cudaFree(void*);
int cudaHostAlloc(void**, size_t, unsigned int);
int cudaFreeHost(void*);
}

#ifdef GS_REAL_CUDA_RUNTIME
constexpr bool kCheckResults = false;  // without a GPU every call fails
#else
constexpr bool kCheckResults = true;
#endif

int main() {
  int failures = 0;
  auto expect = [&failures](bool ok, const char* what) {
    if (!ok && kCheckResults) {
      std::fprintf(stderr, "cuda_sync_counter_probe: %s\n", what);
      ++failures;
    }
  };
  expect(cudaDeviceSynchronize() == 0, "cudaDeviceSynchronize");
  for (int i = 0; i < 3; ++i) expect(cudaStreamSynchronize(nullptr) == 0, "cudaStreamSynchronize");
  for (int i = 0; i < 2; ++i) expect(cudaEventSynchronize(nullptr) == 0, "cudaEventSynchronize");
  for (int i = 0; i < 5; ++i) expect(cudaEventQuery(nullptr) == 600, "cudaEventQuery's code");
  expect(cudaMemcpy(nullptr, nullptr, 0, 2) == 2, "cudaMemcpy's code");
  // Two copies to the host (kind 2), one to the device (kind 1).
  expect(cudaMemcpyAsync(nullptr, nullptr, 0, 2, nullptr) == 12, "cudaMemcpyAsync's code");
  expect(cudaMemcpyAsync(nullptr, nullptr, 0, 2, nullptr) == 12, "cudaMemcpyAsync's code");
  expect(cudaMemcpyAsync(nullptr, nullptr, 0, 1, nullptr) == 11, "cudaMemcpyAsync's code");
  void* p = nullptr;
  expect(cudaMalloc(&p, 16) == 0 && p != nullptr, "cudaMalloc's pointer");
  expect(cudaFree(p) == 0, "cudaFree");
  p = nullptr;
  expect(cudaHostAlloc(&p, 16, 3) == 3 && p != nullptr, "cudaHostAlloc's flags and pointer");
  expect(cudaFreeHost(p) == 0, "cudaFreeHost");
  return failures == 0 ? 0 : 1;
}
