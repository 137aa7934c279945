// Runs every registered host test; usage: test_runner [VECTORS_DIR].
#include <cstdio>
#include <fstream>
#include <sstream>

#include "harness.h"

namespace harness {

namespace {
int g_failures_in_case = 0;
std::string g_vectors_dir = "../../../tests/vectors";
const char* g_current = "";
}  // namespace

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

void fail(const char* file, int line, const std::string& what) {
  ++g_failures_in_case;
  std::printf("FAIL %s (%s:%d): %s\n", g_current, file, line, what.c_str());
}

const std::string& vectors_dir() { return g_vectors_dir; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace harness

int main(int argc, char** argv) {
  if (argc > 1) harness::g_vectors_dir = argv[1];
  int passed = 0, failed = 0;
  for (const harness::Case& test : harness::registry()) {
    harness::g_current = test.name;
    harness::g_failures_in_case = 0;
    test.run();
    if (harness::g_failures_in_case == 0) {
      ++passed;
      std::printf("ok   %s\n", test.name);
    } else {
      ++failed;
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
