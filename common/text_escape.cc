#include "common/text_escape.h"

#include <cstdio>

namespace gridsearch {
namespace {

// The length of the valid UTF-8 sequence at s[i], or 0. Valid as RFC 3629
// says: no overlong forms, no surrogates (U+D800..U+DFFF), nothing past
// U+10FFFF; what JSON writers and protobuf accept.
size_t Utf8Length(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return 0;
  if (n == 1) return 1;
  const unsigned char second = static_cast<unsigned char>(s[i + 1]);
  if (n == 2 && c < 0xc2) return 0;                       // overlong
  if (c == 0xe0 && second < 0xa0) return 0;               // overlong
  if (c == 0xed && second > 0x9f) return 0;               // a surrogate
  if (c == 0xf0 && second < 0x90) return 0;               // overlong
  if (c == 0xf4 && second > 0x8f) return 0;               // past U+10FFFF
  if (c > 0xf4) return 0;
  return n;
}

// Appends the escape of the character at s[i] if it is a control (or not
// UTF-8) and returns how many bytes it took; 0 for a printable character.
size_t EscapeOne(std::string_view s, size_t i, std::string* out) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  char buf[8];
  if (c < 0x20 || c == 0x7f) {
    if (c == '\n') *out += "\\n";
    else if (c == '\r') *out += "\\r";
    else if (c == '\t') *out += "\\t";
    else {
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      *out += buf;
    }
    return 1;
  }
  if (c < 0x80) return 0;
  const size_t n = Utf8Length(s, i);
  if (n == 0) {
    std::snprintf(buf, sizeof(buf), "\\x%02x", c);
    *out += buf;
    return 1;
  }
  if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
    std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(s[i + 1]));
    *out += buf;
    return 2;
  }
  return 0;
}

}  // namespace

std::string EscapeControl(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t escaped = EscapeOne(s, i, &out);
    if (escaped > 0) {
      i += escaped;
      continue;
    }
    const size_t n = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : Utf8Length(s, i);
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string FirstControl(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    std::string escape;
    const size_t escaped = EscapeOne(s, i, &escape);
    if (escaped > 0) return escape;
    i += static_cast<unsigned char>(s[i]) < 0x80 ? 1 : Utf8Length(s, i);
  }
  return "";
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t end = max_bytes;
  // Back up over continuation bytes to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(s[end]) >> 6) == 0x2) --end;
  return std::string(s.substr(0, end));
}

}  // namespace gridsearch
