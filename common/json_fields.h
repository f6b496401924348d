// Messages for the fields of a spec, shared by its parsers: each names the
// field by its path ("optimizers.sgd.lr[2]") and says what was wrong.
#ifndef GRIDSEARCH_COMMON_JSON_FIELDS_H_
#define GRIDSEARCH_COMMON_JSON_FIELDS_H_

#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace gridsearch {
namespace spec_fields {

inline const char* TypeName(const nlohmann::json& j) {
  using t = nlohmann::json::value_t;
  switch (j.type()) {
    case t::null: return "null";
    case t::object: return "object";
    case t::array: return "array";
    case t::string: return "string";
    case t::boolean: return "boolean";
    case t::number_integer:
    case t::number_unsigned: return "integer";
    case t::number_float: return "number";
    default: return "unknown";
  }
}

inline Status Invalid(const std::string& field, const std::string& what) {
  return Status::InvalidArgument(field + ": " + what);
}

inline Status WrongType(const std::string& field, const char* expected, const nlohmann::json& got) {
  return Invalid(field, std::string("expected ") + expected + ", got " + TypeName(got));
}

}  // namespace spec_fields

// Parses `text` as JSON, refusing an object that gives a key twice (the
// parser would keep the last value and silently drop the first): the
// message names the key by its path, e.g. "optimizers.sgd.lr: given twice
// in the same object". Syntax errors come back as "not valid JSON: ...".
Status ParseJsonNoDuplicateKeys(const std::string& text, nlohmann::json* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_JSON_FIELDS_H_
