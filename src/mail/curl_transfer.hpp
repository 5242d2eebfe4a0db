#pragma once
// Internal to mail/: one libcurl easy handle configured from ServerSettings, reused for a sequence of transfers on
// the same connection (libcurl keeps it open between curl_easy_perform calls on one handle, which is what lets an
// IMAP operation log in once and run several commands). Not thread-safe: one operation, one thread.
//
// What it does for every transfer: protocol restricted to the one expected (imap/imaps or smtp/smtps); security
// as the settings say (implicit TLS, STARTTLS required, or none); certificate verification unless the settings
// turn it off, with an extra CA bundle from the settings; the SSRF policy on every socket; connect and transfer
// timeouts; no signals; verbose off (libcurl's debug output would show the login exchange). Every server response
// line (libcurl hands them to the header callback) is kept for parsing and for error texts, bounded in size, and
// the body is kept up to a caller-given limit.
#include <curl/curl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "mail/settings.hpp"

namespace switchboard::mail::detail {

enum class Protocol { kImap, kSmtp };

int EffectivePort(const ServerSettings& settings, Protocol protocol);

class CurlTransfer {
  public:
    // Throws std::runtime_error when libcurl cannot create a handle (out of memory).
    CurlTransfer(const ServerSettings& settings, Protocol protocol);
    ~CurlTransfer();
    CurlTransfer(const CurlTransfer&) = delete;
    CurlTransfer& operator=(const CurlTransfer&) = delete;

    CURL* handle() { return curl_; }
    // "imaps://host:993" (no trailing slash); the path of each transfer is appended to it.
    const std::string& base_url() const { return base_url_; }

    // Runs one transfer of base_url() + path. Body bytes past max_body_bytes abort it (CURLE_WRITE_ERROR with
    // body_overflow() set). Response lines and body are those of this transfer only.
    CURLcode Perform(const std::string& path, std::size_t max_body_bytes);

    const std::vector<std::string>& lines() const { return lines_; }
    std::string& body() { return body_; }
    bool body_overflow() const { return body_overflow_; }

    // The address the SSRF policy refused for this transfer ("" when none), and libcurl's own message for the
    // last failure (error buffer, else curl_easy_strerror). Both are free of the password.
    const std::string& refused_address() const { return refused_; }
    std::string CurlMessage(CURLcode code) const;

    // "host:port", for messages.
    std::string Where() const;

    // Masks every occurrence of the password (a server could echo what it was sent) and bounds the length.
    std::string Scrub(std::string text) const;

    // Maps failures that happen before or around the protocol exchange: SSRF refusal (kPermissionDenied),
    // connection, DNS, timeouts and TLS (kUnavailable). Returns nullopt for codes the protocol layer must map.
    std::optional<core::Error> TransportError(CURLcode code, std::string_view what) const;

  private:
    static size_t OnHeader(char* data, size_t size, size_t count, void* self);
    static size_t OnBody(char* data, size_t size, size_t count, void* self);
    static curl_socket_t OnOpenSocket(void* self, curlsocktype purpose, curl_sockaddr* address);

    const ServerSettings& settings_;
    Protocol protocol_;
    CURL* curl_ = nullptr;
    std::string base_url_;
    std::vector<std::string> lines_;
    std::size_t line_bytes_ = 0;
    std::string body_;
    std::size_t max_body_ = 0;
    bool body_overflow_ = false;
    std::string refused_;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace switchboard::mail::detail
