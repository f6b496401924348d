#include "coordinator/database.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include <sqlite3.h>

#include "sql/embedded_sql.h"

namespace gridsearch {
namespace {

// Migrations are sql/migrations/NNN_name.sql; NNN is the version they produce.
struct Migration {
  int version;
  const char* path;
  const char* text;
};

std::vector<Migration> Migrations() {
  std::vector<Migration> out;
  for (const auto& [path, text] : sql::Files()) {
    const char* prefix = "migrations/";
    if (std::strncmp(path.c_str(), prefix, std::strlen(prefix)) != 0) continue;
    int version = std::atoi(path.c_str() + std::strlen(prefix));
    if (version > 1) out.push_back({version, path.c_str(), text.c_str()});
  }
  return out;  // Files() is sorted by path, so by version
}

}  // namespace

// An SQLite error as a Status: BUSY is worth a retry, a constraint or a
// read-only file is the caller's, and a full disk is RESOURCE_EXHAUSTED,
// naming the file, so that callers back off until space is freed.
Status SqliteStatus(sqlite3* db, int rc, const std::string& msg) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return Status::Unavailable("sqlite: " + msg);
  if (primary == SQLITE_CONSTRAINT || primary == SQLITE_READONLY)
    return Status::FailedPrecondition("sqlite: " + msg);
  // A full disk also shows as an I/O error where SQLite grows a file itself
  // (the WAL index): the system's errno says which.
  if (primary == SQLITE_FULL || (primary == SQLITE_IOERR && db != nullptr &&
                                 sqlite3_system_errno(db) == ENOSPC)) {
    const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
    return Status::ResourceExhausted(
        "the disk holding " + std::string(file != nullptr && *file ? file : "the database") +
        " is full (sqlite: " + msg + "); nothing was written: retry once space is freed");
  }
  return Status::Internal("sqlite: " + msg);
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  if (std::isfinite(value))
    sqlite3_bind_double(stmt_, index, value);
  else
    sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::Bind(int index, const std::string& value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Status Statement::Step(bool* has_row) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    *has_row = true;
    return Status::OK();
  }
  *has_row = false;
  if (rc == SQLITE_DONE) return Status::OK();
  return SqliteStatus(db_, rc, sqlite3_errmsg(db_));
}

Status Statement::Run() {
  bool row = true;
  while (row) GS_RETURN_IF_ERROR(Step(&row));
  return Status::OK();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::IsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
int64_t Statement::Int(int c) const { return sqlite3_column_int64(stmt_, c); }
double Statement::Double(int c) const {
  if (IsNull(c)) return std::nan("");
  return sqlite3_column_double(stmt_, c);
}
std::string Statement::Text(int c) const {
  const unsigned char* t = sqlite3_column_text(stmt_, c);
  if (t == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, c));
}

Database::~Database() {
  cache_.clear();
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Database::Error(const std::string& what) const {
  return Status::Internal(what + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

Status Database::Open(const std::string& path, bool read_only, std::unique_ptr<Database>* out) {
  static std::once_flag configured;
  std::call_once(configured, [] {
    // No memory statistics: they take a process-wide mutex at every
    // allocation, which the writer, the checkpointer and the readers would
    // contend for. (Refused, harmlessly, if SQLite was already in use.)
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
  });
  std::unique_ptr<Database> db(new Database());
  db->read_only_ = read_only;
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db->db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db->db_ ? sqlite3_errmsg(db->db_) : "out of memory";
    return Status::NotFound("cannot open database '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db->db_, 10000);
  sqlite3_extended_result_codes(db->db_, 1);
  if (!read_only) {
    GS_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL").WithContext(path));
    GS_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
    // The writer's savepoint per operation keeps a sub-journal of the pages
    // each operation changes; on disk (past 64 KiB) that was most of the
    // writer's system calls. In memory it is a few MB, freed at each commit.
    GS_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
    // The writer's pages: a cluster's active jobs each append to their own
    // curve page (SQLite's default cache is 2 MB).
    GS_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-32768"));
  }
  GS_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
  if (read_only) {
    int version = 0;
    GS_RETURN_IF_ERROR(db->SchemaVersion(&version).WithContext(path));
    if (version == 0)
      return Status::FailedPrecondition("'" + path + "' is not a gridsearch database (no schema)");
    if (version > LatestSchemaVersion())
      return Status::FailedPrecondition(
          "'" + path + "' has schema version " + std::to_string(version) +
          ", newer than this gridsearch knows (" + std::to_string(LatestSchemaVersion()) + ")");
    if (version < LatestSchemaVersion())
      return Status::FailedPrecondition(
          "'" + path + "' has schema version " + std::to_string(version) +
          "; reading needs version " + std::to_string(LatestSchemaVersion()) +
          ": upgrade the file by starting `gridsearch coordinator --db " + path + "` once");
  } else {
    GS_RETURN_IF_ERROR(db->Migrate().WithContext(path));
  }
  *out = std::move(db);
  return Status::OK();
}

int Database::LatestSchemaVersion() {
  int latest = 1;
  for (const auto& m : Migrations()) latest = std::max(latest, m.version);
  return latest;
}

Status Database::SchemaVersion(int* version) {
  Statement st;
  GS_RETURN_IF_ERROR(Prepare("PRAGMA user_version", &st));
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  *version = row ? static_cast<int>(st.Int(0)) : 0;
  return Status::OK();
}

Status Database::Migrate() {
  int version = 0;
  GS_RETURN_IF_ERROR(SchemaVersion(&version));
  int latest = LatestSchemaVersion();
  if (version > latest)
    return Status::FailedPrecondition("schema version " + std::to_string(version) +
                                      " is newer than this gridsearch knows (" +
                                      std::to_string(latest) + "); upgrade gridsearch");
  if (version == latest) return Status::OK();
  return InTransaction(this, [&]() -> Status {
    if (version == 0) {
      const char* schema = sql::Find("schema.sql");
      if (schema == nullptr) return Status::Internal("schema.sql was not embedded");
      GS_RETURN_IF_ERROR(Exec(schema).WithContext("schema.sql"));
      version = 1;
    }
    for (const auto& m : Migrations()) {
      if (m.version <= version) continue;
      GS_RETURN_IF_ERROR(Exec(m.text).WithContext(m.path));
      version = m.version;
    }
    return Exec("PRAGMA user_version=" + std::to_string(version));
  });
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqliteStatus(db_, rc, msg);
  }
  return Status::OK();
}

Status Database::Prepare(const std::string& sql, Statement* stmt) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) return Error("preparing SQL");
  *stmt = Statement(db_, raw);
  return Status::OK();
}

Status Database::Cached(const char* sql, Statement** stmt) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = std::make_unique<Statement>();
    GS_RETURN_IF_ERROR(Prepare(sql, st.get()));
    it = cache_.emplace(sql, std::move(st)).first;
  }
  it->second->Reset();
  *stmt = it->second.get();
  return Status::OK();
}

Status Database::ExecCached(const char* sql) {
  Statement* st = nullptr;
  GS_RETURN_IF_ERROR(Cached(sql, &st));
  Status s = st->Run();
  st->Reset();  // holds nothing between uses
  return s;
}

bool Database::TransactionOpen() const { return sqlite3_get_autocommit(db_) == 0; }

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int Database::Changes() const { return sqlite3_changes(db_); }

}  // namespace gridsearch
