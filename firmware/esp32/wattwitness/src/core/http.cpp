// URL splitting for the transports.
#include "http.h"

namespace ww {

bool parse_url(const std::string& text, Url& url) {
  size_t rest;
  if (text.compare(0, 7, "http://") == 0) {
    url.tls = false;
    url.port = 80;
    rest = 7;
  } else if (text.compare(0, 8, "https://") == 0) {
    url.tls = true;
    url.port = 443;
    rest = 8;
  } else {
    return false;
  }
  size_t slash = text.find('/', rest);
  std::string authority = text.substr(rest, slash == std::string::npos ? std::string::npos : slash - rest);
  url.path = slash == std::string::npos ? "/" : text.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    std::string port_text = authority.substr(colon + 1);
    if (port_text.empty() || port_text.size() > 5) return false;
    unsigned port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') return false;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return false;
    url.port = port;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return false;
  url.host = authority;
  return true;
}

}  // namespace ww
