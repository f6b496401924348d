// CoordinatorOptions: every setting of the coordinator, with its default.
#ifndef GRIDSEARCH_COORDINATOR_OPTIONS_H_
#define GRIDSEARCH_COORDINATOR_OPTIONS_H_

#include <cstdint>
#include <string>

#include "common/sweep_spec.h"

namespace gridsearch {

struct CoordinatorOptions {
  // --- Storage ---
  // SQLite file; created with the schema when missing. Required.
  std::string db_path;

  // --- Network ---
  // Address to listen on. Port 0 picks a free port (see port_file).
  std::string listen = "127.0.0.1:50051";
  // When set, the bound "host:port" is written here once the server is up;
  // for a wildcard address (0.0.0.0, [::]) the host is this machine's name,
  // which is what clients on other machines dial.
  std::string port_file;
  // Largest request accepted, in bytes.
  int max_message_bytes = 16 << 20;

  // --- Dashboard ---
  // Address of the HTTP server (the dashboard, its JSON API under /api/v1/
  // and /metrics); empty: none. The security rules below apply to it too.
  std::string http_listen;
  // When set, the URL of the dashboard is written here once it is up.
  std::string http_url_file;

  // --- Security ---
  // When non-empty, every RPC but the health service needs the metadata
  // "authorization: Bearer <token>". Read from a file or the environment,
  // never from the command line.
  std::string token;
  // PEM contents (not paths); both set: serve TLS.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Allows listening beyond loopback without a token.
  bool insecure = false;

  // --- Leases (failure detection) ---
  // A lease expires when its worker has not reported for this long.
  double lease_timeout_seconds = 60;
  // How often expired leases are looked for.
  double lease_check_interval_seconds = 1;
  // Attempts (leases) per job before it is marked failed.
  int max_attempts = 3;
  // Upper bound on a LeaseJob long-poll.
  double max_lease_wait_seconds = 30;

  // --- Reads ---
  // Read-only SQLite connections serving status and ranking queries at once.
  int reader_connections = 4;

  // --- Limits ---
  SpecLimits spec_limits;
  // Curve points accepted in one report.
  int max_points_per_report = 100000;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_OPTIONS_H_
