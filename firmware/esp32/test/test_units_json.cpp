// Exact decimal conversion (never float) and the JSON reader both builds share.
#include "../wattwitness/src/core/decimal.h"
#include "../wattwitness/src/core/json.h"
#include "harness.h"

namespace {

int64_t milli(const std::string& text, bool* ok = nullptr) {
  int64_t out = -999999;
  bool parsed = ww::milli_from_decimal_text(text.data(), text.size(), out);
  if (ok) *ok = parsed;
  return parsed ? out : -999999;
}

bool rejects(const std::string& text) {
  bool ok = true;
  milli(text, &ok);
  return !ok;
}

}  // namespace

TEST(decimal_text_scales_exactly_to_milli_units) {
  CHECK_EQ(milli("16.63"), 16630);
  CHECK_EQ(milli("21700.0"), 21700000);
  CHECK_EQ(milli("-30.49"), -30490);
  CHECK_EQ(milli("0"), 0);
  CHECK_EQ(milli("16.35"), 16350);  // 16.35 * 1000 in binary floating point is 16350.000000000002
  CHECK_EQ(milli("0.001"), 1);
  CHECK_EQ(milli("1e3"), 1000000);
  CHECK_EQ(milli("1.5E+3"), 1500000);
  CHECK_EQ(milli("2500e-3"), 2500);
  CHECK_EQ(milli("123456789.123"), 123456789123);
  CHECK_EQ(milli("9223372036854775.807"), INT64_MAX);
  CHECK_EQ(milli("-9223372036854775.808"), INT64_MIN);
}

TEST(decimal_rounds_half_to_even_below_a_milli_unit_like_the_python_library) {
  CHECK_EQ(milli("0.0005"), 0);
  CHECK_EQ(milli("0.0015"), 2);
  CHECK_EQ(milli("0.0025"), 2);
  CHECK_EQ(milli("0.00251"), 3);
  CHECK_EQ(milli("1.2344"), 1234);
  CHECK_EQ(milli("1.2346"), 1235);
  CHECK_EQ(milli("-0.0015"), -2);
  CHECK_EQ(milli("5e-4"), 0);
  CHECK_EQ(milli("1e-9"), 0);
}

TEST(decimal_rejects_what_is_not_a_json_number_or_does_not_fit) {
  CHECK(rejects(""));
  CHECK(rejects("-"));
  CHECK(rejects("1."));
  CHECK(rejects(".5"));
  CHECK(rejects("012"));
  CHECK(rejects("1e"));
  CHECK(rejects("NaN"));
  CHECK(rejects("Infinity"));
  CHECK(rejects("16,63"));
  CHECK(rejects(" 1"));
  CHECK(rejects("9223372036854775.808"));
  CHECK(rejects("1e30"));
}

TEST(json_reader_walks_objects_arrays_and_strings) {
  std::string text = R"( {"a": [1, {"b": "x\"y\u00e9"}, true, null], "n": -1.5e2, "e": {}, "z": []} )";
  ww::JsonValue root, a, second, b, n, e, z, missing;
  CHECK(ww::JsonValue::parse(text, root));
  CHECK(root.type() == ww::JsonType::kObject);
  CHECK_EQ(root.size(), size_t(4));
  CHECK(root.member("a", a));
  CHECK_EQ(a.size(), size_t(4));
  CHECK(a.at(1, second));
  CHECK(second.member("b", b));
  std::string decoded;
  CHECK(b.string(decoded));
  CHECK_EQ(decoded, std::string("x\"y\xc3\xa9"));
  ww::JsonValue third, fourth, beyond;
  CHECK(a.at(2, third) && third.is_true());
  CHECK(a.at(3, fourth) && fourth.type() == ww::JsonType::kNull);
  CHECK(!a.at(4, beyond));
  CHECK(root.member("n", n));
  CHECK_EQ(n.number_text(), std::string("-1.5e2"));
  CHECK(root.member("e", e) && e.size() == 0);
  CHECK(root.member("z", z) && z.size() == 0);
  CHECK(!root.member("q", missing));
  CHECK(!n.member("a", missing));
}

TEST(json_reader_refuses_malformed_documents) {
  const char* bad[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[1 2]", "{\"a\":1,}", "tru", "\"open",
                       "{\"a\":1} x", "[01]", "{a:1}", "\"bad\\q\"", "[-]"};
  for (const char* text : bad) {
    ww::JsonValue root;
    if (ww::JsonValue::parse(text, root)) harness::fail(__FILE__, __LINE__, std::string("accepted: ") + text);
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  ww::JsonValue root;
  CHECK(!ww::JsonValue::parse(deep, root));
}

TEST(json_quote_escapes_quotes_backslashes_and_control_characters) {
  CHECK_EQ(ww::json_quote("a\"b\\c\n"), std::string("\"a\\\"b\\\\c\\u000a\""));
  ww::JsonValue root;
  std::string back;
  CHECK(ww::JsonValue::parse(ww::json_quote("Solar \"Süd\"\t1"), root) && root.string(back));
  CHECK_EQ(back, std::string("Solar \"Süd\"\t1"));
}
