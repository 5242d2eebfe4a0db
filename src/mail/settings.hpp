#pragma once
// Connection settings of an IMAP or SMTP server, as the Email app's connection types hold them.
#include <chrono>
#include <string>

#include "core/secret.hpp"

namespace switchboard::mail {

enum class Security {
    kTls,       // implicit TLS from the first byte (imaps, smtps: ports 993, 465)
    kStartTls,  // plain connection upgraded with STARTTLS before login; refused when the server cannot upgrade
    kNone,      // no encryption: the password crosses the network in the clear (loopback and tests)
};

struct ServerSettings {
    std::string host;
    int port = 0;  // 0 = the default for the protocol and security (IMAP 993/143, SMTP 465/587/25)
    Security security = Security::kTls;
    std::string username;
    core::Secret password;

    // TLS: the server certificate and host name are verified against the system CA bundle, or against this PEM
    // bundle instead when given (a company CA, or a server's self-signed certificate to pin it).
    // verify_tls_certificate = false accepts any certificate and host name: only for tests and servers the
    // operator explicitly trusts.
    std::string ca_certificate_pem;
    bool verify_tls_certificate = true;

    // The SSRF policy of http_client applies to every socket: loopback and private addresses are refused
    // (kPermissionDenied) unless the operator allows them (--allow-private-network) or a test does.
    bool allow_private_network = false;

    // Bounded waits: for the TCP+TLS connection, and for each transfer (login, one command, one message).
    std::chrono::milliseconds connect_timeout{15'000};
    std::chrono::milliseconds timeout{60'000};

    // SMTP only: the name sent in EHLO; empty = this machine's host name.
    std::string ehlo_name;
};

}  // namespace switchboard::mail
