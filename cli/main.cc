// gridsearch: one binary, thin subcommands over the libraries.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/slurm_command.h"
#include "cli/train_command.h"
#include "coordinator/format.h"

namespace {

std::string SelfExe(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) return std::string(buf, n);
  return argv0;
}

void AddConnection(CLI::App* cmd, gridsearch::ConnectionFlags* conn) {
  cmd->add_option("--coordinator", conn->coordinator, "coordinator address")->capture_default_str();
  cmd->add_option("--token-file", conn->token_file,
                  "file holding the coordinator's token (default: $GRIDSEARCH_TOKEN)");
  cmd->add_option("--tls-ca", conn->tls_ca, "CA certificate (PEM) to verify a TLS coordinator");
}

void AddFormat(CLI::App* cmd, std::string* format) {
  cmd->add_option("--format", *format, "output format")
      ->check(CLI::IsMember({"table", "markdown", "csv", "json"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gridsearch;
  // `train` has its own flags (shared with gridsearch-train, which is built
  // without CLI11) and the default signal handling: Ctrl-C just stops it.
  if (argc >= 2 && std::string(argv[1]) == "train") return RunTrainMain(argc - 1, argv + 1);
  InstallShutdownHandler();
  CLI::App app{"gridsearch: distributed, time-budgeted hyperparameter grid search"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return VersionText(); },
                       "the versions of gridsearch, LibTorch, gRPC, SQLite and the database schema");

  // coordinator
  CoordinatorOptions coord;
  auto* c = app.add_subcommand("coordinator", "serve the gRPC API over a SQLite file");
  c->add_option("--db", coord.db_path, "SQLite file (created when missing)")->required();
  c->add_option("--listen", coord.listen, "address to listen on")->capture_default_str();
  c->add_option("--port-file", coord.port_file, "write the bound host:port here once listening");
  c->add_option("--http", coord.http_listen,
                "also serve the dashboard, its JSON API (/api/v1/) and /metrics on this "
                "host:port (loopback, or any address with --token-file or --insecure)");
  c->add_option("--http-url-file", coord.http_url_file,
                "write the dashboard's URL here once it is up");
  c->add_option("--lease-timeout", coord.lease_timeout_seconds,
                "seconds without a report before a job is leased again")
      ->check(CLI::PositiveNumber)->capture_default_str();
  c->add_option("--max-attempts", coord.max_attempts, "leases per job before it is failed")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  c->add_option("--max-jobs", coord.spec_limits.max_jobs, "most jobs one sweep may expand to")
      ->check(CLI::PositiveNumber)->capture_default_str();
  std::string coord_token_file, tls_cert, tls_key;
  c->add_option("--token-file", coord_token_file,
                "require this token from clients (default: $GRIDSEARCH_TOKEN, else none)");
  c->add_option("--tls-cert", tls_cert, "serve TLS with this certificate (PEM)");
  c->add_option("--tls-key", tls_key, "private key (PEM) of --tls-cert");
  c->add_flag("--insecure", coord.insecure,
              "allow listening beyond loopback without a token");
  double exit_when_finished = 0;
  c->add_option("--exit-when-finished", exit_when_finished,
                "exit once no sweep has had queued or running jobs for this many seconds "
                "(0: never)")
      ->check(CLI::NonNegativeNumber);

  // worker
  WorkerOptions work;
  auto* w = app.add_subcommand("worker", "lease jobs from a coordinator and train them");
  ConnectionFlags worker_conn;
  AddConnection(w, &worker_conn);
  std::string worker_devices;
  auto* device_opt =
      w->add_option("--device", work.trainer.device, "cpu or cuda:N: this process trains on it")
          ->capture_default_str();
  w->add_option("--devices", worker_devices,
                "one training process per device, supervised and restarted: all (every "
                "visible CUDA device, else cpu) or a list such as cuda:0,cuda:2 or cpu,cpu")
      ->excludes(device_opt);
  w->add_option("--threads", work.trainer.threads,
                "LibTorch threads per process (0: LibTorch's default; with --devices, "
                "cores / processes)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  w->add_option("--max-steps", work.trainer.max_steps,
                "end each job after this many steps even if time is left (0: only the budget)")
      ->check(CLI::NonNegativeNumber);
  w->add_option("--worker-id", work.worker_id, "name in the coordinator's records (default host-pid)");
  w->add_option("--max-jobs", work.max_jobs, "exit after this many jobs (0: never)")
      ->check(CLI::NonNegativeNumber);
  w->add_option("--exit-when-idle", work.exit_when_idle_seconds,
                "exit after this many seconds without a job (0: never)")
      ->check(CLI::NonNegativeNumber);

  // submit
  ConnectionFlags submit_conn;
  std::string spec_path;
  auto* sub = app.add_subcommand("submit", "submit a sweep spec (JSON) to a coordinator");
  sub->add_option("spec", spec_path, "sweep spec file, or - for standard input")->required();
  AddConnection(sub, &submit_conn);

  // validate
  ValidateFlags validate;
  auto* val = app.add_subcommand(
      "validate", "check a sweep spec: every problem, or its size and the compute it needs");
  val->add_option("spec", validate.spec_path, "sweep spec file, or - for standard input")
      ->required();
  val->add_option("--device", validate.device,
                  "device on which one job's setup and evaluation are measured")
      ->capture_default_str();
  bool no_measure = false;
  val->add_flag("--no-measure", no_measure,
                "skip the measurement (one job run without training time)");
  val->add_option("--format", validate.format, "output format")
      ->check(CLI::IsMember({"table", "json"}))->capture_default_str();

  // status
  QueryFlags status_flags;
  auto* st = app.add_subcommand("status", "job counts, throughput and ETA of sweeps");
  st->add_option("--sweep", status_flags.sweep_id, "sweep id (default: list every sweep)");
  AddConnection(st, &status_flags.conn);
  st->add_option("--db", status_flags.db, "read this SQLite file instead of a coordinator");
  st->add_option("--format", status_flags.format, "output format")
      ->check(CLI::IsMember({"table", "json"}))->capture_default_str();
  st->add_flag("--watch", status_flags.watch,
               "refresh in place until no sweep shown is running (Ctrl-C stops)");
  st->add_option("--interval", status_flags.interval_seconds, "seconds between refreshes")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();

  // results and the papers' tables
  auto add_query = [](CLI::App* cmd, QueryFlags* q, bool formats = true) {
    cmd->add_option("--sweep", q->sweep_id, "sweep id (default: the newest)");
    cmd->add_option("--db", q->db, "read this SQLite file instead of a coordinator");
    AddConnection(cmd, &q->conn);
    cmd->add_option("--metric", q->metric, "ranking metric")
        ->check(CLI::IsMember({"final_train_loss", "log_loss_integral", "test_accuracy"}))
        ->capture_default_str();
    if (formats) AddFormat(cmd, &q->format);
  };
  QueryFlags results_flags;
  bool best_per_optimizer = false;
  std::string split = "all";
  auto* r = app.add_subcommand("results", "configurations ranked by their mean over seeds");
  add_query(r, &results_flags);
  r->add_option("--top", results_flags.top, "show the best N (0: all)")->capture_default_str();
  r->add_flag("--best-per-optimizer", best_per_optimizer,
              "PAL 2019 Table 3: each optimizer's best configuration and its global rank");
  r->add_option("--split", split,
                "with --best-per-optimizer: split the spec's ablation optimizer by these "
                "features (comma-separated; all; none)")
      ->capture_default_str();

  QueryFlags ablation_flags;
  auto* abl = app.add_subcommand("ablation", "PAL 2019 Table 1: the best configuration of each "
                                             "feature group of the spec's ablation block");
  add_query(abl, &ablation_flags);

  QueryFlags epochs_flags;
  auto* ep = app.add_subcommand("epochs", "PAL 2019 Table 2: epochs trained within the budget "
                                          "per optimizer");
  add_query(ep, &epochs_flags);

  QueryFlags curves_flags;
  curves_flags.format = "csv";
  TableRequest curves_req;
  curves_req.kind = "curves";
  auto* cur = app.add_subcommand("curves", "loss or learning-rate curves, raw or on a common "
                                           "time grid (mean, min, max over seeds)");
  add_query(cur, &curves_flags, false);
  cur->add_option("--format", curves_flags.format, "output format")
      ->check(CLI::IsMember({"csv", "json"}))->capture_default_str();
  cur->add_option("--config", curves_req.config_ids,
                  "configuration ids (default: each optimizer's best)");
  cur->add_option("--bins", curves_req.bins, "time bins over the budget")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  cur->add_flag("--raw", curves_req.raw, "every stored point instead of the time grid");
  cur->add_option("--column", curves_req.column, "what to resample")
      ->check(CLI::IsMember({"loss", "learning_rate"}))->capture_default_str();

  QueryFlags plot_flags;
  std::string plot_dir;
  int plot_bins = 100;
  auto* pl = app.add_subcommand("plot", "PNG and SVG figures (gnuplot): loss curves, box plots, "
                                        "PAL's effective learning rate");
  add_query(pl, &plot_flags, false);
  pl->add_option("--out", plot_dir, "folder for the figures (created)")->required();
  pl->add_option("--bins", plot_bins, "time bins for the curves")
      ->check(CLI::Range(2, 100000))->capture_default_str();

  // cancel
  ConnectionFlags cancel_conn;
  int64_t cancel_sweep = 0;
  auto* can = app.add_subcommand("cancel", "cancel a sweep's queued and running jobs");
  can->add_option("--sweep", cancel_sweep, "sweep id")->required();
  AddConnection(can, &cancel_conn);

  // retry
  ConnectionFlags retry_conn;
  int64_t retry_sweep = 0;
  auto* ret = app.add_subcommand("retry", "queue a sweep's failed jobs again");
  ret->add_option("--sweep", retry_sweep, "sweep id")->required();
  AddConnection(ret, &retry_conn);

  // run
  LocalRunFlags run;
  auto* rn = app.add_subcommand("run", "run a sweep on this machine: coordinator, workers, tables");
  rn->add_option("spec", run.spec_path, "sweep spec file")->required();
  auto* run_workers = rn->add_option("--workers", run.workers, "worker processes on --device")
                          ->check(CLI::Range(1, 256))->capture_default_str();
  rn->add_option("--db", run.db, "SQLite file for the results")->capture_default_str();
  auto* run_device = rn->add_option("--device", run.device, "cpu or cuda:N, for every worker")
                         ->capture_default_str();
  rn->add_option("--devices", run.devices,
                 "one worker per device instead: all, or a list such as cuda:0,cuda:1 or "
                 "cpu,cpu")
      ->excludes(run_device)
      ->excludes(run_workers);
  rn->add_option("--threads", run.threads, "LibTorch threads per worker (0: cores / workers)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  rn->add_option("--lease-timeout", run.lease_timeout_seconds,
                 "seconds without a report before a job is leased again")
      ->check(CLI::PositiveNumber)->capture_default_str();
  rn->add_option("--top", run.top, "rows of the final ranking (0: all)")->capture_default_str();
  rn->add_option("--http", run.http_listen,
                 "serve the dashboard on this loopback host:port while the sweep runs "
                 "(127.0.0.1:0 picks a port); the URL is printed");
  rn->add_flag("--quiet", run.quiet, "no progress bar");
  rn->add_flag("--no-plots", run.no_plots, "do not write the figures beside the database");
  AddFormat(rn, &run.format);

  // slurm up / down
  SlurmUpFlags slurm_up;
  std::string slurm_down_state = "gridsearch-slurm";
  auto* sl = app.add_subcommand("slurm", "run a sweep on a Slurm cluster (up, down)");
  sl->require_subcommand(1);
  auto* su = sl->add_subcommand(
      "up", "submit the coordinator as a Slurm job and the workers as a job array; on an "
            "existing state folder, resume");
  su->add_option("spec", slurm_up.spec_path, "sweep spec file")->required();
  su->add_option("--workers", slurm_up.workers, "tasks of the worker array")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  su->add_option("--gpus-per-worker", slurm_up.gpus_per_worker,
                 "GPUs per task (--gres=gpu:G); each task trains one job per GPU; 0: CPU")
      ->check(CLI::Range(0, 64))->capture_default_str();
  su->add_option("--cpus-per-worker", slurm_up.cpus_per_worker,
                 "CPUs per task (default: one per GPU, at least 1)")
      ->check(CLI::Range(0, 4096));
  su->add_option("--partition", slurm_up.partition, "Slurm partition (default: the cluster's)");
  su->add_option("--account", slurm_up.account, "Slurm account");
  su->add_option("--time", slurm_up.time,
                 "time limit of each worker task, e.g. 4:00:00 (tasks requeue at the limit)");
  su->add_option("--coordinator-time", slurm_up.coordinator_time,
                 "time limit of the coordinator job (default: the partition's)");
  su->add_option("--sbatch-arg", slurm_up.sbatch_args,
                 "another sbatch option for both jobs, e.g. --sbatch-arg=--qos=high (repeatable)")
      ->allow_extra_args(false);
  su->add_option("--worker-arg", slurm_up.worker_args,
                 "another `gridsearch worker` flag for every task (repeatable)")
      ->allow_extra_args(false);
  su->add_option("--state-dir", slurm_up.state_dir,
                 "folder on shared storage for the database, token, address, scripts and logs")
      ->capture_default_str();
  su->add_option("--templates", slurm_up.templates_dir,
                 "folder with edited coordinator.sbatch and worker.sbatch (default: built in, "
                 "as in deploy/slurm)");
  su->add_option("--gridsearch", slurm_up.gridsearch,
                 "the gridsearch binary the jobs run (default: this one)");
  su->add_option("--lease-timeout", slurm_up.lease_timeout_seconds,
                 "seconds without a report before a job is leased again")
      ->check(CLI::PositiveNumber)->capture_default_str();
  su->add_option("--exit-when-idle", slurm_up.exit_when_idle_seconds,
                 "a worker task ends after this many seconds without a job")
      ->check(CLI::PositiveNumber)->capture_default_str();
  su->add_option("--exit-when-finished", slurm_up.exit_when_finished_seconds,
                 "the coordinator ends this long after the sweep is finished")
      ->check(CLI::PositiveNumber)->capture_default_str();
  su->add_option("--warning", slurm_up.warning_seconds,
                 "seconds before a task's time limit at which it hands its jobs back and "
                 "requeues (--signal=B:USR1@N)")
      ->check(CLI::Range(10, 86400))->capture_default_str();
  su->add_flag("--dry-run", slurm_up.dry_run, "print the sbatch scripts; submit nothing");
  auto* sd = sl->add_subcommand("down", "cancel the sweep's Slurm jobs (workers hand their "
                                        "jobs back first)");
  sd->add_option("--state-dir", slurm_down_state, "the state folder of `slurm up`")
      ->capture_default_str();

  // train: dispatched above, before CLI11; listed here for --help.
  app.add_subcommand("train", "train one job (JOB.json) on this machine, no coordinator; "
                              "`gridsearch train --help` for its options")
      ->allow_extras();

  // models
  std::string models_format = "table";
  auto* m = app.add_subcommand("models", "list the models, data sets and optimizers");
  m->add_option("--format", models_format, "output format")
      ->check(CLI::IsMember({"table", "json"}))->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*c) {
    Status s = LoadServerSecurity(coord_token_file, tls_cert, tls_key, &coord);
    if (!s.ok()) {
      std::fprintf(stderr, "gridsearch: coordinator: %s\n", s.ToString().c_str());
      return kExitBadInput;
    }
    return RunCoordinatorCommand(coord, exit_when_finished);
  }
  if (*w) {
    work.coordinator = worker_conn.coordinator;
    Status s = LoadClientSecurity(worker_conn, &work.security);
    if (!s.ok()) {
      std::fprintf(stderr, "gridsearch: worker: %s\n", s.ToString().c_str());
      return kExitBadInput;
    }
    if (!worker_devices.empty()) {
      WorkerProcessFlags processes;
      processes.coordinator = worker_conn.coordinator;
      processes.token_file = worker_conn.token_file;
      processes.tls_ca = worker_conn.tls_ca;
      processes.threads = work.trainer.threads;
      processes.worker_id_base = work.worker_id;
      processes.max_jobs = work.max_jobs;
      processes.exit_when_idle_seconds = work.exit_when_idle_seconds;
      processes.max_steps = work.trainer.max_steps;
      return RunWorkerDevicesCommand(worker_devices, processes, SelfExe(argv[0]));
    }
    return RunWorkerCommand(work);
  }
  if (*sub) return RunSubmitCommand(submit_conn, spec_path);
  if (*val) {
    validate.measure = !no_measure;
    return RunValidateCommand(validate);
  }
  if (*st) return RunStatusCommand(status_flags);
  if (*r) {
    if (!best_per_optimizer) return RunResultsCommand(results_flags);
    TableRequest req;
    req.kind = "best";
    req.metric = results_flags.metric;
    req.format = results_flags.format;
    req.split = split == "none" ? "" : split;
    return RunTableCommand(results_flags, req);
  }
  if (*abl || *ep) {
    QueryFlags& q = *abl ? ablation_flags : epochs_flags;
    TableRequest req;
    req.kind = *abl ? "ablation" : "epochs";
    req.metric = q.metric;
    req.format = q.format;
    return RunTableCommand(q, req);
  }
  if (*cur) {
    curves_req.metric = curves_flags.metric;
    curves_req.format = curves_flags.format;
    return RunTableCommand(curves_flags, curves_req);
  }
  if (*pl) return RunPlotCommand(plot_flags, plot_dir, plot_bins);
  if (*can) return RunCancelCommand(cancel_conn, cancel_sweep);
  if (*ret) return RunRetryCommand(retry_conn, retry_sweep);
  if (*rn) return RunLocalCommand(run, SelfExe(argv[0]));
  if (*m) return RunModelsCommand(models_format);
  if (*su) return RunSlurmUpCommand(slurm_up, SelfExe(argv[0]));
  if (*sd) return RunSlurmDownCommand(slurm_down_state);
  return kExitError;
}
