// The parts of a sweep spec that make it a program sweep: the `program`
// block (the user's command that trains one job) and the optimizer grids of
// a program, whose parameter names and values are the program's own
// (numbers, strings, booleans) and are checked for shape and size only.
#ifndef GRIDSEARCH_COMMON_PROGRAM_SPEC_H_
#define GRIDSEARCH_COMMON_PROGRAM_SPEC_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/job.h"
#include "common/status.h"
#include "common/sweep_spec.h"

namespace gridsearch {

// Bounds on a program sweep's spec.
struct ProgramLimits {
  static constexpr size_t kMaxCommandWords = 256;
  static constexpr size_t kMaxEnv = 256;
  static constexpr size_t kMaxParams = 64;           // per optimizer
  static constexpr size_t kMaxNameChars = 64;        // optimizer and parameter names
  static constexpr size_t kMaxStringValueChars = 1024;
  static constexpr size_t kMaxValuesPerParam = 10000;
  static constexpr double kMaxTimeoutSeconds = 30 * 24 * 3600.0;
};

// Parses the spec's "program" block into `out`; every problem goes to
// `problems`, its field named ("program.command[1]: ...").
void ParseProgramBlock(const nlohmann::json& j, ProgramSpec* out, std::vector<Status>* problems);

// Parses one optimizer grid of a program sweep ("optimizers.<name>").
void ParseProgramGrid(const std::string& name, const nlohmann::json& j, OptimizerGrid* grid,
                      std::vector<Status>* problems);

// The canonical JSON of a program block (every default written out), and of
// a program grid (every axis a list).
nlohmann::json ProgramToJson(const ProgramSpec& program);
nlohmann::json ProgramGridToJson(const OptimizerGrid& grid);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_PROGRAM_SPEC_H_
