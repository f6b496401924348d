#include "worker/devices.h"

#include <torch/cuda.h>

#include <cstdlib>

namespace gridsearch {
namespace {

// More processes than this on one machine is a typo, not a plan.
constexpr size_t kMaxDevices = 256;

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

}  // namespace

int CudaDeviceCount() {
  try {
    if (!torch::cuda::is_available()) return 0;
    return static_cast<int>(torch::cuda::device_count());
  } catch (const std::exception&) {
    return 0;
  }
}

Status CanonicalDevice(const std::string& device, std::string* canonical) {
  if (device == "cpu") {
    *canonical = "cpu";
    return Status::OK();
  }
  std::string index;
  if (device == "cuda") {
    index = "0";
  } else if (device.rfind("cuda:", 0) == 0) {
    index = device.substr(5);
  } else {
    return Status::InvalidArgument("device '" + device + "': expected cpu, cuda or cuda:N");
  }
  if (!AllDigits(index))
    return Status::InvalidArgument("device '" + device + "': expected cpu, cuda or cuda:N");
  const int count = CudaDeviceCount();
  if (count == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    return Status::FailedPrecondition(
        "device '" + device + "': no CUDA device is visible (this LibTorch build has " +
        (torch::cuda::is_available() ? std::string("CUDA") : std::string("no CUDA")) +
        (visible != nullptr ? std::string(", CUDA_VISIBLE_DEVICES=") + visible : std::string()) +
        ")");
  }
  const int n = std::atoi(index.c_str());
  if (n >= count)
    return Status::InvalidArgument("device '" + device + "': only " + std::to_string(count) +
                                   " CUDA device(s) visible (cuda:0 to cuda:" +
                                   std::to_string(count - 1) + ")");
  *canonical = "cuda:" + std::to_string(n);
  return Status::OK();
}

Status ResolveDevices(const std::string& spec, std::vector<std::string>* devices) {
  devices->clear();
  const std::string all = Trim(spec);
  if (all == "all") {
    const int count = CudaDeviceCount();
    if (count == 0) {
      devices->push_back("cpu");
    } else {
      for (int i = 0; i < count; ++i) devices->push_back("cuda:" + std::to_string(i));
    }
    return Status::OK();
  }
  if (all.empty()) return Status::InvalidArgument("--devices is empty: give all or a list");
  size_t begin = 0;
  while (true) {
    const size_t comma = all.find(',', begin);
    const std::string item =
        Trim(all.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin));
    if (item.empty())
      return Status::InvalidArgument("--devices '" + spec + "' has an empty entry");
    std::string canonical;
    GS_RETURN_IF_ERROR(CanonicalDevice(item, &canonical));
    devices->push_back(canonical);
    if (devices->size() > kMaxDevices)
      return Status::InvalidArgument("--devices lists more than " + std::to_string(kMaxDevices) +
                                     " devices");
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return Status::OK();
}

}  // namespace gridsearch
