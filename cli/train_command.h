// `gridsearch train JOB.json` (also the `gridsearch-train` binary of the
// trainer-only build): one job on this machine, no coordinator. For
// debugging one configuration and for checking a device. Needs only the
// trainer: no gRPC, SQLite or CLI11.
#ifndef GRIDSEARCH_CLI_TRAIN_COMMAND_H_
#define GRIDSEARCH_CLI_TRAIN_COMMAND_H_

namespace gridsearch {

// Parses `argv` (argv[0] is the command's name, e.g. "train") and runs the
// job. Exit codes: 0 the job ran (done or diverged), 1 it failed, 2 refused
// input (bad flags, a malformed job file, an unknown device).
int RunTrainMain(int argc, char** argv);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_TRAIN_COMMAND_H_
