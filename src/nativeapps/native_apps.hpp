#pragma once
// The apps whose modules and connection types are implemented in C++ ("native": true in apps/*.json, see
// docs/apps.md "Native apps"): Email (apps/email.json: IMAP and SMTP through mail/) and PostgreSQL
// (apps/postgres.json: libpq). RegisterNativeModules adds their modules to the engine's registry under the catalog's
// names; NativeVerifier (native_verifier.hpp) checks their connections.
//
// Every module blocks its thread (mail and database I/O bounded by the options' timeouts), as the engine's module
// runs do; the runner calls them on worker threads, never on an I/O thread.
#include <chrono>

#include "engine/module.hpp"

namespace switchboard::nativeapps {

struct NativeAppsOptions {
    // The SSRF policy of http_client for mail servers and databases: loopback, private and link-local addresses
    // are refused unless the operator allows them (--allow-private-network).
    bool allow_private_network = false;
    std::chrono::milliseconds connect_timeout{15'000};  // TCP + TLS + login
    std::chrono::milliseconds timeout{60'000};          // one IMAP/SMTP transfer, one SQL statement
};

// email:watchEmails, markAsRead, markAsUnread, moveEmail, sendEmail; postgres:insertRow, updateRows, selectRows,
// executeQuery, watchRows. The registry keeps copies of the options.
void RegisterNativeModules(engine::ModuleRegistry& registry, const NativeAppsOptions& options);

}  // namespace switchboard::nativeapps
