// Database: one SQLite connection with the settings of DESIGN.md (WAL,
// synchronous=FULL, foreign keys, busy timeout) and the schema migrations of
// sql/. Statement: a prepared statement with typed binds and columns.
//
// A Database is not thread-safe: callers serialise access (the coordinator's
// writer thread owns the read-write connection; readers use their own).
#ifndef GRIDSEARCH_COORDINATOR_DATABASE_H_
#define GRIDSEARCH_COORDINATOR_DATABASE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gridsearch {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds are 1-based like SQLite's. Non-finite doubles bind as NULL.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, const std::string& value);
  Statement& BindNull(int index);

  // Advances: *has_row tells whether a row is available. Errors carry
  // SQLite's message.
  Status Step(bool* has_row);
  // Runs to completion, ignoring rows.
  Status Run();
  // Clears binds and rewinds, for reuse.
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  double Double(int column) const;   // NULL reads as NaN
  std::string Text(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Opens (creating unless read_only) `path` and brings its schema to the
  // latest version. A file written by a newer gridsearch is refused with
  // FailedPrecondition rather than touched.
  static Status Open(const std::string& path, bool read_only, std::unique_ptr<Database>* db);

  Status Exec(const std::string& sql);
  Status Prepare(const std::string& sql, Statement* stmt);
  // A statement prepared once per connection, reset before it is returned.
  Status Cached(const char* sql, Statement** stmt);
  // Runs a statement without parameters prepared once per connection: the
  // writer's BEGIN, SAVEPOINT, RELEASE and COMMIT, thousands a second.
  Status ExecCached(const char* sql);

  int64_t LastInsertId() const;
  // False once a transaction ended, including one SQLite rolled back by
  // itself after an error such as a full disk.
  bool TransactionOpen() const;
  int Changes() const;
  sqlite3* handle() { return db_; }

  // The schema version this binary writes.
  static int LatestSchemaVersion();
  Status SchemaVersion(int* version);

 private:
  Database() = default;
  Status Migrate();
  Status Error(const std::string& what) const;

  sqlite3* db_ = nullptr;
  bool read_only_ = false;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back on error.
template <typename F>
Status InTransaction(Database* db, F body) {
  GS_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (!s.ok()) {
    db->Exec("ROLLBACK");
    return s;
  }
  s = db->Exec("COMMIT");
  if (!s.ok()) db->Exec("ROLLBACK");
  return s;
}

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_DATABASE_H_
