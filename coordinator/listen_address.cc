#include "coordinator/listen_address.h"

#include <arpa/inet.h>

namespace gridsearch {
namespace {

bool IsLoopbackIpv4(const std::string& text) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "[::1]" || IsLoopbackIpv4(host);
}

bool IsLoopbackListen(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0) return true;
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host == "::1" || IsLoopbackHost(host);
}

}  // namespace gridsearch
