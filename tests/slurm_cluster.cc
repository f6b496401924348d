#include "tests/slurm_cluster.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <filesystem>
#include <sstream>
#include <thread>

namespace gridsearch {
namespace testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

pid_t PidFromFile(const std::string& path) {
  const std::string text = Trim(ReadFile(path));
  return text.empty() ? -1 : static_cast<pid_t>(std::atoi(text.c_str()));
}

bool Alive(pid_t pid) { return pid > 0 && kill(pid, 0) == 0; }

// Sends SIGTERM, waits up to `seconds`, then SIGKILL.
void StopPid(pid_t pid, double seconds) {
  if (!Alive(pid)) return;
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (Alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (Alive(pid)) kill(pid, SIGKILL);
}

// Every process started under this cluster (daemons, slurmstepd, which
// outlives them and ignores SIGTERM, and anything a job left) has our
// SLURM_CONF in its environment: those are killed at the end.
void KillProcessesOf(const std::string& conf) {
  const std::string needle = "SLURM_CONF=" + conf;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::string env = ReadFile("/proc/" + std::to_string(pid) + "/environ");
    for (char& c : env)
      if (c == '\0') c = '\n';
    if (("\n" + env + "\n").find("\n" + needle + "\n") != std::string::npos) kill(pid, SIGKILL);
  }
  closedir(proc);
}

// Starts a daemon that forks into the background: its output goes to a
// file (a pipe would stay open in the daemon), and the starter's exit code
// comes back.
int StartDaemon(const std::vector<std::string>& argv, const std::string& log) {
  Process p(argv, log);
  const int status = p.Wait(60);
  return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

SlurmCluster::SlurmCluster() = default;

SlurmCluster::~SlurmCluster() { Stop(); }

bool SlurmCluster::Start(std::string* error) {
  namespace fs = std::filesystem;
  const std::string d = dir_.path();
  if (geteuid() != 0) {
    *error = "the Slurm tests need root: slurmd starts every job as its user";
    return false;
  }
  for (const char* sub : {"etc", "munge", "ctld", "spool", "log", "gpus"})
    fs::create_directories(d + "/" + sub);
  // munged wants its socket's folder world-executable.
  chmod(d.c_str(), 0755);
  chmod((d + "/munge").c_str(), 0755);
  for (int i = 0; i < 2; ++i) {
    std::error_code ec;
    fs::create_symlink("/dev/null", d + "/gpus/nvidia" + std::to_string(i), ec);
  }

  std::string out, err;
  const std::string key = d + "/munge/munge.key";
  if (RunCommand({"/usr/sbin/mungekey", "-c", "-k", key}, &out, &err) != 0) {
    *error = "mungekey: " + err;
    return false;
  }
  chmod(key.c_str(), 0600);
  const std::string socket = d + "/munge/munge.socket";
  const std::string start_log = d + "/log/start.log";
  if (StartDaemon({"/usr/sbin/munged", "--key-file", key, "--socket", socket, "--pid-file",
                   d + "/munge/munged.pid", "--log-file", d + "/log/munged.log", "--seed-file",
                   d + "/munge/munged.seed", "--force"},
                  start_log) != 0) {
    *error = "munged: " + ReadFile(start_log) + ReadFile(d + "/log/munged.log");
    return false;
  }
  started_ = true;

  const int ctld_port = FreePort();
  int slurmd_port = FreePort();
  while (slurmd_port == ctld_port) slurmd_port = FreePort();
  std::ostringstream conf;
  conf << "ClusterName=gstest\n"
       << "SlurmctldHost=localhost\n"
       << "SlurmctldPort=" << ctld_port << "\n"
       << "SlurmdPort=" << slurmd_port << "\n"
       << "SlurmUser=root\nSlurmdUser=root\n"
       << "AuthType=auth/munge\nCredType=cred/munge\n"
       << "AuthInfo=socket=" << socket << "\n"
       << "StateSaveLocation=" << d << "/ctld\n"
       << "SlurmdSpoolDir=" << d << "/spool\n"
       << "SlurmctldPidFile=" << d << "/slurmctld.pid\n"
       << "SlurmdPidFile=" << d << "/slurmd.pid\n"
       << "SlurmctldLogFile=" << d << "/log/slurmctld.log\n"
       << "SlurmdLogFile=" << d << "/log/slurmd.log\n"
       << "ProctrackType=proctrack/pgid\n"
       << "TaskPlugin=task/none\n"
       << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
       << "SlurmdParameters=config_overrides\n"
       << "SchedulerParameters=batch_sched_delay=0,bf_interval=1\n"
       << "GresTypes=gpu\n"
       << "MpiDefault=none\n"
       << "JobAcctGatherType=jobacct_gather/none\n"
       << "AccountingStorageType=accounting_storage/none\n"
       << "ReturnToService=2\n"
       << "MinJobAge=600\n"
       << "KillWait=10\n"
       << "NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=1000 "
          "Gres=gpu:2 State=UNKNOWN\n"
       << "PartitionName=test Nodes=node1 Default=YES MaxTime=INFINITE State=UP\n";
  conf_ = d + "/etc/slurm.conf";
  WriteFile(conf_, conf.str());
  WriteFile(d + "/etc/gres.conf",
            "AutoDetect=off\nName=gpu File=" + d + "/gpus/nvidia[0-1]\n");
  setenv("SLURM_CONF", conf_.c_str(), 1);

  if (StartDaemon({"/usr/sbin/slurmctld", "-c"}, start_log) != 0) {
    *error = "slurmctld: " + ReadFile(start_log) + Logs();
    return false;
  }
  if (StartDaemon({"/usr/sbin/slurmd", "-N", "node1"}, start_log) != 0) {
    *error = "slurmd: " + ReadFile(start_log) + Logs();
    return false;
  }
  const bool idle = WaitFor(
      [&] {
        std::string state;
        RunCommand({"/usr/bin/sinfo", "-h", "-n", "node1", "-o", "%T"}, &state);
        return Trim(state) == "idle";
      },
      60);
  if (!idle) {
    std::string state;
    RunCommand({"/usr/bin/sinfo", "-h", "-N", "-o", "%N %T %E"}, &state);
    *error = "the node did not become idle: " + state + Logs();
    return false;
  }
  return true;
}

std::vector<std::string> SlurmCluster::States(const std::string& job_id) const {
  std::vector<std::string> states;
  std::string out;
  if (RunCommand({"/usr/bin/squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"}, &out) != 0)
    return states;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (!Trim(line).empty()) states.push_back(Trim(line));
  return states;
}

bool SlurmCluster::Live(const std::string& job_id) const {
  for (const auto& s : States(job_id))
    if (s == "PENDING" || s == "RUNNING" || s == "COMPLETING" || s == "CONFIGURING" ||
        s == "REQUEUED")
      return true;
  return false;
}

std::vector<std::string> SlurmCluster::RunningTasks(const std::string& array_job) const {
  std::vector<std::string> ids;
  std::string out;
  RunCommand({"/usr/bin/squeue", "-h", "-t", "RUNNING", "-j", array_job, "-o", "%i"}, &out);
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line))
    if (!Trim(line).empty()) ids.push_back(Trim(line));
  return ids;
}

std::string SlurmCluster::Logs() const {
  const std::string d = dir_.path();
  return "\n--- slurmctld.log (end) ---\n" + ReadFile(d + "/log/slurmctld.log").substr(0, 20000) +
         "\n--- slurmd.log ---\n" + ReadFile(d + "/log/slurmd.log").substr(0, 20000);
}

void SlurmCluster::Stop() {
  if (!started_) return;
  started_ = false;
  const std::string d = dir_.path();
  std::string out;
  // Jobs first (their processes get SIGTERM, then SIGKILL after KillWait).
  if (Alive(PidFromFile(d + "/slurmctld.pid"))) {
    RunCommand({"/usr/bin/scancel", "--full", "-u", "root"}, &out);
    WaitFor(
        [&] {
          std::string jobs;
          RunCommand({"/usr/bin/squeue", "-h", "-o", "%i"}, &jobs);
          return Trim(jobs).empty();
        },
        30);
  }
  StopPid(PidFromFile(d + "/slurmd.pid"), 10);
  StopPid(PidFromFile(d + "/slurmctld.pid"), 10);
  if (!conf_.empty()) KillProcessesOf(conf_);
  StopPid(PidFromFile(d + "/munge/munged.pid"), 5);
  unsetenv("SLURM_CONF");
}

}  // namespace testing
}  // namespace gridsearch
