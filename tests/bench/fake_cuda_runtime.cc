// A stand-in for the CUDA runtime's synchronising functions, for
// cuda_sync_counter_test on machines without CUDA: each returns a code of
// its own (and cudaMalloc / cudaHostAlloc a pointer), so that the probe can
// tell that a preloaded counter passed the call on to the function behind it.
#include <cstddef>

extern "C" {

int cudaDeviceSynchronize(void) { return 0; }
int cudaStreamSynchronize(void*) { return 0; }
int cudaEventSynchronize(void*) { return 0; }
int cudaEventQuery(void*) { return 600; }  // cudaErrorNotReady
int cudaMemcpy(void*, const void*, size_t, int kind) { return kind; }
int cudaMemcpyAsync(void*, const void*, size_t, int kind, void*) { return 10 + kind; }
int cudaMalloc(void** ptr, size_t) {
  static int block;
  *ptr = &block;
  return 0;
}
int cudaFree(void*) { return 0; }
int cudaHostAlloc(void** ptr, size_t, unsigned int flags) {
  static int block;
  *ptr = &block;
  return static_cast<int>(flags);
}
int cudaFreeHost(void*) { return 0; }

}  // extern "C"
