// Blocking socket HTTP client for the host build; see posix_http.h.
#include "posix_http.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace ww_host {

namespace {

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

bool decode_chunked(const std::string& data, std::string& body) {
  size_t pos = 0;
  body.clear();
  while (true) {
    size_t line_end = data.find("\r\n", pos);
    if (line_end == std::string::npos) return false;
    size_t size = std::strtoul(data.substr(pos, line_end - pos).c_str(), nullptr, 16);
    pos = line_end + 2;
    if (size == 0) return true;
    if (pos + size > data.size()) return false;
    body.append(data, pos, size);
    pos += size + 2;
  }
}

}  // namespace

bool parse_http_response(const std::string& raw, ww::HttpResponse& response) {
  size_t header_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || header_end == std::string::npos) return false;
  size_t space = raw.find(' ');
  if (space == std::string::npos || space > header_end) return false;
  response.status = std::atoi(raw.c_str() + space + 1);
  std::string headers = lower(raw.substr(0, header_end));
  std::string data = raw.substr(header_end + 4);
  if (headers.find("\r\ntransfer-encoding: chunked") != std::string::npos) return decode_chunked(data, response.body);
  size_t length_at = headers.find("\r\ncontent-length:");
  if (length_at != std::string::npos) {
    size_t length = std::strtoul(headers.c_str() + length_at + 17, nullptr, 10);
    if (data.size() < length) return false;
    data.resize(length);
  }
  response.body = data;
  return true;
}

ww::HttpResponse PosixHttpClient::exchange(const std::string& method, const std::string& url_text,
                                           const std::string& headers, const std::string& body) {
  ww::Url url;
  if (!ww::parse_url(url_text, url)) return {-1, "bad url"};
  if (url.tls) return {-2, "the host build has no TLS"};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found) != 0) return {-3, "dns"};
  int fd = -1;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    timeval timeout{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return {-4, "connect failed"};
  std::string request = method + " " + url.path + " HTTP/1.1\r\nHost: " + url.host + ":" + std::to_string(url.port) +
                        "\r\nConnection: close\r\nAccept: application/json\r\n" + headers;
  if (method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return {-5, "send failed"};
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[4096];
  while (true) {
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      close(fd);
      return {-6, "receive failed or timed out"};
    }
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  ww::HttpResponse response{-7, ""};
  if (!parse_http_response(raw, response)) return {-7, "unreadable HTTP answer"};
  return response;
}

ww::HttpResponse PosixHttpClient::get(const std::string& url) { return exchange("GET", url, "", ""); }

ww::HttpResponse PosixHttpClient::post_json(const std::string& url, const std::string& body, const std::string& bearer,
                                            long outbox_depth) {
  std::string headers = "Content-Type: application/json\r\n";
  if (!bearer.empty()) headers += "Authorization: Bearer " + bearer + "\r\n";
  if (outbox_depth >= 0) headers += "X-WattWitness-Outbox-Depth: " + std::to_string(outbox_depth) + "\r\n";
  return exchange("POST", url, headers, body);
}

}  // namespace ww_host
