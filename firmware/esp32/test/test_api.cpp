// The wire formats of docs/api.md as the firmware writes and reads them, and URL splitting.
#include <cstring>

#include "../wattwitness/src/core/api.h"
#include "../wattwitness/src/core/bytes.h"
#include "../wattwitness/src/core/http.h"
#include "../wattwitness/src/core/json.h"
#include "harness.h"
#include "host/posix_http.h"

TEST(batch_body_lists_records_and_signatures_as_lowercase_hex_in_order) {
  std::vector<ww::SignedRecord> entries(2);
  std::memset(entries[0].record, 0xAB, ww::kReadingLen);
  std::memset(entries[0].signature, 0x01, ww::kSignatureLen);
  std::memset(entries[1].record, 0x02, ww::kReadingLen);
  std::memset(entries[1].signature, 0xCD, ww::kSignatureLen);
  std::string body = ww::build_batch_body(entries);
  ww::JsonValue root, readings, item, record, signature;
  CHECK(ww::JsonValue::parse(body, root));
  CHECK(root.member("readings", readings));
  CHECK_EQ(readings.size(), size_t(2));
  CHECK(readings.at(1, item) && item.member("record", record) && item.member("signature", signature));
  std::string text;
  CHECK(record.string(text));
  CHECK_EQ(text.size(), size_t(148));
  CHECK_EQ(text.substr(0, 4), std::string("0202"));
  CHECK_EQ(body.substr(0, 28), std::string("{\"readings\":[{\"record\":\"abab"));
  CHECK(signature.string(text));
  CHECK_EQ(text.size(), size_t(128));
  CHECK_EQ(text.substr(0, 4), std::string("cdcd"));
}

TEST(batch_response_is_read_by_index_and_outcomes_map_to_ring_actions) {
  std::string body =
      R"({"results":[{"index":1,"outcome":"gap","detail":"","reading_id":8},)"
      R"({"index":0,"outcome":"verified","detail":null,"reading_id":7},)"
      R"({"index":2,"outcome":"future_timestamp","detail":"ts 400 s ahead","reading_id":null}],)"
      R"("stored":2,"duplicates":0,"rejected":1})";
  std::vector<std::string> outcomes;
  CHECK(ww::parse_batch_response(body, 3, outcomes));
  CHECK_EQ(outcomes[0], std::string("verified"));
  CHECK_EQ(outcomes[1], std::string("gap"));
  CHECK_EQ(outcomes[2], std::string("future_timestamp"));
  CHECK(!ww::parse_batch_response(body, 2, outcomes));  // answer for a different number of records
  CHECK(!ww::parse_batch_response(R"({"results":[{"index":0,"outcome":"verified"},{"index":0,"outcome":"gap"}]})", 2,
                                  outcomes));
  CHECK(!ww::parse_batch_response("not json", 1, outcomes));
  const char* acknowledged[] = {"verified", "gap", "counter_reset", "duplicate"};
  for (const char* o : acknowledged) CHECK(ww::disposition_of(o) == ww::Disposition::kAcknowledged);
  const char* rejected[] = {"malformed", "invalid_signature", "wrong_meter", "equivocation", "chain_break"};
  for (const char* o : rejected) CHECK(ww::disposition_of(o) == ww::Disposition::kRejected);
  const char* retry[] = {"future_timestamp", "unknown_meter", "database_unavailable", "something_new"};
  for (const char* o : retry) CHECK(ww::disposition_of(o) == ww::Disposition::kRetry);
}

TEST(enrollment_body_carries_the_fields_docs_api_names) {
  ww::EnrollmentRequest request;
  request.name = "Roof \"A\"";
  request.timezone = "Europe/Zurich";
  request.capacity_w = 9800;
  std::memset(request.public_key, 0x11, sizeof request.public_key);
  std::memset(request.record, 0x22, sizeof request.record);
  std::memset(request.signature, 0x33, sizeof request.signature);
  std::string body = ww::build_enrollment_body(request);
  ww::JsonValue root, value;
  std::string text;
  CHECK(ww::JsonValue::parse(body, root));
  CHECK(root.member("name", value) && value.string(text));
  CHECK_EQ(text, std::string("Roof \"A\""));
  CHECK(root.member("public_key", value) && value.string(text));
  CHECK_EQ(text, ww::to_hex(request.public_key, 64));
  CHECK(root.member("enrollment_record", value) && value.string(text));
  CHECK_EQ(text.size(), size_t(164));
  CHECK(root.member("enrollment_signature", value) && value.string(text));
  CHECK_EQ(text.size(), size_t(128));
  CHECK(root.member("timezone", value) && value.string(text));
  CHECK_EQ(text, std::string("Europe/Zurich"));
  CHECK(root.member("capacity_w", value));
  CHECK_EQ(value.number_text(), std::string("9800"));
  std::string error, detail;
  CHECK(ww::parse_error_body(R"({"error":"unauthorized","detail":"token already used"})", error, detail));
  CHECK_EQ(error, std::string("unauthorized"));
  CHECK_EQ(detail, std::string("token already used"));
  CHECK(!ww::parse_error_body("<html>502</html>", error, detail));
}

TEST(urls_split_into_scheme_host_port_and_path) {
  ww::Url url;
  CHECK(ww::parse_url("https://ww.example.org/api", url));
  CHECK(url.tls);
  CHECK_EQ(url.host, std::string("ww.example.org"));
  CHECK_EQ(url.port, 443u);
  CHECK_EQ(url.path, std::string("/api"));
  CHECK(ww::parse_url("http://127.0.0.1:18601", url));
  CHECK(!url.tls);
  CHECK_EQ(url.port, 18601u);
  CHECK_EQ(url.path, std::string("/"));
  CHECK(!ww::parse_url("ftp://x", url));
  CHECK(!ww::parse_url("http://:80/", url));
  CHECK(!ww::parse_url("http://host:99999/", url));
}

TEST(host_http_response_parser_handles_length_chunked_and_close) {
  ww::HttpResponse response{0, ""};
  CHECK(ww_host::parse_http_response("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}xx", response));
  CHECK_EQ(response.status, 201);
  CHECK_EQ(response.body, std::string("{}"));
  CHECK(ww_host::parse_http_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\n\r\n", response));
  CHECK_EQ(response.body, std::string("{\"a\":1}"));
  CHECK(ww_host::parse_http_response("HTTP/1.0 404 Not Found\r\n\r\nnope", response));
  CHECK_EQ(response.status, 404);
  CHECK_EQ(response.body, std::string("nope"));
  CHECK(!ww_host::parse_http_response("garbage", response));
}
