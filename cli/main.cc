// gridsearch: one binary, thin subcommands over the libraries.
#include <unistd.h>

#include <climits>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/format.h"

namespace {

std::string SelfExe(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) return std::string(buf, n);
  return argv0;
}

void AddFormat(CLI::App* cmd, std::string* format) {
  cmd->add_option("--format", *format, "output format")
      ->check(CLI::IsMember({"table", "markdown", "csv", "json"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gridsearch;
  CLI::App app{"gridsearch: distributed, time-budgeted hyperparameter grid search"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gridsearch 0.1.0");

  // coordinator
  CoordinatorOptions coord;
  auto* c = app.add_subcommand("coordinator", "serve the gRPC API over a SQLite file");
  c->add_option("--db", coord.db_path, "SQLite file (created when missing)")->required();
  c->add_option("--listen", coord.listen, "address to listen on")->capture_default_str();
  c->add_option("--port-file", coord.port_file, "write the bound host:port here once listening");
  c->add_option("--lease-timeout", coord.lease_timeout_seconds,
                "seconds without a report before a job is leased again")
      ->check(CLI::PositiveNumber)->capture_default_str();
  c->add_option("--max-attempts", coord.max_attempts, "leases per job before it is failed")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  c->add_option("--max-jobs", coord.spec_limits.max_jobs, "most jobs one sweep may expand to")
      ->check(CLI::PositiveNumber)->capture_default_str();

  // worker
  WorkerOptions work;
  auto* w = app.add_subcommand("worker", "lease jobs from a coordinator and train them");
  w->add_option("--coordinator", work.coordinator, "coordinator address")->capture_default_str();
  w->add_option("--device", work.trainer.device, "cpu or cuda:N")->capture_default_str();
  w->add_option("--threads", work.trainer.threads, "LibTorch threads (0: LibTorch's default)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  w->add_option("--worker-id", work.worker_id, "name in the coordinator's records (default host-pid)");
  w->add_option("--max-jobs", work.max_jobs, "exit after this many jobs (0: never)")
      ->check(CLI::NonNegativeNumber);
  w->add_option("--exit-when-idle", work.exit_when_idle_seconds,
                "exit after this many seconds without a job (0: never)")
      ->check(CLI::NonNegativeNumber);

  // submit
  std::string submit_coordinator = "127.0.0.1:50051", spec_path;
  auto* sub = app.add_subcommand("submit", "submit a sweep spec (JSON) to a coordinator");
  sub->add_option("spec", spec_path, "sweep spec file, or - for standard input")->required();
  sub->add_option("--coordinator", submit_coordinator, "coordinator address")->capture_default_str();

  // status
  QueryFlags status_flags;
  auto* st = app.add_subcommand("status", "job counts, throughput and ETA of sweeps");
  st->add_option("--sweep", status_flags.sweep_id, "sweep id (default: list every sweep)");
  st->add_option("--coordinator", status_flags.coordinator, "coordinator address")->capture_default_str();
  st->add_option("--db", status_flags.db, "read this SQLite file instead of a coordinator");
  st->add_option("--format", status_flags.format, "output format")
      ->check(CLI::IsMember({"table", "json"}))->capture_default_str();

  // results
  QueryFlags results_flags;
  auto* r = app.add_subcommand("results", "configurations ranked by their mean over seeds");
  r->add_option("--sweep", results_flags.sweep_id, "sweep id (default: the newest)");
  r->add_option("--coordinator", results_flags.coordinator, "coordinator address")->capture_default_str();
  r->add_option("--db", results_flags.db, "read this SQLite file instead of a coordinator");
  r->add_option("--metric", results_flags.metric, "ranking metric")
      ->check(CLI::IsMember({"final_train_loss", "log_loss_integral"}))->capture_default_str();
  r->add_option("--top", results_flags.top, "show the best N (0: all)")->capture_default_str();
  AddFormat(r, &results_flags.format);

  // cancel
  std::string cancel_coordinator = "127.0.0.1:50051";
  int64_t cancel_sweep = 0;
  auto* can = app.add_subcommand("cancel", "cancel a sweep's queued and running jobs");
  can->add_option("--sweep", cancel_sweep, "sweep id")->required();
  can->add_option("--coordinator", cancel_coordinator, "coordinator address")->capture_default_str();

  // run
  LocalRunFlags run;
  auto* rn = app.add_subcommand("run", "run a sweep on this machine: coordinator, workers, tables");
  rn->add_option("spec", run.spec_path, "sweep spec file")->required();
  rn->add_option("--workers", run.workers, "worker processes")->check(CLI::Range(1, 256))->capture_default_str();
  rn->add_option("--db", run.db, "SQLite file for the results")->capture_default_str();
  rn->add_option("--device", run.device, "cpu or cuda:N")->capture_default_str();
  rn->add_option("--threads", run.threads, "LibTorch threads per worker (0: cores / workers)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  rn->add_option("--lease-timeout", run.lease_timeout_seconds,
                 "seconds without a report before a job is leased again")
      ->check(CLI::PositiveNumber)->capture_default_str();
  rn->add_option("--top", run.top, "rows of the final ranking (0: all)")->capture_default_str();
  rn->add_flag("--quiet", run.quiet, "no progress bar");
  AddFormat(rn, &run.format);

  // models
  std::string models_format = "table";
  auto* m = app.add_subcommand("models", "list the models, data sets and optimizers");
  m->add_option("--format", models_format, "output format")
      ->check(CLI::IsMember({"table", "json"}))->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*c) return RunCoordinatorCommand(coord);
  if (*w) return RunWorkerCommand(work);
  if (*sub) return RunSubmitCommand(submit_coordinator, spec_path);
  if (*st) return RunStatusCommand(status_flags);
  if (*r) return RunResultsCommand(results_flags);
  if (*can) return RunCancelCommand(cancel_coordinator, cancel_sweep);
  if (*rn) return RunLocalCommand(run, SelfExe(argv[0]));
  if (*m) return RunModelsCommand(models_format);
  return kExitError;
}
