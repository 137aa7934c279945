// The HTTP client the device loop talks through: HTTPClient + WiFiClientSecure (pinned CA) on the
// ESP32, plain POSIX sockets in the host build.
#pragma once

#include <string>

namespace ww {

struct HttpResponse {
  int status;  // HTTP status code, or a negative number when no answer came (connect/TLS/timeout)
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() {}
  virtual HttpResponse get(const std::string& url) = 0;
  // POST with Content-Type: application/json. `bearer` (if not empty) goes in Authorization;
  // `outbox_depth` >= 0 goes in X-WattWitness-Outbox-Depth.
  virtual HttpResponse post_json(const std::string& url, const std::string& body, const std::string& bearer,
                                 long outbox_depth) = 0;
};

struct Url {
  bool tls;
  std::string host;
  unsigned port;
  std::string path;  // starts with '/'
};

// http://host[:port][/path] or https://...; false for anything else.
bool parse_url(const std::string& text, Url& url);

}  // namespace ww
