// User-supplied text on its way to a terminal, a table or a log line: a
// sweep name, an error message, a worker id or a parameter string could hold
// ANSI escape sequences, CR or NUL that rewrite the operator's screen.
#ifndef GRIDSEARCH_COMMON_TEXT_ESCAPE_H_
#define GRIDSEARCH_COMMON_TEXT_ESCAPE_H_

#include <string>
#include <string_view>

namespace gridsearch {

// `s` with every control character written out visibly: \n, \r, \t, \xNN
// for the other C0 bytes and DEL, \u00NN for the C1 controls (U+0080 to
// U+009F, which some terminals obey as well), \xNN for bytes that are not
// UTF-8. Printable text, including any other UTF-8, is left as it is.
std::string EscapeControl(std::string_view s);

// The first control character of `s` as EscapeControl writes it ("\x1b"),
// or "" when it has none.
std::string FirstControl(std::string_view s);

// `s` with every byte that is not part of valid UTF-8 written as \xNN,
// and nothing else changed (newlines and tabs stay): fit for a protobuf
// string field.
std::string ToValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` that does not cut a
// UTF-8 character in two.
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_TEXT_ESCAPE_H_
