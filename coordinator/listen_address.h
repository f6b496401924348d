// Which addresses are loopback, for the coordinator's rule that a server
// beyond loopback needs a token: both its gRPC and its HTTP server, and the
// names an HTTP request may give in its Host header.
#ifndef GRIDSEARCH_COORDINATOR_LISTEN_ADDRESS_H_
#define GRIDSEARCH_COORDINATOR_LISTEN_ADDRESS_H_

#include <string>

namespace gridsearch {

// Whether the host of "host:port" (as --listen and --http take it) is a
// loopback address: an IPv4 literal in 127.0.0.0/8, ::1 (bracketed or not),
// "localhost", or a unix socket.
bool IsLoopbackListen(const std::string& listen);

// Whether `host` (a Host header's host, without its port) names loopback
// literally: "localhost", an IPv4 literal in 127.0.0.0/8 or "[::1]". A name
// such as "127.0.0.1.example.com" is not, whatever it resolves to.
bool IsLoopbackHost(const std::string& host);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_LISTEN_ADDRESS_H_
