// A minimal test harness: TEST(name) registers a case, CHECK(...) records a failure and carries on.
// The runner prints one line per failure and closes with "N passed, M failed".
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace harness {

struct Case {
  const char* name;
  void (*run)();
};

std::vector<Case>& registry();
void fail(const char* file, int line, const std::string& what);
// Directory holding ww2.json (argv[1] of the runner).
const std::string& vectors_dir();
std::string read_file(const std::string& path);

struct Registrar {
  Registrar(const char* name, void (*run)()) { registry().push_back({name, run}); }
};

}  // namespace harness

#define TEST(name)                                                  \
  static void test_##name();                                        \
  static harness::Registrar registrar_##name(#name, &test_##name);  \
  static void test_##name()

#define CHECK(condition)                                                   \
  do {                                                                     \
    if (!(condition)) harness::fail(__FILE__, __LINE__, #condition);       \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                     \
  do {                                                                                                 \
    auto actual_value_ = (actual);                                                                     \
    auto expected_value_ = (expected);                                                                 \
    if (!(actual_value_ == expected_value_)) {                                                         \
      harness::fail(__FILE__, __LINE__, std::string(#actual " == " #expected " (got ") +               \
                                            harness::show(actual_value_) + ", want " +                 \
                                            harness::show(expected_value_) + ")");                     \
    }                                                                                                  \
  } while (0)

namespace harness {
inline std::string show(const std::string& v) { return "\"" + v + "\""; }
inline std::string show(const char* v) { return show(std::string(v)); }
inline std::string show(bool v) { return v ? "true" : "false"; }
template <class T>
std::string show(const T& v) {
  return std::to_string(v);
}
}  // namespace harness
