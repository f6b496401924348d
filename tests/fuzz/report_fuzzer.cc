// libFuzzer target for the report protocol's line parser: what a user's
// program writes to its report descriptor reaches the worker unchecked.
// Beyond "no crash, no sanitizer report": a refused line comes with a
// message, and an accepted point has a positive step.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "worker/program_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridsearch;
  const std::string line(reinterpret_cast<const char*>(data), size);
  ReportEvent event;
  Status s = ParseReportLine(line, &event);
  if (!s.ok()) {
    if (s.message().empty()) std::abort();
    return 0;
  }
  if (event.kind == ReportEvent::kPoint && event.point.step < 1) std::abort();
  return 0;
}
