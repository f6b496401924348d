// The `gridsearch` subcommands. Each returns the process exit code.
#ifndef GRIDSEARCH_CLI_COMMANDS_H_
#define GRIDSEARCH_CLI_COMMANDS_H_

#include <cstdint>
#include <string>

#include "common/status.h"
#include "coordinator/options.h"
#include "cli/worker_processes.h"
#include "coordinator/tables.h"
#include "worker/client.h"
#include "worker/options.h"

namespace gridsearch {

// Exit codes shared by the subcommands.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;          // something failed (RPC, I/O, a job)
constexpr int kExitBadInput = 2;       // the user's input was refused

// How a client subcommand reaches the coordinator.
struct ConnectionFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string token_file;   // else $GRIDSEARCH_TOKEN, else no token
  std::string tls_ca;       // CA certificate file; set: TLS
};

// Reads the token (file, else $GRIDSEARCH_TOKEN) and the CA certificate.
Status LoadClientSecurity(const ConnectionFlags& flags, ClientSecurity* security);
// Fills the coordinator's token (file, else $GRIDSEARCH_TOKEN) and TLS
// certificate and key (PEM files; both or neither).
Status LoadServerSecurity(const std::string& token_file, const std::string& tls_cert,
                          const std::string& tls_key, CoordinatorOptions* options);
// Reads a token file: its first line, surrounding white space removed.
Status ReadTokenFile(const std::string& path, std::string* token);

struct QueryFlags {
  ConnectionFlags conn;
  std::string db;           // when set, read this SQLite file instead
  int64_t sweep_id = 0;     // 0: the newest sweep
  std::string format = "table";
  std::string metric = "final_train_loss";
  size_t top = 20;
  bool watch = false;              // status: refresh until the sweep ends
  double interval_seconds = 2;     // between refreshes
};

// Serves until SIGINT/SIGTERM, or (exit_when_finished_seconds > 0) until
// no sweep in the file has had queued or running jobs for that long.
int RunCoordinatorCommand(const CoordinatorOptions& options, double exit_when_finished_seconds = 0);
int RunWorkerCommand(const WorkerOptions& options);
// `worker --devices`: one worker process per device of `devices` (see
// ResolveDevices), supervised until a signal (each hands its job back,
// exit 0) or until all of them finished by themselves.
int RunWorkerDevicesCommand(const std::string& devices, WorkerProcessFlags flags,
                            const std::string& self_exe);
int RunSubmitCommand(const ConnectionFlags& conn, const std::string& spec_path);
int RunStatusCommand(const QueryFlags& flags);
int RunResultsCommand(const QueryFlags& flags);
// Renders `request` from flags.db, or through the coordinator's QueryTable.
Status FetchTable(const QueryFlags& flags, TableRequest request, std::string* text);
int RunTableCommand(const QueryFlags& flags, const TableRequest& request);
// Writes the figures of a sweep into `out_dir` (see cli/plot.h).
int RunPlotCommand(const QueryFlags& flags, const std::string& out_dir, int bins);
int RunCancelCommand(const ConnectionFlags& conn, int64_t sweep_id);
int RunRetryCommand(const ConnectionFlags& conn, int64_t sweep_id);
int RunModelsCommand(const std::string& format);

// `gridsearch validate`: every problem of a spec (exit 2), or its expansion
// and compute estimate, the overhead of one job measured on `device`.
struct ValidateFlags {
  std::string spec_path;
  std::string device = "cpu";
  bool measure = true;
  std::string format = "table";    // table or json
};
int RunValidateCommand(const ValidateFlags& flags);

struct LocalRunFlags {
  std::string spec_path;
  int workers = 1;
  std::string db = "gridsearch.db";
  std::string device = "cpu";      // every worker's, unless `devices` is set
  std::string devices;             // set: one worker per device of this list (or all)
  int threads = 0;                 // per worker; 0: cores / workers
  double lease_timeout_seconds = 60;
  int max_attempts = 3;
  std::string format = "table";
  size_t top = 20;
  bool quiet = false;              // no progress bar
  bool no_plots = false;           // skip the figures
  std::string http_listen;         // set: serve the dashboard here (loopback only)
};

int RunLocalCommand(const LocalRunFlags& flags, const std::string& self_exe);

// SIGINT and SIGTERM become a clean shutdown: main() installs a handler that
// records them; WaitForShutdownSignal() blocks until one arrives and returns
// its number (0 after WakeShutdownWaiter(), -1 without the handler).
void InstallShutdownHandler();
int WaitForShutdownSignal();
void WakeShutdownWaiter();

// `gridsearch --version`: gridsearch's version and those it was built with
// (LibTorch and whether it has CUDA, gRPC, SQLite, the database schema).
std::string VersionText();

// Reads a whole file ("-": standard input).
bool ReadTextFile(const std::string& path, std::string* text, std::string* error);

}  // namespace gridsearch

#endif  // GRIDSEARCH_CLI_COMMANDS_H_
