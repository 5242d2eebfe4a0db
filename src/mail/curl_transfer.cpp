#include "mail/curl_transfer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>

#include <cstring>
#include <mutex>
#include <stdexcept>

#include "http_client/ssrf_policy.hpp"

namespace switchboard::mail::detail {

namespace {

constexpr std::size_t kMaxLineBytes = 8 * 1024 * 1024;
constexpr std::size_t kMaxErrorText = 600;
// libcurl clips a response line longer than half its receive buffer; 1 MiB keeps SEARCH results of ~45 000 UIDs
// whole (the IMAP client windows larger searches).
constexpr long kReceiveBuffer = 1024 * 1024;

void EnsureCurl() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
    });
}

std::string Scheme(Protocol protocol, Security security) {
    const bool tls = security == Security::kTls;
    if (protocol == Protocol::kImap) return tls ? "imaps" : "imap";
    return tls ? "smtps" : "smtp";
}

std::string HostForUrl(const std::string& host) {
    // A bare IPv6 address needs brackets in a URL.
    if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
    return host;
}

}  // namespace

int EffectivePort(const ServerSettings& settings, Protocol protocol) {
    if (settings.port > 0) return settings.port;
    if (protocol == Protocol::kImap) return settings.security == Security::kTls ? 993 : 143;
    switch (settings.security) {
        case Security::kTls:
            return 465;
        case Security::kStartTls:
            return 587;
        case Security::kNone:
            return 25;
    }
    return 25;
}

CurlTransfer::CurlTransfer(const ServerSettings& settings, Protocol protocol)
    : settings_(settings), protocol_(protocol) {
    EnsureCurl();
    curl_ = curl_easy_init();
    if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
    base_url_ = Scheme(protocol, settings.security) + "://" + HostForUrl(settings.host) + ":" +
                std::to_string(EffectivePort(settings, protocol));

    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, protocol == Protocol::kImap ? "imap,imaps" : "smtp,smtps");
    curl_easy_setopt(curl_, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl_, CURLOPT_BUFFERSIZE, kReceiveBuffer);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &CurlTransfer::OnHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &CurlTransfer::OnBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_OPENSOCKETFUNCTION, &CurlTransfer::OnOpenSocket);
    curl_easy_setopt(curl_, CURLOPT_OPENSOCKETDATA, this);

    curl_easy_setopt(
        curl_, CURLOPT_USE_SSL,
        settings.security == Security::kNone ? static_cast<long>(CURLUSESSL_NONE) : static_cast<long>(CURLUSESSL_ALL));
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, settings.verify_tls_certificate ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, settings.verify_tls_certificate ? 2L : 0L);
    if (!settings.ca_certificate_pem.empty()) {
        curl_blob blob{const_cast<char*>(settings.ca_certificate_pem.data()), settings.ca_certificate_pem.size(),
                       CURL_BLOB_COPY};
        curl_easy_setopt(curl_, CURLOPT_CAINFO_BLOB, &blob);
    }

    if (!settings.username.empty() || !settings.password.empty()) {
        curl_easy_setopt(curl_, CURLOPT_USERNAME, settings.username.c_str());
        // libcurl copies the string; the temporary copy is wiped right away.
        std::string password(settings.password.Reveal());
        curl_easy_setopt(curl_, CURLOPT_PASSWORD, password.c_str());
        if (!password.empty()) sodium_memzero(password.data(), password.size());
    }
}

CurlTransfer::~CurlTransfer() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
}

CURLcode CurlTransfer::Perform(const std::string& path, std::size_t max_body_bytes) {
    lines_.clear();
    line_bytes_ = 0;
    body_.clear();
    body_overflow_ = false;
    refused_.clear();
    error_buffer_[0] = '\0';
    max_body_ = max_body_bytes;
    const std::string url = base_url_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    return curl_easy_perform(curl_);
}

size_t CurlTransfer::OnHeader(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<CurlTransfer*>(self);
    const size_t n = size * count;
    transfer->line_bytes_ += n;
    if (transfer->line_bytes_ > kMaxLineBytes) return 0;
    std::string line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    transfer->lines_.push_back(std::move(line));
    return n;
}

size_t CurlTransfer::OnBody(char* data, size_t size, size_t count, void* self) {
    auto* transfer = static_cast<CurlTransfer*>(self);
    const size_t n = size * count;
    if (transfer->body_.size() + n > transfer->max_body_) {
        transfer->body_overflow_ = true;
        return 0;
    }
    transfer->body_.append(data, n);
    return n;
}

curl_socket_t CurlTransfer::OnOpenSocket(void* self, curlsocktype /*purpose*/, curl_sockaddr* address) {
    auto* transfer = static_cast<CurlTransfer*>(self);
    const http_client::SsrfPolicy policy(transfer->settings_.allow_private_network);
    char text[INET6_ADDRSTRLEN] = {};
    bool converted = false;
    if (address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) {
        sockaddr_in v4{};
        std::memcpy(&v4, &address->addr, sizeof v4);
        converted = inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text) != nullptr;
    } else if (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6)) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, &address->addr, sizeof v6);
        converted = inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text) != nullptr;
    }
    if (!converted) {
        if (!policy.allow_private_network()) {
            transfer->refused_ = "refused to open a socket that is not an IP connection";
            return CURL_SOCKET_BAD;
        }
    } else if (auto allowed = policy.CheckAddress(text); !allowed) {
        transfer->refused_ = allowed.error().detail;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string CurlTransfer::Where() const {
    return settings_.host + ":" + std::to_string(EffectivePort(settings_, protocol_));
}

std::string CurlTransfer::CurlMessage(CURLcode code) const {
    return Scrub(error_buffer_[0] != '\0' ? std::string(error_buffer_) : std::string(curl_easy_strerror(code)));
}

std::string CurlTransfer::Scrub(std::string text) const {
    const std::string_view password = settings_.password.Reveal();
    if (!password.empty()) {
        for (auto at = text.find(password); at != std::string::npos; at = text.find(password, at + 3)) {
            text.replace(at, password.size(), "***");
        }
    }
    for (char& c : text) {
        if (c == '\r' || c == '\n') c = ' ';
    }
    if (text.size() > kMaxErrorText) text = text.substr(0, kMaxErrorText) + "…";
    return text;
}

std::optional<core::Error> CurlTransfer::TransportError(CURLcode code, std::string_view what) const {
    const std::string where = Where();
    if (!refused_.empty()) {
        return core::PermissionDenied(std::string(what) + ": " + refused_ +
                                      " (private and loopback addresses need --allow-private-network)");
    }
    switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
            return core::Unavailable(std::string(what) + ": cannot reach " + where + ": " + CurlMessage(code));
        case CURLE_USE_SSL_FAILED:
            return core::Unavailable(std::string(what) + ": " + where +
                                     " does not offer STARTTLS; choose TLS or, on a trusted network, no encryption");
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
            return core::Unavailable(std::string(what) + ": TLS with " + where + " failed: " + CurlMessage(code));
        default:
            return std::nullopt;
    }
}

}  // namespace switchboard::mail::detail
