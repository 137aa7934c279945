// A small read-only JSON reader shared by the ESP32 and host builds (no heap-heavy DOM, no float).
// A JsonValue is a view of one value's text inside a document the caller keeps alive; numbers are
// handed out as their raw text so units can be converted exactly (decimal.h).
#pragma once

#include <cstddef>
#include <string>

namespace ww {

enum class JsonType { kInvalid, kObject, kArray, kString, kNumber, kTrue, kFalse, kNull };

class JsonValue {
 public:
  JsonValue() : begin_(nullptr), end_(nullptr) {}

  // Validates the whole document (one value, nothing but whitespace after it).
  static bool parse(const std::string& document, JsonValue& root);

  JsonType type() const;
  bool valid() const { return type() != JsonType::kInvalid; }

  // Object member by key; false when this is not an object or the key is absent.
  bool member(const char* key, JsonValue& out) const;
  // Array element by index; false when this is not an array or the index is past the end.
  bool at(size_t index, JsonValue& out) const;
  // Element count of an array or member count of an object; 0 otherwise.
  size_t size() const;

  // Decoded string contents (escapes resolved, \u as UTF-8); false when not a string.
  bool string(std::string& out) const;
  // A number's text exactly as written, e.g. "16.63"; empty when not a number.
  std::string number_text() const;
  bool is_true() const { return type() == JsonType::kTrue; }
  bool is_false() const { return type() == JsonType::kFalse; }

 private:
  JsonValue(const char* begin, const char* end) : begin_(begin), end_(end) {}

  const char* begin_;
  const char* end_;
};

// JSON string literal for `text` (quotes included), for building request bodies.
std::string json_quote(const std::string& text);

}  // namespace ww
