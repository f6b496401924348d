#include "cli/worker_processes.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

namespace gridsearch {
namespace {

// Our CUDA_VISIBLE_DEVICES as a list; when unset, devices 0..count-1.
std::vector<std::string> VisibleCudaDevices(size_t count) {
  std::vector<std::string> ids;
  if (const char* env = std::getenv("CUDA_VISIBLE_DEVICES"); env != nullptr) {
    std::stringstream in(env);
    std::string id;
    while (std::getline(in, id, ','))
      if (!id.empty()) ids.push_back(id);
  }
  if (ids.empty())
    for (size_t i = 0; i < count; ++i) ids.push_back(std::to_string(i));
  return ids;
}

}  // namespace

int UsableCores() {
  // The cores this process may run on: a Slurm or container allocation
  // narrows them, and hardware_concurrency() would count the whole machine.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int DefaultThreadsPerProcess(int processes) {
  return std::max(1, UsableCores() / std::max(1, processes));
}

std::vector<SupervisedProcess> WorkerProcesses(const std::vector<std::string>& devices,
                                               const WorkerProcessFlags& flags) {
  const int threads = flags.threads > 0 ? flags.threads
                                        : DefaultThreadsPerProcess(static_cast<int>(devices.size()));
  std::map<std::string, int> uses;
  for (const auto& d : devices) ++uses[d];
  std::map<std::string, int> seen;
  int cpu_index = 0;
  size_t max_cuda = 0;
  for (const auto& d : devices)
    if (d.rfind("cuda:", 0) == 0) max_cuda = std::max<size_t>(max_cuda, std::stoul(d.substr(5)) + 1);
  const std::vector<std::string> visible = VisibleCudaDevices(max_cuda);

  std::vector<SupervisedProcess> out;
  for (const auto& device : devices) {
    SupervisedProcess p;
    std::string slot;
    std::string child_device = device;
    if (device == "cpu") {
      slot = "cpu" + std::to_string(cpu_index++);
    } else {
      const size_t index = std::stoul(device.substr(5));
      slot = "cuda" + std::to_string(index);
      if (uses[device] > 1) slot += "-" + std::to_string(seen[device]++);
      p.env.emplace_back("CUDA_VISIBLE_DEVICES", index < visible.size() ? visible[index]
                                                                        : std::to_string(index));
      child_device = "cuda:0";
    }
    const std::string id = flags.worker_id_base + "-" + slot;
    p.name = device == "cpu" ? "cpu#" + slot.substr(3) : device;
    p.args = {"worker", "--coordinator", flags.coordinator, "--device", child_device,
              "--threads", std::to_string(threads), "--worker-id", id};
    if (!flags.token_file.empty()) p.args.insert(p.args.end(), {"--token-file", flags.token_file});
    if (!flags.tls_ca.empty()) p.args.insert(p.args.end(), {"--tls-ca", flags.tls_ca});
    if (flags.max_jobs > 0)
      p.args.insert(p.args.end(), {"--max-jobs", std::to_string(flags.max_jobs)});
    if (flags.exit_when_idle_seconds > 0) {
      std::ostringstream s;
      s << flags.exit_when_idle_seconds;
      p.args.insert(p.args.end(), {"--exit-when-idle", s.str()});
    }
    if (flags.max_steps > 0)
      p.args.insert(p.args.end(), {"--max-steps", std::to_string(flags.max_steps)});
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace gridsearch
