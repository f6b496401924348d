// The SQL files of sql/, embedded in the binary at build time.
#ifndef GRIDSEARCH_SQL_EMBEDDED_SQL_H_
#define GRIDSEARCH_SQL_EMBEDDED_SQL_H_

#include <string>
#include <utility>
#include <vector>

namespace gridsearch {
namespace sql {

// Every embedded file as (path, text), sorted by path; paths are relative
// to sql/, e.g. "schema.sql", "migrations/002_x.sql".
const std::vector<std::pair<std::string, std::string>>& Files();

// The text of `path`, or nullptr when it was not embedded.
const char* Find(const std::string& path);

// `text` with every "{name}" replaced by its value. Values come from fixed
// lists chosen by the caller (column names, ASC/DESC), never from user text.
std::string Substitute(std::string text,
                       const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace sql
}  // namespace gridsearch

#endif  // GRIDSEARCH_SQL_EMBEDDED_SQL_H_
