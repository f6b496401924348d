// Helpers shared by the tests: temporary folders, child processes, polling.
#ifndef GRIDSEARCH_TESTS_TEST_UTIL_H_
#define GRIDSEARCH_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gridsearch {
namespace testing {

// A fresh folder under $TMPDIR (or /tmp), removed with its contents at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process running the gridsearch binary (or any program).
class Process {
 public:
  // Starts `argv[0]` with the rest as arguments; output goes to `log_path`
  // (appended) when given.
  Process(const std::vector<std::string>& argv, const std::string& log_path = "");
  ~Process();  // SIGKILLs the child if it is still running
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for exit up to `seconds`; returns the exit status or -1 on timeout.
  int Wait(double seconds);
  bool Running();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Runs a command to completion and captures its stdout; returns exit status.
int RunCommand(const std::vector<std::string>& argv, std::string* out, std::string* err = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls `cond` every 50 ms until it holds or `seconds` pass.
bool WaitFor(const std::function<bool()>& cond, double seconds);

// (tests/test_db.cc, for the tests that link the coordinator.) The first
// column of the first row of `sql` on the SQLite file at
// `db_path`, read through its own read-only connection; "" when the file,
// the query or the value is missing (NULL).
std::string QueryOne(const std::string& db_path, const std::string& sql);
// QueryOne as a number; -1 when missing.
int64_t QueryNumber(const std::string& db_path, const std::string& sql);
// The first column of every row, as the doubles stored (NULL: NaN). Exact,
// unlike SQLite's own printf of a REAL.
std::vector<double> QueryDoubles(const std::string& db_path, const std::string& sql);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

}  // namespace testing
}  // namespace gridsearch

#endif  // GRIDSEARCH_TESTS_TEST_UTIL_H_
