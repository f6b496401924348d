#include "sql/embedded_sql.h"

namespace gridsearch {
namespace sql {

const char* Find(const std::string& path) {
  for (const auto& f : Files())
    if (path == f.path) return f.text;
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
