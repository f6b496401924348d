// A full disk under a real coordinator: its SQLite file on a tmpfs of
// limited size that the test mounts (as root) and fills. While it is full,
// writes are refused with RESOURCE_EXHAUSTED naming the file, reads go on,
// workers keep their results and retry; once space is freed everything
// resumes by itself and the file is intact.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/test_util.h"

namespace gridsearch {
namespace testing {
namespace {

using json = nlohmann::json;

// A tmpfs of `megabytes` at `dir`, unmounted (lazily, so that nothing left
// open can keep it) whatever happens.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, int megabytes) : dir_(dir) {
    const std::string options = "size=" + std::to_string(megabytes) + "m";
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      error_ = std::string("mkdir: ") + std::strerror(errno);
    } else if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
    } else {
      mounted_ = true;
    }
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes zeros to `path` until the filesystem refuses; returns the bytes.
int64_t FillDisk(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  std::vector<char> chunk(64 << 10, 0);
  int64_t total = 0;
  for (size_t size = chunk.size(); size > 0;) {
    const ssize_t n = write(fd, chunk.data(), size);
    if (n > 0) {
      total += n;
    } else {
      size /= 2;  // fill the last pages too
    }
  }
  close(fd);
  return total;
}

class FullDiskTest : public ::testing::Test {
 protected:
  std::string Bin() const { return GRIDSEARCH_BIN; }

  TempDir dir_;
};

TEST_F(FullDiskTest, WritesAreRefusedReadsGoOnAndEverythingResumesOnceSpaceIsFreed) {
  ASSERT_EQ(geteuid(), 0u) << "the full-disk test mounts a tmpfs: it needs root";
  const std::string disk = dir_.File("disk");
  TmpfsMount mount(disk, 64);
  ASSERT_TRUE(mount.mounted()) << mount.error();
  const std::string db = disk + "/sweep.db";
  const std::string log = dir_.File("log.txt");
  const std::string port_file = dir_.File("port");
  // The processes go before the mount does (members and locals are
  // destroyed in reverse order).
  auto coordinator = std::make_unique<Process>(
      std::vector<std::string>{Bin(), "coordinator", "--db", db, "--listen", "127.0.0.1:0",
                               "--port-file", port_file, "--lease-timeout", "60"},
      log);
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(port_file).empty(); }, 30)) << ReadFile(log);
  std::string addr = ReadFile(port_file);
  while (!addr.empty() && (addr.back() == '\n' || addr.back() == ' ')) addr.pop_back();
  auto submit = [&](const std::string& name, std::string* out) {
    const json spec = {{"name", name},          {"model", "logreg"},    {"dataset", "synthetic"},
                       {"batch_size", 16},      {"budget_seconds", 3},  {"seeds", {1, 2}},
                       {"optimizers", {{"sgd", {{"lr", {0.1, 0.01}}}}}}};
    WriteFile(dir_.File("spec.json"), spec.dump());
    std::string o, e;
    const int code = RunCommand({Bin(), "submit", dir_.File("spec.json"), "--coordinator", addr}, &o, &e);
    *out = o + e;
    return code;
  };
  std::string out;
  ASSERT_EQ(submit("before the disk fills", &out), 0) << out;
  auto worker = std::make_unique<Process>(
      std::vector<std::string>{Bin(), "worker", "--coordinator", addr, "--threads", "1",
                               "--worker-id", "disk-worker"},
      log);
  ASSERT_TRUE(WaitFor([&] { return QueryNumber(db, "SELECT COUNT(*) FROM curve_points") > 0; }, 60))
      << ReadFile(log);

  // Full.
  const std::string filler = disk + "/filler";
  ASSERT_GT(FillDisk(filler), 0);
  const int64_t done_when_full = QueryNumber(db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'");
  EXPECT_NE(submit("while the disk is full", &out), 0) << out;
  EXPECT_NE(out.find("RESOURCE_EXHAUSTED"), std::string::npos) << out;
  EXPECT_NE(out.find("the disk holding " + db + " is full"), std::string::npos) << out;
  // Reads are served.
  std::string status, err;
  EXPECT_EQ(RunCommand({Bin(), "status", "--coordinator", addr}, &status, &err), 0) << err;
  EXPECT_NE(status.find("before the disk fills"), std::string::npos) << status;
  EXPECT_EQ(RunCommand({Bin(), "results", "--coordinator", addr}, &status, &err), 0) << err;
  // The worker trains on; what it cannot store waits with it.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  EXPECT_TRUE(coordinator->Running()) << ReadFile(log);
  EXPECT_TRUE(worker->Running()) << ReadFile(log);
  EXPECT_EQ(QueryNumber(db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'"), done_when_full);
  EXPECT_EQ(QueryOne(db, "PRAGMA integrity_check"), "ok");

  // Space again: everything resumes by itself.
  ASSERT_EQ(unlink(filler.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return QueryNumber(db, "SELECT COUNT(*) FROM jobs WHERE state = 'done'") == 4; },
                      90))
      << ReadFile(log) << "\njobs: "
      << QueryOne(db, "SELECT group_concat(id || ' ' || state || ' ' || attempts || ' ' || "
                      "COALESCE(error, ''), '; ') FROM jobs");
  EXPECT_EQ(QueryOne(db, "PRAGMA integrity_check"), "ok");
  // Nothing was dropped: every job's curve is whole, under the attempt
  // that finished it, and it took one attempt.
  EXPECT_EQ(QueryNumber(db, "SELECT COUNT(*) FROM jobs j WHERE j.steps > 0 AND j.steps = "
                            "(SELECT COUNT(*) FROM curve_points c WHERE c.job_id = j.id AND "
                            "c.attempt = j.finished_attempt) AND j.attempts = 1"),
            4)
      << QueryOne(db, "SELECT group_concat(id || ':' || steps || ':' || attempts, ' ') FROM jobs");
  EXPECT_EQ(submit("after", &out), 0) << out;
  worker.reset();
  coordinator.reset();
}

}  // namespace
}  // namespace testing
}  // namespace gridsearch
