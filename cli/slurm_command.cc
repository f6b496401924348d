#include "cli/slurm_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/subprocess.h"
#include "common/sweep_spec.h"
#include "coordinator/database.h"
#include "coordinator/job_store.h"

namespace gridsearch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// How long `down` (and a resuming `up`) waits for cancelled jobs to end.
constexpr double kCancelWaitSeconds = 120;
// How long a worker task waits for the coordinator's address once it runs
// (it starts only after the coordinator job began: --dependency=after).
constexpr int kAddressWaitSeconds = 600;

// Slurm job states in which a job is still there (will run or runs).
const std::set<std::string>& LiveStates() {
  static const std::set<std::string> kLive = {
      "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
      "REQUEUE_FED", "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "STOPPED",
      "RESV_DEL_HOLD", "SPECIAL_EXIT"};
  return kLive;
}

int Refuse(const std::string& message) {
  std::fprintf(stderr, "gridsearch: slurm: %s\n", message.c_str());
  return kExitBadInput;
}

int Failed(const std::string& message) {
  std::fprintf(stderr, "gridsearch: slurm: %s\n", message.c_str());
  return kExitError;
}

// Paths go into #SBATCH lines and shell scripts unquoted: only characters
// that mean nothing to either.
bool PlainPath(const std::string& p) {
  if (p.empty()) return false;
  for (unsigned char c : p)
    if (!(std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '+' ||
          c == ':' || c == '@' || c == ',' || c == '='))
      return false;
  return true;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string Number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

Status WriteFileText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("cannot write " + tmp.string());
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  fsync(fd) == 0;
  close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0)
    return Status::IOError("cannot write " + path.string());
  return Status::OK();
}

// Replaces every {{key}} of `text`; a field the template uses that is not
// in `values` is an error naming it (for edited templates).
Status FillTemplate(const std::string& name, const std::string& text,
                    const std::map<std::string, std::string>& values, std::string* out) {
  out->clear();
  size_t pos = 0;
  while (true) {
    const size_t open_at = text.find("{{", pos);
    if (open_at == std::string::npos) break;
    const size_t close_at = text.find("}}", open_at + 2);
    if (close_at == std::string::npos)
      return Status::InvalidArgument("template " + name + ": '{{' without '}}'");
    const std::string key = text.substr(open_at + 2, close_at - open_at - 2);
    auto it = values.find(key);
    if (it == values.end()) {
      std::string known;
      for (const auto& [k, v] : values) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument("template " + name + " uses {{" + key +
                                     "}}, which slurm up does not fill; it fills " + known);
    }
    out->append(text, pos, open_at - pos);
    out->append(it->second);
    pos = close_at + 2;
  }
  out->append(text, pos, std::string::npos);
  return Status::OK();
}

Status LoadTemplate(const std::string& dir, const std::string& name, std::string* text) {
  if (!dir.empty()) {
    const fs::path path = fs::path(dir) / name;
    std::string error;
    if (!ReadTextFile(path.string(), text, &error))
      return Status::NotFound("cannot read template " + path.string());
    return Status::OK();
  }
  for (const auto& [file, contents] : SlurmTemplates())
    if (file == name) {
      *text = contents;
      return Status::OK();
    }
  return Status::Internal("no built-in template " + name);
}

// The job id that `sbatch --parsable` printed ("123" or "123;cluster").
std::string ParsableJobId(const std::string& out) {
  std::string id = Trim(out);
  const size_t semi = id.find(';');
  if (semi != std::string::npos) id.resize(semi);
  return id;
}

// The states of a job's tasks; empty when Slurm no longer knows the job.
std::vector<std::string> JobStates(const std::string& job_id) {
  std::vector<std::string> states;
  if (job_id.empty()) return states;
  std::string out, err;
  if (RunProgram({"squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"}, &out, &err) != 0)
    return states;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    if (!line.empty()) states.push_back(line);
  }
  return states;
}

bool IsLive(const std::string& job_id) {
  for (const auto& s : JobStates(job_id))
    if (LiveStates().count(s) > 0) return true;
  return false;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Cancels `job_id` (all its tasks) and waits until none is live.
bool CancelAndWait(const std::string& job_id, const std::string& what) {
  if (job_id.empty() || !IsLive(job_id)) return true;
  std::string out, err;
  if (RunProgram({"scancel", job_id}, &out, &err) != 0) {
    std::fprintf(stderr, "gridsearch: slurm: scancel %s: %s\n", job_id.c_str(), Trim(err).c_str());
    return false;
  }
  std::fprintf(stderr, "cancelled %s (Slurm job %s); waiting for it to end\n", what.c_str(),
               job_id.c_str());
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(kCancelWaitSeconds);
  while (IsLive(job_id)) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "gridsearch: slurm: %s (job %s) still %s after %.0f s\n", what.c_str(),
                   job_id.c_str(), Joined(JobStates(job_id)).c_str(), kCancelWaitSeconds);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return true;
}

struct SlurmState {
  int64_t sweep_id = 0;
  std::string coordinator_job;
  std::string worker_job;
};

bool ReadState(const fs::path& dir, SlurmState* state, std::string* error) {
  std::string text;
  if (!ReadTextFile((dir / "slurm.json").string(), &text, error)) {
    *error = "no slurm.json in " + dir.string() + " (not a gridsearch slurm state folder?)";
    return false;
  }
  try {
    const json j = json::parse(text);
    state->sweep_id = j.at("sweep_id").get<int64_t>();
    state->coordinator_job = j.value("coordinator_job", "");
    state->worker_job = j.value("worker_job", "");
  } catch (const json::exception& e) {
    *error = (dir / "slurm.json").string() + " is damaged: " + e.what();
    return false;
  }
  return true;
}

Status WriteState(const fs::path& dir, const SlurmState& state) {
  const json j = {{"sweep_id", state.sweep_id},
                  {"coordinator_job", state.coordinator_job},
                  {"worker_job", state.worker_job}};
  return WriteFileText(dir / "slurm.json", j.dump(2) + "\n");
}

// A fresh token: 32 random bytes as hex, in a file only its owner can read.
Status WriteToken(const fs::path& path) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  unsigned char bytes[32];
  if (!random.read(reinterpret_cast<char*>(bytes), sizeof(bytes)))
    return Status::IOError("cannot read /dev/urandom");
  static const char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  GS_RETURN_IF_ERROR(WriteFileText(path, token + "\n", 0600));
  if (chmod(path.c_str(), 0600) != 0) return Status::IOError("cannot chmod " + path.string());
  return Status::OK();
}

// The canonical spec of sweep `id` in the file, to compare with the one given.
Status StoredSpec(const fs::path& db_path, int64_t id, std::string* canonical) {
  std::unique_ptr<Database> db;
  GS_RETURN_IF_ERROR(Database::Open(db_path.string(), true, &db));
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT spec_json FROM sweeps WHERE id = ?1", &st));
  st.Bind(1, id);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status::NotFound("sweep " + std::to_string(id) + " is not in " + db_path.string());
  SweepSpec spec;
  GS_RETURN_IF_ERROR(ParseSweepSpec(st.Text(0), SpecLimits(), &spec));
  *canonical = spec.canonical_json;
  return Status::OK();
}

}  // namespace

int RunSlurmUpCommand(const SlurmUpFlags& f, const std::string& self_exe) {
  // --- Everything is checked before anything is written or submitted. ---
  std::string text, error;
  if (!ReadTextFile(f.spec_path, &text, &error)) return Refuse(error);
  SweepSpec spec;
  Status s = ParseSweepSpec(text, SpecLimits(), &spec);
  if (!s.ok()) return Refuse(f.spec_path + ": " + s.ToString());
  if (f.workers < 1) return Refuse("--workers must be at least 1");
  if (f.gpus_per_worker < 0) return Refuse("--gpus-per-worker must be 0 or more");
  const fs::path state = fs::absolute(f.state_dir).lexically_normal();
  std::string state_str = state.string();
  while (state_str.size() > 1 && state_str.back() == '/') state_str.pop_back();
  if (!PlainPath(state_str))
    return Refuse("--state-dir '" + state_str +
                  "': use letters, digits and / . _ - + : @ , = only (it goes into #SBATCH lines)");
  const std::string binary = fs::absolute(f.gridsearch.empty() ? self_exe : f.gridsearch).string();
  if (!PlainPath(binary))
    return Refuse("the gridsearch binary's path '" + binary +
                  "' has characters a batch script cannot take unquoted; pass --gridsearch");
  for (const auto& a : f.sbatch_args)
    if (a.empty() || a[0] != '-' || a.find('\n') != std::string::npos)
      return Refuse("--sbatch-arg '" + a + "': expected one sbatch option such as --qos=high");
  for (const std::string* v : {&f.partition, &f.account, &f.time, &f.coordinator_time})
    if (v->find_first_of(" \t\n'\"") != std::string::npos)
      return Refuse("'" + *v + "': Slurm names and times have no spaces or quotes");

  std::vector<std::string> common;
  if (!f.partition.empty()) common.push_back("--partition=" + f.partition);
  if (!f.account.empty()) common.push_back("--account=" + f.account);
  for (const auto& a : f.sbatch_args) common.push_back(a);
  std::vector<std::string> coordinator_opts = common, worker_opts = common;
  if (!f.coordinator_time.empty()) coordinator_opts.push_back("--time=" + f.coordinator_time);
  if (!f.time.empty()) worker_opts.push_back("--time=" + f.time);
  if (f.gpus_per_worker > 0) worker_opts.push_back("--gres=gpu:" + std::to_string(f.gpus_per_worker));
  const int cpus = f.cpus_per_worker > 0 ? f.cpus_per_worker : std::max(1, f.gpus_per_worker);
  worker_opts.push_back("--cpus-per-task=" + std::to_string(cpus));
  auto sbatch_lines = [](const std::vector<std::string>& opts) {
    std::string out;
    for (const auto& o : opts) out += "#SBATCH " + o + "\n";
    if (!out.empty()) out.pop_back();
    return out;
  };
  std::string worker_args;
  for (const auto& a : f.worker_args) worker_args += (worker_args.empty() ? "" : " ") + ShellQuote(a);
  std::string job_name;
  for (char c : spec.name)
    job_name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '-';
  if (job_name.empty()) job_name = "sweep";
  if (job_name.size() > 40) job_name.resize(40);
  const std::map<std::string, std::string> values = {
      {"job_name", "gs-" + job_name},
      {"state_dir", state_str},
      {"gridsearch", binary},
      {"coordinator_sbatch_options", sbatch_lines(coordinator_opts)},
      {"worker_sbatch_options", sbatch_lines(worker_opts)},
      {"last_task", std::to_string(f.workers - 1)},
      {"warning_seconds", std::to_string(f.warning_seconds)},
      {"lease_timeout", Number(f.lease_timeout_seconds)},
      {"exit_when_idle", Number(f.exit_when_idle_seconds)},
      {"exit_when_finished", Number(f.exit_when_finished_seconds)},
      {"address_wait_seconds", std::to_string(kAddressWaitSeconds)},
      {"worker_args", worker_args}};
  std::string coordinator_script, worker_script, tmpl;
  s = LoadTemplate(f.templates_dir, "coordinator.sbatch", &tmpl);
  if (s.ok()) s = FillTemplate("coordinator.sbatch", tmpl, values, &coordinator_script);
  if (s.ok()) s = LoadTemplate(f.templates_dir, "worker.sbatch", &tmpl);
  if (s.ok()) s = FillTemplate("worker.sbatch", tmpl, values, &worker_script);
  if (!s.ok()) return Refuse(s.message());

  const std::string coordinator_cmd = "sbatch --parsable " + state_str + "/coordinator.sbatch";
  const std::string worker_cmd =
      "sbatch --parsable --dependency=after:COORDINATOR_JOB_ID " + state_str + "/worker.sbatch";
  if (f.dry_run) {
    std::printf("# %s\n%s\n# %s\n%s", coordinator_cmd.c_str(), coordinator_script.c_str(),
                worker_cmd.c_str(), worker_script.c_str());
    std::fprintf(stderr, "dry run: nothing was written or submitted\n");
    return kExitOk;
  }

  // --- A new state folder, or the one of an earlier `up` to resume. ---
  std::error_code ec;
  fs::create_directories(state / "logs", ec);
  if (ec) return Failed("cannot create " + (state / "logs").string() + ": " + ec.message());
  const fs::path db_path = state / "study.db";
  SlurmState st;
  const bool resuming = fs::exists(state / "slurm.json");
  if (resuming) {
    if (!ReadState(state, &st, &error)) return Refuse(error);
    if (IsLive(st.coordinator_job))
      return Refuse("the sweep's coordinator (Slurm job " + st.coordinator_job + ") is still " +
                    Joined(JobStates(st.coordinator_job)) +
                    "; watch it, or stop everything with: gridsearch slurm down --state-dir " +
                    state_str);
    std::string stored;
    s = StoredSpec(db_path, st.sweep_id, &stored);
    if (!s.ok()) return Refuse("cannot resume from " + state_str + ": " + s.message());
    if (stored != spec.canonical_json)
      return Refuse(state_str + " holds sweep " + std::to_string(st.sweep_id) +
                    " of another spec; give that spec, or another --state-dir");
    // Workers of the earlier coordinator would dial its old address.
    if (!CancelAndWait(st.worker_job, "the earlier workers"))
      return Failed("the earlier workers (job " + st.worker_job + ") did not end");
    std::unique_ptr<Database> db;
    SweepSummary summary;
    if (Database::Open(db_path.string(), true, &db).ok() &&
        LoadSweepSummary(db.get(), st.sweep_id, 0, &summary).ok() && summary.state != "running") {
      std::printf("sweep %lld is %s (%lld done, %lld diverged, %lld failed); nothing to run.\n"
                  "results: gridsearch results --db %s --sweep %lld\n",
                  static_cast<long long>(st.sweep_id), summary.state.c_str(),
                  static_cast<long long>(summary.done), static_cast<long long>(summary.diverged),
                  static_cast<long long>(summary.failed), db_path.c_str(),
                  static_cast<long long>(st.sweep_id));
      return kExitOk;
    }
  } else {
    if (fs::exists(db_path))
      return Refuse(db_path.string() + " exists without slurm.json; give another --state-dir");
    // The sweep is written here, before any job runs: the coordinator job
    // opens a file that already holds it.
    CoordinatorOptions options;
    options.db_path = db_path.string();
    std::unique_ptr<JobStore> store;
    s = JobStore::Open(options, nullptr, &store);
    int64_t total = 0, configs = 0;
    if (s.ok()) s = store->SubmitSweep(text, &st.sweep_id, &total, &configs);
    store.reset();
    if (!s.ok()) return Failed("writing the sweep to " + db_path.string() + ": " + s.ToString());
    std::printf("sweep %lld \"%s\": %lld jobs (%lld configurations x %zu seeds) in %s\n",
                static_cast<long long>(st.sweep_id), spec.name.c_str(),
                static_cast<long long>(total), static_cast<long long>(configs), spec.seeds.size(),
                db_path.c_str());
  }
  if (!fs::exists(state / "token")) {
    s = WriteToken(state / "token");
    if (!s.ok()) return Failed(s.message());
  }
  fs::remove(state / "address", ec);  // the earlier coordinator's, if any
  s = WriteFileText(state / "coordinator.sbatch", coordinator_script, 0755);
  if (s.ok()) s = WriteFileText(state / "worker.sbatch", worker_script, 0755);
  if (!s.ok()) return Failed(s.message());

  // --- Submit: the coordinator, then the workers once it has started. ---
  std::string out, err;
  int code = RunProgram({"sbatch", "--parsable", (state / "coordinator.sbatch").string()}, &out, &err);
  if (code != 0)
    return Failed(code == 127 ? "sbatch not found: is this a Slurm login node?"
                              : "sbatch refused the coordinator job: " + Trim(err));
  st.coordinator_job = ParsableJobId(out);
  st.worker_job.clear();
  s = WriteState(state, st);
  if (!s.ok()) return Failed(s.message());
  code = RunProgram({"sbatch", "--parsable", "--dependency=after:" + st.coordinator_job,
                     (state / "worker.sbatch").string()},
                    &out, &err);
  if (code != 0) {
    CancelAndWait(st.coordinator_job, "the coordinator");
    return Failed("sbatch refused the worker array: " + Trim(err));
  }
  st.worker_job = ParsableJobId(out);
  s = WriteState(state, st);
  if (!s.ok()) return Failed(s.message());

  const std::string conn = "--coordinator $(cat " + state_str + "/address) --token-file " +
                           state_str + "/token";
  std::printf(
      "%s sweep %lld: coordinator Slurm job %s (1 CPU), workers Slurm job array %s (%d task(s) "
      "x %d GPU(s))\n"
      "  watch:    squeue -j %s,%s\n"
      "            gridsearch status %s --sweep %lld\n"
      "  results:  gridsearch results %s --sweep %lld\n"
      "            (once the coordinator has exited: gridsearch results --db %s --sweep %lld)\n"
      "  logs:     %s/logs/\n"
      "  stop:     gridsearch slurm down --state-dir %s\n"
      "  resume:   gridsearch slurm up %s --state-dir %s ...\n",
      resuming ? "resumed" : "submitted", static_cast<long long>(st.sweep_id),
      st.coordinator_job.c_str(), st.worker_job.c_str(), f.workers, f.gpus_per_worker,
      st.coordinator_job.c_str(), st.worker_job.c_str(), conn.c_str(),
      static_cast<long long>(st.sweep_id), conn.c_str(), static_cast<long long>(st.sweep_id),
      db_path.c_str(), static_cast<long long>(st.sweep_id), state_str.c_str(), state_str.c_str(),
      f.spec_path.c_str(), state_str.c_str());
  return kExitOk;
}

int RunSlurmDownCommand(const std::string& state_dir) {
  const fs::path state = fs::absolute(state_dir).lexically_normal();
  SlurmState st;
  std::string error;
  if (!ReadState(state, &st, &error)) return Refuse(error);
  // Workers first, while the coordinator can still take their jobs back.
  bool ok = CancelAndWait(st.worker_job, "the workers");
  ok = CancelAndWait(st.coordinator_job, "the coordinator") && ok;
  std::error_code ec;
  fs::remove(state / "address", ec);
  if (!ok) return Failed("some jobs did not end; see squeue");
  std::printf("stopped sweep %lld; finished jobs are kept in %s\n"
              "  results: gridsearch results --db %s --sweep %lld\n"
              "  resume:  gridsearch slurm up SPEC --state-dir %s\n",
              static_cast<long long>(st.sweep_id), (state / "study.db").c_str(),
              (state / "study.db").c_str(), static_cast<long long>(st.sweep_id), state.c_str());
  return kExitOk;
}

}  // namespace gridsearch
