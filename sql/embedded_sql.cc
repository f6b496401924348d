#include "sql/embedded_sql.h"

namespace gridsearch {
namespace sql {

const char* Find(const std::string& path) {
  for (const auto& f : Files())
    if (path == f.path) return f.text;
  return nullptr;
}

}  // namespace sql
}  // namespace gridsearch
