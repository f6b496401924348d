// The `gridsearch` subcommands. Each returns the process exit code.
#ifndef GRIDSEARCH_CLI_COMMANDS_H_
#define GRIDSEARCH_CLI_COMMANDS_H_

#include <cstdint>
#include <string>

#include "coordinator/options.h"
#include "worker/options.h"

namespace gridsearch {

// Exit codes shared by the subcommands.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;          // something failed (RPC, I/O, a job)
constexpr int kExitBadInput = 2;       // the user's input was refused

struct QueryFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string db;           // when set, read this SQLite file instead
  int64_t sweep_id = 0;     // 0: the newest sweep
  std::string format = "table";
  std::string metric = "final_train_loss";
  size_t top = 20;
};

int RunCoordinatorCommand(const CoordinatorOptions& options);
int RunWorkerCommand(const WorkerOptions& options);
int RunSubmitCommand(const std::string& coordinator, const std::string& spec_path);
int RunStatusCommand(const QueryFlags& flags);
int RunResultsCommand(const QueryFlags& flags);
int RunCancelCommand(const std::string& coordinator, int64_t sweep_id);
int RunModelsCommand(const std::string& format);

struct LocalRunFlags {
  std::string spec_path;
  int workers = 1;
  std::string db = "gridsearch.db";
  std::string device = "cpu";
  int threads = 0;                 // per worker; 0: cores / workers
  double lease_timeout_seconds = 60;
  int max_attempts = 3;
  std::string format = "table";
  size_t top = 20;
  bool quiet = false;              // no progress bar
};

int RunLocalCommand(const LocalRunFlags& flags, const std::string& self_exe);

// Reads a whole file ("-": standard input).
bool ReadTextFile(const std::string& path, std::string* text, std::string* error);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_COMMANDS_H_
