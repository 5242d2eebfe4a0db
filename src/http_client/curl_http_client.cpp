#include "http_client/curl_http_client.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <variant>
#include <vector>

#include "core/cooperative.hpp"
#include "http_client/plain_transport.hpp"
#include "http_client/sanitizer.hpp"
#include "http_client/ssrf_policy.hpp"
#include "http_client/url.hpp"

#ifndef SWITCHBOARD_VERSION
#error "SWITCHBOARD_VERSION must be defined by the build (src/http_client/CMakeLists.txt)"
#endif

namespace switchboard::http_client {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxHeaderBytes = 256 * 1024;
// Framing and transport headers belong to the client; a caller's value would break or bypass them.
constexpr std::array<std::string_view, 9> kManagedHeaders = {
    "host",    "content-length", "transfer-encoding", "connection", "keep-alive", "te",
    "upgrade", "expect",         "accept-encoding",
};

struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
struct MimeDeleter {
    void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
using Mime = std::unique_ptr<curl_mime, MimeDeleter>;

bool IsToken(std::string_view text) {
    static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
               kSymbols.find(c) != std::string_view::npos;
    });
}

bool IsValidHeaderValue(std::string_view value) {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool IsManagedHeader(std::string_view name) {
    return std::any_of(kManagedHeaders.begin(), kManagedHeaders.end(),
                       [&](std::string_view managed) { return HeaderNameEquals(managed, name); });
}

std::string_view Trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
        text.remove_suffix(1);
    }
    return text;
}

// The state of one transfer (one hop), shared with libcurl's callbacks.
struct Transfer {
    const SsrfPolicy* policy = nullptr;
    std::size_t max_body_bytes = 0;
    std::string body;
    bool body_too_large = false;
    Headers headers;
    std::size_t header_bytes = 0;
    bool headers_too_large = false;
    std::string refused;  // the SSRF policy's reason when a socket was refused
    char error_buffer[CURL_ERROR_SIZE] = {};
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    // Counted after decoding, so a small gzip body cannot expand past the cap.
    if (bytes > transfer->max_body_bytes - transfer->body.size()) {
        transfer->body_too_large = true;
        return CURL_WRITEFUNC_ERROR;
    }
    transfer->body.append(data, bytes);
    return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    transfer->header_bytes += bytes;
    if (transfer->header_bytes > kMaxHeaderBytes) {
        transfer->headers_too_large = true;
        return 0;  // anything but `bytes` aborts the transfer
    }
    std::string_view line(data, bytes);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
        transfer->headers.clear();  // a new response begins (after a 1xx)
        return bytes;
    }
    if (line.empty()) return bytes;
    if ((line.front() == ' ' || line.front() == '\t') && !transfer->headers.empty()) {
        auto& value = transfer->headers.back().second;  // obsolete line folding
        value += ' ';
        value.append(Trim(line));
        return bytes;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bytes;
    transfer->headers.emplace_back(ToLower(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
    return bytes;
}

// Called by libcurl for every socket it is about to connect, with the resolved peer address: the one place
// where the SSRF policy sees the address that will actually be used.
curl_socket_t OnOpenSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
    auto* transfer = static_cast<Transfer*>(user);
    if (auto allowed = transfer->policy->CheckSocketAddress(&address->addr, address->addrlen); !allowed) {
        transfer->refused = allowed.error().detail;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct PreparedBody {
    std::string data;
    std::string content_type;
    const MultipartBody* multipart = nullptr;
};

PreparedBody Prepare(const Body& body) {
    struct Visitor {
        PreparedBody operator()(const NoBody&) const { return {}; }
        PreparedBody operator()(const JsonBody& b) const {
            return {boost::json::serialize(b.value), "application/json", nullptr};
        }
        PreparedBody operator()(const FormBody& b) const {
            return {EncodeForm(b.fields), "application/x-www-form-urlencoded", nullptr};
        }
        PreparedBody operator()(const MultipartBody& b) const { return {{}, {}, &b}; }
        PreparedBody operator()(const RawBody& b) const {
            return {b.data, b.content_type.empty() ? "application/octet-stream" : b.content_type, nullptr};
        }
    };
    return std::visit(Visitor{}, body);
}

core::Result<Mime> BuildMime(CURL* handle, const MultipartBody& body) {
    Mime mime(curl_mime_init(handle));
    if (!mime) return core::Internal("could not create a multipart body");
    bool ok = true;
    for (const auto& [name, value] : body.fields) {
        curl_mimepart* part = curl_mime_addpart(mime.get());
        ok = ok && part != nullptr && curl_mime_name(part, name.c_str()) == CURLE_OK &&
             curl_mime_data(part, value.data(), value.size()) == CURLE_OK;
    }
    for (const FilePart& file : body.files) {
        curl_mimepart* part = curl_mime_addpart(mime.get());
        const std::string& type =
            file.content_type.empty() ? std::string("application/octet-stream") : file.content_type;
        ok = ok && part != nullptr && curl_mime_name(part, file.name.c_str()) == CURLE_OK &&
             curl_mime_filename(part, file.filename.c_str()) == CURLE_OK &&
             curl_mime_type(part, type.c_str()) == CURLE_OK &&
             curl_mime_data(part, file.data.data(), file.data.size()) == CURLE_OK;
    }
    if (!ok) return core::Internal("could not build the multipart body");
    return mime;
}

std::string ReasonFor(CURLcode code) {
    switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
            return std::string(kTimedOut);
        case CURLE_COULDNT_RESOLVE_HOST:
            return "could not resolve host";
        case CURLE_COULDNT_CONNECT:
            return "could not connect";
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CLIENTCERT:
            return "TLS connection failed";
        case CURLE_BAD_CONTENT_ENCODING:
            return "could not decode the response body";
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            return "invalid response";
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_PARTIAL_FILE:
            return "connection failed";
        default:
            return "request failed";
    }
}

}  // namespace

struct CurlHttpClient::Impl {
    struct Idle {
        CURL* handle;
        std::string origin;
    };

    // A pooled easy handle for the duration of one call; returned to the pool on destruction.
    class Lease {
      public:
        Lease(Impl& impl, std::string origin) : impl_(impl), origin_(std::move(origin)) {
            handle_ = impl_.Acquire(origin_);
        }
        ~Lease() {
            if (handle_ != nullptr) impl_.Release(handle_, std::move(origin_));
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        CURL* handle() const { return handle_; }
        void set_origin(std::string origin) { origin_ = std::move(origin); }

      private:
        Impl& impl_;
        std::string origin_;
        CURL* handle_ = nullptr;
    };

    struct Hop {
        long status = 0;
        Headers headers;
        std::string body;
    };

    explicit Impl(CurlHttpClientOptions opts)
        : options(std::move(opts)),
          user_agent(options.user_agent.empty() ? DefaultUserAgent() : options.user_agent),
          policy(options.allow_private_network) {
        if (options.builtin_plain_http)
            plain = std::make_unique<PlainTransport>(policy, options.max_idle_plain_connections);
        static const CURLcode kGlobalInit = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (kGlobalInit != CURLE_OK) throw std::runtime_error("libcurl initialisation failed");
        share = curl_share_init();
        if (share == nullptr) throw std::runtime_error("libcurl share initialisation failed");
        curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Impl::LockShare);
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Impl::UnlockShare);
        curl_share_setopt(share, CURLSHOPT_USERDATA, this);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }

    ~Impl() {
        for (Idle& idle_handle : idle) curl_easy_cleanup(idle_handle.handle);
        curl_share_cleanup(share);
    }

    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Impl*>(user)->share_locks.at(static_cast<std::size_t>(data)).lock();
    }
    static void UnlockShare(CURL*, curl_lock_data data, void* user) {
        static_cast<Impl*>(user)->share_locks.at(static_cast<std::size_t>(data)).unlock();
    }

    CURL* Acquire(const std::string& origin) {
        {
            std::lock_guard lock(pool_mutex);
            auto it = std::find_if(idle.rbegin(), idle.rend(), [&](const Idle& i) { return i.origin == origin; });
            if (it == idle.rend() && !idle.empty()) it = idle.rbegin();
            if (it != idle.rend()) {
                CURL* handle = it->handle;
                idle.erase(std::next(it).base());
                return handle;
            }
        }
        CURL* handle = curl_easy_init();
        if (handle != nullptr && curl_easy_setopt(handle, CURLOPT_SHARE, share) != CURLE_OK) {
            curl_easy_cleanup(handle);
            return nullptr;
        }
        return handle;
    }

    void Release(CURL* handle, std::string origin) {
        {
            std::lock_guard lock(pool_mutex);
            if (idle.size() < options.max_idle_handles) {
                idle.push_back({handle, std::move(origin)});
                return;
            }
        }
        curl_easy_cleanup(handle);
    }

    core::Result<Response> Send(const Request& request, const Sanitizer& sanitizer, Clock::time_point start);
    // One hop through either transport; `where` is the hop's sanitised "METHOD url", and its deadline has not
    // passed yet (Send checks before each hop).
    core::Result<Hop> PerformPlain(const Request& request, const std::string& method, const std::string& url,
                                   const Headers& headers, const PreparedBody* body, Clock::time_point deadline,
                                   const Sanitizer& sanitizer, const std::string& where);
    core::Result<Hop> Perform(CURL* handle, const Request& request, const std::string& method, const std::string& url,
                              const Headers& headers, const PreparedBody* body, Clock::time_point deadline,
                              const Sanitizer& sanitizer, const std::string& where);

    CurlHttpClientOptions options;
    std::string user_agent;
    SsrfPolicy policy;
    std::unique_ptr<PlainTransport> plain;  // http:// hops without a multipart body, when enabled
    CURLSH* share = nullptr;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
    std::mutex pool_mutex;
    std::vector<Idle> idle;
};

core::Result<CurlHttpClient::Impl::Hop> CurlHttpClient::Impl::PerformPlain(
    const Request& request, const std::string& method, const std::string& url, const Headers& headers,
    const PreparedBody* body, Clock::time_point deadline, const Sanitizer& sanitizer, const std::string& where) {
    PlainExchange exchange;
    exchange.where = where;
    exchange.method = method;
    exchange.url = url;
    exchange.headers = &headers;
    if (body != nullptr) {
        exchange.body = &body->data;
        exchange.content_type = body->content_type;
    }
    exchange.user_agent = user_agent;
    exchange.deadline = deadline;
    exchange.connect_timeout = request.connect_timeout;
    exchange.timeout = request.timeout;
    exchange.max_response_bytes = request.max_response_bytes;
    exchange.max_header_bytes = kMaxHeaderBytes;
    core::Result<PlainResult> result = plain->Exchange(exchange);
    if (!result) {
        core::Error error = result.error();
        // `where` is sanitised already, but the rest of the detail (the policy's reason, a system message) is
        // not: the whole text goes through the sanitiser, as libcurl's errors do.
        error.detail = sanitizer.Text(error.detail);
        return error;
    }
    return Hop{result->status, std::move(result->headers), std::move(result->body)};
}

core::Result<CurlHttpClient::Impl::Hop> CurlHttpClient::Impl::Perform(
    CURL* handle, const Request& request, const std::string& method, const std::string& url, const Headers& headers,
    const PreparedBody* body, Clock::time_point deadline, const Sanitizer& sanitizer, const std::string& where) {
    // At least 1 ms: libcurl reads a timeout of 0 as "none".
    const auto remaining = std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));

    // Header lines. "Name;" sends an empty value; "Name:" removes a header libcurl would add on its own.
    Slist header_list;
    bool list_ok = true;
    const auto add_line = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(header_list.get(), line.c_str());
        if (next == nullptr) {
            list_ok = false;
            return;
        }
        (void)header_list.release();
        header_list.reset(next);
    };
    for (const auto& [name, value] : headers) add_line(value.empty() ? name + ";" : name + ": " + value);
    const bool sends_fields = body != nullptr && body->multipart == nullptr;
    const bool caller_content_type = HasHeader(headers, "content-type");
    if (sends_fields && !caller_content_type) add_line("Content-Type: " + body->content_type);
    if (body == nullptr && !caller_content_type) add_line("Content-Type:");
    add_line("Expect:");
    if (!list_ok) return core::Internal("could not build the request headers");

    Transfer transfer;
    transfer.policy = &policy;
    transfer.max_body_bytes = request.max_response_bytes;

    Mime mime;
    if (body != nullptr && body->multipart != nullptr) {
        auto built = BuildMime(handle, *body->multipart);
        if (!built) return built.error();
        mime = std::move(*built);
    }

    CURLcode rc = CURLE_OK;
    const auto set = [&](CURLoption option, auto value) {
        if (rc == CURLE_OK) rc = curl_easy_setopt(handle, option, value);
    };
    set(CURLOPT_URL, url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_PROXY, "");
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(remaining, request.connect_timeout).count()));
    set(CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
    set(CURLOPT_USERAGENT, user_agent.c_str());
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    set(CURLOPT_TCP_KEEPALIVE, 1L);
    set(CURLOPT_HTTPHEADER, header_list.get());
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(&transfer));
    set(CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&transfer));
    set(CURLOPT_ERRORBUFFER, static_cast<char*>(transfer.error_buffer));
    if (method == "HEAD") {
        set(CURLOPT_NOBODY, 1L);
    } else if (body != nullptr && body->multipart != nullptr) {
        set(CURLOPT_MIMEPOST, mime.get());
        if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    } else if (body != nullptr || method == "POST" || method == "PUT" || method == "PATCH") {
        // Without a body these methods still send "Content-Length: 0", which many servers require.
        static const char kEmpty[] = "";
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body != nullptr ? body->data.size() : 0));
        set(CURLOPT_POSTFIELDS, body != nullptr ? body->data.c_str() : kEmpty);
        if (method != "POST") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    } else {
        set(CURLOPT_HTTPGET, 1L);
        if (method != "GET") set(CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (rc != CURLE_OK) {
        curl_easy_reset(handle);
        return core::Internal(fmt::format("libcurl refused an option: {}", curl_easy_strerror(rc)));
    }

    const CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    // Forget every pointer into this frame (buffers, lists, callbacks' data); connections stay open.
    curl_easy_reset(handle);

    // A refused address only matters when no other address of the host could be used.
    if (code != CURLE_OK && !transfer.refused.empty()) {
        return core::PermissionDenied(sanitizer.Text(fmt::format("{} ({})", transfer.refused, where)));
    }
    if (transfer.body_too_large) {
        return UpstreamError(fmt::format("response larger than {} bytes", request.max_response_bytes), where);
    }
    if (transfer.headers_too_large) {
        return UpstreamError(fmt::format("response headers larger than {} bytes", kMaxHeaderBytes), where);
    }
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
        return core::InvalidArgument(fmt::format("the URL was rejected: {}", curl_easy_strerror(code)));
    }
    if (code != CURLE_OK) {
        std::string detail = fmt::format("{}: {}", where, curl_easy_strerror(code));
        if (transfer.error_buffer[0] != '\0') detail += fmt::format(" ({})", transfer.error_buffer);
        return UpstreamError(ReasonFor(code), sanitizer.Text(detail));
    }
    return Hop{status, std::move(transfer.headers), std::move(transfer.body)};
}

core::Result<Response> CurlHttpClient::Impl::Send(const Request& request, const Sanitizer& sanitizer,
                                                  Clock::time_point start) {
    if (!IsToken(request.method)) return core::InvalidArgument("the method is not a valid HTTP method token");
    if (request.timeout <= milliseconds(0) || request.connect_timeout <= milliseconds(0)) {
        return core::InvalidArgument("timeouts must be positive");
    }
    if (request.max_redirects < 0) return core::InvalidArgument("max_redirects must not be negative");
    if (request.max_response_bytes == 0) return core::InvalidArgument("max_response_bytes must be positive");
    const bool has_body = !std::holds_alternative<NoBody>(request.body);
    if (request.method == "HEAD" && has_body) return core::InvalidArgument("a HEAD request cannot have a body");
    core::Result<std::string> url = BuildUrl(request.url, request.query);
    if (!url) return url.error();

    Headers headers;
    for (std::size_t i = 0; i < request.headers.size(); ++i) {
        const auto& [name, value] = request.headers[i];
        if (!IsToken(name)) return core::InvalidArgument(fmt::format("header #{} has an invalid name", i + 1));
        // The value is not repeated: it may be a credential.
        if (!IsValidHeaderValue(value)) {
            return core::InvalidArgument(fmt::format("header '{}' has an invalid value (CR, LF or NUL)", name));
        }
        if (IsManagedHeader(name)) continue;
        if (std::holds_alternative<MultipartBody>(request.body) && HeaderNameEquals(name, "content-type")) continue;
        headers.emplace_back(name, value);
    }

    const PreparedBody body = Prepare(request.body);
    const auto deadline = start + request.timeout;
    std::string method = request.method;
    std::string current = std::move(*url);
    bool send_body = has_body;
    int redirects = 0;

    std::optional<Lease> lease;  // a libcurl handle, taken for the first hop that needs one
    while (true) {
        const std::string where = fmt::format("{} {}", sanitizer.Text(method, 32), sanitizer.Url(current));
        if (deadline <= Clock::now()) {
            return UpstreamError(std::string(kTimedOut),
                                 fmt::format("{}: the {} ms deadline passed", where, request.timeout.count()));
        }
        core::Result<Hop> hop = core::Internal("no hop");
        // BuildUrl and ResolveRedirect hand on only http and https URLs; the scheme's case is the URL's own.
        if (plain && body.multipart == nullptr && current.size() > 7 &&
            HeaderNameEquals(current.substr(0, 7), "http://")) {
            hop = PerformPlain(request, method, current, headers, send_body ? &body : nullptr, deadline, sanitizer,
                               where);
        } else {
            if (!lease) lease.emplace(*this, Origin(current));
            if (lease->handle() == nullptr) return core::Internal("could not create a libcurl handle");
            // libcurl's easy interface blocks its thread: in a fiber (core/cooperative.hpp) the transfer runs on
            // a thread that may block, and the fiber's thread serves others meanwhile.
            core::RunBlocking([&] {
                hop = Perform(lease->handle(), request, method, current, headers, send_body ? &body : nullptr, deadline,
                              sanitizer, where);
            });
        }
        if (!hop) return hop.error();

        std::optional<std::string> location;
        for (const auto& [name, value] : hop->headers) {
            if (name == "location") location = value;
        }
        if (request.follow_redirects && IsRedirectStatus(static_cast<int>(hop->status)) && location) {
            if (redirects >= request.max_redirects) {
                return UpstreamError("too many redirects", fmt::format("more than {} redirects; the last was from {}",
                                                                       request.max_redirects, sanitizer.Url(current)));
            }
            core::Result<RedirectStep> step =
                ResolveRedirect(current, method, static_cast<int>(hop->status), *location);
            if (!step) {
                core::Error error = step.error();
                error.detail = fmt::format("from {}", sanitizer.Url(current));
                return error;
            }
            if (!step->same_origin) {
                // Credentials were meant for the origin that redirected, not for wherever it points.
                std::erase_if(headers, [&](const auto& h) {
                    return sanitizer.IsSensitiveRequestHeader(h.first) || sanitizer.ContainsSecret(h.second);
                });
            }
            if (!step->keep_body) {
                send_body = false;
                std::erase_if(headers, [](const auto& h) { return HeaderNameEquals(h.first, "content-type"); });
            }
            method = std::move(step->method);
            current = std::move(step->url);
            if (lease) lease->set_origin(Origin(current));
            ++redirects;
            continue;
        }

        Response response;
        response.status = static_cast<int>(hop->status);
        response.headers = std::move(hop->headers);
        response.body = std::move(hop->body);
        response.url = std::move(current);
        response.redirects = redirects;
        return response;
    }
}

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

CurlHttpClient::~CurlHttpClient() = default;

std::string CurlHttpClient::DefaultUserAgent() { return "Switchboard/" SWITCHBOARD_VERSION; }

core::Result<Response> CurlHttpClient::Send(const Request& request) {
    static const Sanitizer kBuiltInRules;
    const Sanitizer& sanitizer = request.sanitizer ? *request.sanitizer : kBuiltInRules;
    const auto start = Clock::now();
    core::Result<Response> result = impl_->Send(request, sanitizer, start);
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (result) result->elapsed = elapsed;

    spdlog::logger* logger = spdlog::default_logger_raw();
    const bool debug = logger != nullptr && logger->should_log(spdlog::level::debug);
    if (!debug && !request.log_hook) return result;
    const LogEntry entry = sanitizer.Describe(request, result, elapsed);
    if (debug) {
        logger->debug("http_client: {}", entry.Summary());
        if (logger->should_log(spdlog::level::trace)) {
            const auto join = [](const Headers& list) {
                std::string out;
                for (const auto& [name, value] : list)
                    out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", name, value);
                return out;
            };
            logger->trace("http_client: request headers [{}] body [{}] response headers [{}] body [{}]",
                          join(entry.request_headers), entry.request_body, join(entry.response_headers),
                          entry.response_body);
        }
    }
    if (request.log_hook) request.log_hook(entry);
    return result;
}

}  // namespace switchboard::http_client
