// Running another program (sbatch, squeue, scancel) and collecting what it
// prints. Torch-free.
#ifndef GRIDSEARCH_CLI_SUBPROCESS_H_
#define GRIDSEARCH_CLI_SUBPROCESS_H_

#include <string>
#include <vector>

namespace gridsearch {

// Runs argv[0] (looked up in PATH) with the rest as arguments and waits for
// it. Returns its exit code, 128 + N when signal N ended it, or 127 when it
// could not be started (not installed); its standard output and error are
// collected into `out` and `err` when given.
int RunProgram(const std::vector<std::string>& argv, std::string* out, std::string* err);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_SUBPROCESS_H_
