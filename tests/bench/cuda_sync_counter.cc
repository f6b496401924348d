// cuda_sync_counter: counts the CUDA runtime calls that make the host wait
// for the device (or may), in any program that reaches the runtime through
// a shared libcudart, as LibTorch does:
//
//   GRIDSEARCH_SYNC_COUNT_FILE=counts.json \
//   LD_PRELOAD=build/tests/bench/libgs_cuda_sync_counter.so \
//   build-trainer/cli/gridsearch-train job.json --device cuda:0 --max-steps 40
//
// Preloaded, its functions stand in front of the runtime's: each counts its
// call and passes it on (found with dlsym(RTLD_NEXT)). At exit the counts go
// to GRIDSEARCH_SYNC_COUNT_FILE as one JSON object, or to standard error
// without it. Two runs that differ only in their number of steps tell how
// many of each call a step makes (tests/bench/gpu_check.sh does this):
//
//   cudaDeviceSynchronize, cudaStreamSynchronize, cudaEventSynchronize,
//   cudaMemcpy (synchronous)      the host waits: a step should make none
//   cudaMemcpyAsync_to_host        a copy to the host (LibTorch follows it
//                                  with a stream synchronisation)
//   cudaMalloc, cudaFree, cudaHostAlloc, cudaFreeHost
//                                  may synchronise; none in a steady state
//   cudaEventQuery                 polls, no wait (the trainer's step fence)
//
// "calls" counts every wrapped call, so that a LibTorch that links the
// runtime statically (nothing reaches these wrappers) reads as 0 calls, not
// as 0 synchronisations.
//
// No CUDA headers: the runtime's types are passed through as the pointers
// and integers they are on every platform LibTorch supports, and the
// functions have C linkage, as the runtime's do.
#include <dlfcn.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace {

enum {
  kDeviceSynchronize,
  kStreamSynchronize,
  kEventSynchronize,
  kMemcpy,
  kMemcpyAsyncToHost,
  kMalloc,
  kFree,
  kHostAlloc,
  kFreeHost,
  kEventQuery,
  kCalls,
  kCounters
};

const char* const kNames[kCounters] = {
    "cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventSynchronize",
    "cudaMemcpy",            "cudaMemcpyAsync_to_host", "cudaMalloc",
    "cudaFree",              "cudaHostAlloc",         "cudaFreeHost",
    "cudaEventQuery",        "calls"};

// cudaMemcpyKind: cudaMemcpyDeviceToHost.
enum { kDeviceToHost = 2 };

std::atomic<long long> counts[kCounters];

void Count(int which) {
  counts[which].fetch_add(1, std::memory_order_relaxed);
  counts[kCalls].fetch_add(1, std::memory_order_relaxed);
}

void* Next(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "cuda_sync_counter: no %s after this library: %s\n", name, dlerror());
    std::abort();
  }
  return f;
}

// The runtime's function behind each wrapper, looked up on its first call
// (a function-local static: initialised once, thread-safely).
#define NEXT(type, name) static const auto next = reinterpret_cast<type>(Next(name))

void Report();

// Writes the counts when the program exits.
struct Reporter {
  ~Reporter() { Report(); }
} reporter;

}  // namespace

extern "C" {

int cudaDeviceSynchronize(void) {
  NEXT(int (*)(void), "cudaDeviceSynchronize");
  Count(kDeviceSynchronize);
  return next();
}

int cudaStreamSynchronize(void* stream) {
  NEXT(int (*)(void*), "cudaStreamSynchronize");
  Count(kStreamSynchronize);
  return next(stream);
}

int cudaEventSynchronize(void* event) {
  NEXT(int (*)(void*), "cudaEventSynchronize");
  Count(kEventSynchronize);
  return next(event);
}

int cudaEventQuery(void* event) {
  NEXT(int (*)(void*), "cudaEventQuery");
  Count(kEventQuery);
  return next(event);
}

int cudaMemcpy(void* dst, const void* src, size_t bytes, int kind) {
  NEXT(int (*)(void*, const void*, size_t, int), "cudaMemcpy");
  Count(kMemcpy);
  return next(dst, src, bytes, kind);
}

int cudaMemcpyAsync(void* dst, const void* src, size_t bytes, int kind, void* stream) {
  NEXT(int (*)(void*, const void*, size_t, int, void*), "cudaMemcpyAsync");
  if (kind == kDeviceToHost)
    Count(kMemcpyAsyncToHost);
  else
    counts[kCalls].fetch_add(1, std::memory_order_relaxed);
  return next(dst, src, bytes, kind, stream);
}

int cudaMalloc(void** ptr, size_t bytes) {
  NEXT(int (*)(void**, size_t), "cudaMalloc");
  Count(kMalloc);
  return next(ptr, bytes);
}

int cudaFree(void* ptr) {
  NEXT(int (*)(void*), "cudaFree");
  Count(kFree);
  return next(ptr);
}

int cudaHostAlloc(void** ptr, size_t bytes, unsigned int flags) {
  NEXT(int (*)(void**, size_t, unsigned int), "cudaHostAlloc");
  Count(kHostAlloc);
  return next(ptr, bytes, flags);
}

int cudaFreeHost(void* ptr) {
  NEXT(int (*)(void*), "cudaFreeHost");
  Count(kFreeHost);
  return next(ptr);
}

}  // extern "C"

namespace {

void Report() {
  const char* path = std::getenv("GRIDSEARCH_SYNC_COUNT_FILE");
  std::FILE* out = path != nullptr && *path != '\0' ? std::fopen(path, "w") : stderr;
  if (out == nullptr) {
    std::fprintf(stderr, "cuda_sync_counter: cannot write %s\n", path);
    out = stderr;
  }
  std::fputc('{', out);
  for (int i = 0; i < kCounters; ++i)
    std::fprintf(out, "%s\"%s\": %lld", i == 0 ? "" : ", ", kNames[i], counts[i].load());
  std::fputs("}\n", out);
  if (out != stderr) std::fclose(out);
}

}  // namespace
