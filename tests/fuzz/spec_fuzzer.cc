// libFuzzer target for the sweep spec parser and validator. Beyond "no crash,
// no sanitizer report", it checks invariants on every input:
// - a refused spec comes with a message;
// - an accepted spec expands to exactly CountConfigurations() configurations,
//   all distinct;
// - its canonical JSON is accepted again and is a fixed point.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "common/sweep_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridsearch;
  std::string text(reinterpret_cast<const char*>(data), size);
  SpecLimits limits;
  limits.max_jobs = 20000;  // keeps each expansion fast
  SweepSpec spec;
  Status s = ParseSweepSpec(text, limits, &spec);
  if (!s.ok()) {
    if (s.message().empty()) std::abort();
    return 0;
  }
  std::vector<GridPoint> grid = ExpandGrid(spec);
  if (static_cast<int64_t>(grid.size()) != CountConfigurations(spec)) std::abort();
  std::set<std::string> keys;
  for (const auto& p : grid) keys.insert(p.optimizer + p.params_json);
  if (keys.size() != grid.size()) std::abort();
  SweepSpec again;
  if (!ParseSweepSpec(spec.canonical_json, limits, &again).ok()) std::abort();
  if (again.canonical_json != spec.canonical_json) std::abort();
  return 0;
}
