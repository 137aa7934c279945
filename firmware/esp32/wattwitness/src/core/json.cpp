// Validating skip-parser behind JsonValue: every lookup re-walks the (small) document text.
#include "json.h"

#include <cstdint>
#include <cstring>

namespace ww {

namespace {

// Nesting deeper than this is refused: the meter and server answers are two or three levels deep.
constexpr int kMaxDepth = 32;

const char* skip_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Returns the position after a string literal starting at p (which must be '"'), or nullptr.
// When `decoded` is given, the unescaped contents are appended to it.
const char* scan_string(const char* p, const char* end, std::string* decoded) {
  if (p >= end || *p != '"') return nullptr;
  ++p;
  while (p < end) {
    char c = *p++;
    if (c == '"') return p;
    if (static_cast<unsigned char>(c) < 0x20) return nullptr;
    if (c != '\\') {
      if (decoded) decoded->push_back(c);
      continue;
    }
    if (p >= end) return nullptr;
    char e = *p++;
    char plain = 0;
    switch (e) {
      case '"': plain = '"'; break;
      case '\\': plain = '\\'; break;
      case '/': plain = '/'; break;
      case 'b': plain = '\b'; break;
      case 'f': plain = '\f'; break;
      case 'n': plain = '\n'; break;
      case 'r': plain = '\r'; break;
      case 't': plain = '\t'; break;
      case 'u': {
        if (end - p < 4) return nullptr;
        uint32_t code = 0;
        for (int k = 0; k < 4; ++k) {
          int v = hex_value(p[k]);
          if (v < 0) return nullptr;
          code = (code << 4) | static_cast<uint32_t>(v);
        }
        p += 4;
        if (decoded) {
          // Surrogate pairs are not joined: no field this firmware reads carries characters beyond the BMP.
          if (code < 0x80) {
            decoded->push_back(static_cast<char>(code));
          } else if (code < 0x800) {
            decoded->push_back(static_cast<char>(0xC0 | (code >> 6)));
            decoded->push_back(static_cast<char>(0x80 | (code & 0x3F)));
          } else {
            decoded->push_back(static_cast<char>(0xE0 | (code >> 12)));
            decoded->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            decoded->push_back(static_cast<char>(0x80 | (code & 0x3F)));
          }
        }
        continue;
      }
      default:
        return nullptr;
    }
    if (decoded) decoded->push_back(plain);
  }
  return nullptr;
}

const char* scan_number(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p >= end || !is_digit(*p)) return nullptr;
  if (*p == '0') {
    ++p;
  } else {
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  return p;
}

const char* scan_literal(const char* p, const char* end, const char* word) {
  size_t n = std::strlen(word);
  if (static_cast<size_t>(end - p) < n || std::memcmp(p, word, n) != 0) return nullptr;
  return p + n;
}

// Returns the position just after the value starting at p (no leading whitespace), or nullptr if malformed.
const char* scan_value(const char* p, const char* end, int depth) {
  if (p >= end || depth > kMaxDepth) return nullptr;
  switch (*p) {
    case '"':
      return scan_string(p, end, nullptr);
    case 't':
      return scan_literal(p, end, "true");
    case 'f':
      return scan_literal(p, end, "false");
    case 'n':
      return scan_literal(p, end, "null");
    case '{':
    case '[': {
      bool object = *p == '{';
      char close = object ? '}' : ']';
      p = skip_ws(p + 1, end);
      if (p < end && *p == close) return p + 1;
      while (p < end) {
        if (object) {
          p = scan_string(p, end, nullptr);
          if (!p) return nullptr;
          p = skip_ws(p, end);
          if (p >= end || *p != ':') return nullptr;
          p = skip_ws(p + 1, end);
        }
        p = scan_value(p, end, depth + 1);
        if (!p) return nullptr;
        p = skip_ws(p, end);
        if (p >= end) return nullptr;
        if (*p == close) return p + 1;
        if (*p != ',') return nullptr;
        p = skip_ws(p + 1, end);
      }
      return nullptr;
    }
    default:
      return scan_number(p, end);
  }
}

}  // namespace

bool JsonValue::parse(const std::string& document, JsonValue& root) {
  const char* begin = document.data();
  const char* end = begin + document.size();
  const char* start = skip_ws(begin, end);
  const char* stop = scan_value(start, end, 0);
  if (!stop || skip_ws(stop, end) != end) return false;
  root = JsonValue(start, stop);
  return true;
}

JsonType JsonValue::type() const {
  if (!begin_ || begin_ >= end_) return JsonType::kInvalid;
  switch (*begin_) {
    case '{': return JsonType::kObject;
    case '[': return JsonType::kArray;
    case '"': return JsonType::kString;
    case 't': return JsonType::kTrue;
    case 'f': return JsonType::kFalse;
    case 'n': return JsonType::kNull;
    default: return JsonType::kNumber;
  }
}

bool JsonValue::member(const char* key, JsonValue& out) const {
  if (type() != JsonType::kObject) return false;
  const char* p = skip_ws(begin_ + 1, end_);
  while (p < end_ && *p == '"') {
    std::string name;
    p = scan_string(p, end_, &name);
    p = skip_ws(p, end_);
    p = skip_ws(p + 1, end_);  // the ':' (the document was validated by parse)
    const char* value_end = scan_value(p, end_, 0);
    if (!value_end) return false;
    if (name == key) {
      out = JsonValue(p, value_end);
      return true;
    }
    p = skip_ws(value_end, end_);
    if (p < end_ && *p == ',') p = skip_ws(p + 1, end_);
  }
  return false;
}

bool JsonValue::at(size_t index, JsonValue& out) const {
  if (type() != JsonType::kArray) return false;
  const char* p = skip_ws(begin_ + 1, end_);
  size_t i = 0;
  while (p < end_ && *p != ']') {
    const char* value_end = scan_value(p, end_, 0);
    if (!value_end) return false;
    if (i == index) {
      out = JsonValue(p, value_end);
      return true;
    }
    ++i;
    p = skip_ws(value_end, end_);
    if (p < end_ && *p == ',') p = skip_ws(p + 1, end_);
  }
  return false;
}

size_t JsonValue::size() const {
  JsonType t = type();
  if (t != JsonType::kArray && t != JsonType::kObject) return 0;
  const char* p = skip_ws(begin_ + 1, end_);
  size_t count = 0;
  char close = t == JsonType::kObject ? '}' : ']';
  while (p < end_ && *p != close) {
    if (t == JsonType::kObject) {
      p = scan_string(p, end_, nullptr);
      p = skip_ws(skip_ws(p, end_) + 1, end_);
    }
    const char* value_end = scan_value(p, end_, 0);
    if (!value_end) return count;
    ++count;
    p = skip_ws(value_end, end_);
    if (p < end_ && *p == ',') p = skip_ws(p + 1, end_);
  }
  return count;
}

bool JsonValue::string(std::string& out) const {
  if (type() != JsonType::kString) return false;
  out.clear();
  return scan_string(begin_, end_, &out) != nullptr;
}

std::string JsonValue::number_text() const {
  if (type() != JsonType::kNumber) return std::string();
  return std::string(begin_, end_);
}

std::string json_quote(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace ww
