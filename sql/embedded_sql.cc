#include "sql/embedded_sql.h"

namespace gridsearch {

// Generated from sql/*.sql at build time (cmake/embed_text.cmake).
const std::vector<std::pair<std::string, std::string>>& EmbeddedSqlFiles();

namespace sql {

const std::vector<std::pair<std::string, std::string>>& Files() { return EmbeddedSqlFiles(); }

const char* Find(const std::string& path) {
  for (const auto& [name, text] : Files())
    if (path == name) return text.c_str();
  return nullptr;
}

std::string Substitute(std::string text,
                       const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "{" + name + "}";
    for (size_t pos = text.find(key); pos != std::string::npos;
         pos = text.find(key, pos + value.size()))
      text.replace(pos, key.size(), value);
  }
  return text;
}

}  // namespace sql
}  // namespace gridsearch
