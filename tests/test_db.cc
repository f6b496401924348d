// The SQLite half of tests/test_util.h: reads of a database file.
#include "coordinator/database.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace testing {

std::string QueryOne(const std::string& db_path, const std::string& sql) {
  std::unique_ptr<Database> db;
  if (!Database::Open(db_path, true, &db).ok()) return "";
  Statement st;
  if (!db->Prepare(sql, &st).ok()) return "";
  bool row = false;
  if (!st.Step(&row).ok() || !row || st.IsNull(0)) return "";
  return st.Text(0);
}

int64_t QueryNumber(const std::string& db_path, const std::string& sql) {
  std::string v = QueryOne(db_path, sql);
  return v.empty() ? -1 : std::stoll(v);
}

std::vector<double> QueryDoubles(const std::string& db_path, const std::string& sql) {
  std::vector<double> out;
  std::unique_ptr<Database> db;
  if (!Database::Open(db_path, true, &db).ok()) return out;
  Statement st;
  if (!db->Prepare(sql, &st).ok()) return out;
  bool row = false;
  while (st.Step(&row).ok() && row) out.push_back(st.Double(0));
  return out;
}

}  // namespace testing
}  // namespace gridsearch
