// HttpClient over plain POSIX sockets, HTTP/1.1 with `Connection: close`: enough for the host build
// to talk to a local server and meter simulator. It has no TLS: https URLs fail with status -2.
#pragma once

#include "../../wattwitness/src/core/http.h"

namespace ww_host {

class PosixHttpClient : public ww::HttpClient {
 public:
  explicit PosixHttpClient(int timeout_ms = 10000) : timeout_ms_(timeout_ms) {}
  ww::HttpResponse get(const std::string& url) override;
  ww::HttpResponse post_json(const std::string& url, const std::string& body, const std::string& bearer,
                             long outbox_depth) override;

 private:
  ww::HttpResponse exchange(const std::string& method, const std::string& url, const std::string& headers,
                            const std::string& body);
  int timeout_ms_;
};

// Splits a raw HTTP/1.1 response into status and body (Content-Length, chunked, or until close).
bool parse_http_response(const std::string& raw, ww::HttpResponse& response);

}  // namespace ww_host
