// CurlHttpClient against a real HTTP/1.1 server on 127.0.0.1 (test_server.cpp), port 0.
#include "http_client/curl_http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "core/encoding.hpp"
#include "http_client/sanitizer.hpp"
#include "http_client/url.hpp"
#include "unit/http_client/test_server.hpp"

namespace switchboard::http_client {
namespace {

using namespace std::chrono_literals;
namespace support = switchboard::http_client::testing;
using Clock = std::chrono::steady_clock;

// Changes under percent-, form- and base64-encoding.
const std::string kSecret = "sk_live/Abc+123 xyz=";

CurlHttpClientOptions PrivateNetworkAllowed(bool builtin_plain_http) {
    CurlHttpClientOptions options;
    options.allow_private_network = true;
    options.builtin_plain_http = builtin_plain_http;
    return options;
}

std::string Describe(const core::Result<Response>& result) {
    if (result) return "status " + std::to_string(result->status);
    return std::string(core::ErrcName(result.error().code)) + ": " + result.error().message + ": " +
           result.error().detail;
}

std::string BodyOf(const support::RecordedRequest& request) { return request.body; }

// The secret inside a longer base64 text, at each of the three byte alignments: the base64 of the secret behind
// 0, 1 or 2 filler bytes, without its first and last 4-character groups (those mix in the neighbours' bits).
// Computed here independently of the sanitizer.
std::vector<std::string> Base64Middles(const std::string& secret) {
    std::vector<std::string> middles;
    for (std::size_t offset = 0; offset < 3; ++offset) {
        const std::string encoded = core::Base64Encode(std::string(offset, 'A') + secret);
        middles.push_back(encoded.substr(4, encoded.size() - 8));
    }
    return middles;
}

// A port on 127.0.0.1 where nothing listens (bound, then closed).
std::uint16_t ClosedPort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    close(fd);
    return ntohs(address.sin_port);
}

// A socket listening on 127.0.0.1 on a free port (set in address and port).
int LoopbackListener(int backlog, sockaddr_in& address, std::uint16_t& port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address = sockaddr_in{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(fd, backlog), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port = ntohs(address.sin_port);
    return fd;
}

// A listener whose accept queue is full: further SYNs are dropped, so a connect hangs until its timeout.
class BlackHole {
  public:
    BlackHole() {
        sockaddr_in address{};
        listener_ = LoopbackListener(0, address, port_);
        for (int i = 0; i < 4; ++i) {
            const int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof address);
            fillers_.push_back(filler);
        }
        std::this_thread::sleep_for(100ms);
    }
    ~BlackHole() {
        for (int fd : fillers_) close(fd);
        close(listener_);
    }
    std::uint16_t port() const { return port_; }

  private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> fillers_;
};

// Every test runs twice: http:// hops through the built-in plain transport (the default), and through libcurl.
class CurlHttpClientTest : public ::testing::TestWithParam<bool> {
  protected:
    Request Get(std::string_view path) const {
        Request request;
        request.url = server_.Url(path);
        request.timeout = 10s;
        return request;
    }

    Response MustSend(const Request& request) {
        const core::Result<Response> result = client_.Send(request);
        EXPECT_TRUE(result.has_value()) << Describe(result);
        return result ? *result : Response{};
    }

    core::Error MustFail(const Request& request) {
        const core::Result<Response> result = client_.Send(request);
        EXPECT_FALSE(result.has_value()) << Describe(result);
        return result ? core::Error{} : result.error();
    }

    support::RecordedRequest Last() const {
        auto last = server_.LastRequest();
        EXPECT_TRUE(last.has_value());
        return last.value_or(support::RecordedRequest{});
    }

    support::TestServer server_;
    CurlHttpClient client_{PrivateNetworkAllowed(GetParam())};
};

TEST_P(CurlHttpClientTest, GetSendsDefaultHeadersAndParsesJsonResponse) {
    const Response response = MustSend(Get("/echo/path?x=1"));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.url, server_.Url("/echo/path?x=1"));
    EXPECT_EQ(response.redirects, 0);
    EXPECT_TRUE(response.IsJson());
    const auto json = response.Json();
    ASSERT_TRUE(json.has_value());
    EXPECT_EQ(json->at("method"), "GET");
    EXPECT_EQ(json->at("target"), "/echo/path?x=1");

    const auto last = Last();
    EXPECT_EQ(last.Header("user-agent"), std::string("Switchboard/" SWITCHBOARD_VERSION));
    EXPECT_EQ(CurlHttpClient::DefaultUserAgent(), "Switchboard/" SWITCHBOARD_VERSION);
    const std::string accept_encoding = last.Header("accept-encoding").value_or("");
    EXPECT_NE(accept_encoding.find("gzip"), std::string::npos);
    EXPECT_NE(accept_encoding.find("deflate"), std::string::npos);
    EXPECT_FALSE(last.Header("content-type").has_value());
    EXPECT_FALSE(last.Header("expect").has_value());
    EXPECT_TRUE(last.body.empty());
}

TEST_P(CurlHttpClientTest, QueryParametersAreAppendedPercentEncoded) {
    Request request = Get("/echo?fixed=1");
    request.query = {{"q", "a b&c=d+e/f"}, {"utf8", "\xC3\xA9"}, {"empty", ""}, {"k y", "v"}};
    MustSend(request);
    EXPECT_EQ(Last().target, "/echo?fixed=1&q=a%20b%26c%3Dd%2Be%2Ff&utf8=%C3%A9&empty=&k%20y=v");
}

TEST_P(CurlHttpClientTest, CustomHeadersArriveAndManagedHeadersAreIgnored) {
    Request request = Get("/echo");
    request.headers = {{"X-Trace", "abc 123"},  {"X-Empty", ""},           {"Accept", "application/json"},
                       {"Host", "evil.test"},   {"Content-Length", "999"}, {"Accept-Encoding", "identity"},
                       {"User-Agent", "app/2"}, {"Connection", "close"}};
    MustSend(request);
    const auto last = Last();
    EXPECT_EQ(last.Header("x-trace"), "abc 123");
    EXPECT_EQ(last.Header("x-empty"), "");
    EXPECT_EQ(last.Header("accept"), "application/json");
    EXPECT_EQ(last.Header("host"), "127.0.0.1:" + std::to_string(server_.port()));
    EXPECT_FALSE(last.Header("content-length").has_value());
    EXPECT_NE(last.Header("accept-encoding").value_or("").find("gzip"), std::string::npos);
    EXPECT_EQ(last.Header("user-agent"), "app/2");
    EXPECT_NE(last.Header("connection").value_or(""), "close");
}

TEST_P(CurlHttpClientTest, JsonBodyIsSerialisedWithItsContentType) {
    Request request = Get("/echo");
    request.method = "POST";
    const boost::json::value value = boost::json::parse(R"({"name":"Jane \"J\" Doe","n":[1,2.5,null],"ok":true})");
    request.body = JsonBody{value};
    MustSend(request);
    auto last = Last();
    EXPECT_EQ(last.method, "POST");
    EXPECT_EQ(last.Header("content-type"), "application/json");
    EXPECT_EQ(boost::json::parse(BodyOf(last)), value);
    EXPECT_EQ(last.Header("content-length"), std::to_string(last.body.size()));

    request.headers = {{"Content-Type", "application/vnd.api+json"}};
    MustSend(request);
    last = Last();
    EXPECT_EQ(last.Header("content-type"), "application/vnd.api+json");
    EXPECT_EQ(boost::json::parse(BodyOf(last)), value);
}

TEST_P(CurlHttpClientTest, FormBodyIsUrlEncoded) {
    Request request = Get("/echo");
    request.method = "POST";
    request.body = FormBody{{{"grant_type", "client_credentials"}, {"scope", "read write"}, {"x", "a&b=c+d/\xC3\xA9"}}};
    MustSend(request);
    const auto last = Last();
    EXPECT_EQ(last.Header("content-type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(last.body, "grant_type=client_credentials&scope=read+write&x=a%26b%3Dc%2Bd%2F%C3%A9");
}

TEST_P(CurlHttpClientTest, MultipartBodyCarriesFieldsAndFileBytes) {
    const std::string file_bytes("\x89PNG\r\n\x1A\n\0\x01\x02--not-a-boundary\r\n", 28);
    MultipartBody multipart;
    multipart.fields = {{"title", "hello world"}, {"lang", "\xC3\xA9"}};
    multipart.files = {{"upload", "image.png", "image/png", file_bytes}, {"blob", "data.bin", "", "abc"}};
    Request request = Get("/echo");
    request.method = "POST";
    request.headers = {{"Content-Type", "text/plain"}};  // ignored: multipart needs its boundary
    request.body = multipart;
    MustSend(request);
    const auto last = Last();

    const std::string content_type = last.Header("content-type").value_or("");
    ASSERT_TRUE(content_type.starts_with("multipart/form-data; boundary=")) << content_type;
    const std::string delimiter = "--" + content_type.substr(content_type.find('=') + 1);
    // Split the body into parts: headers and content of each.
    std::vector<std::pair<std::string, std::string>> parts;
    std::size_t at = last.body.find(delimiter);
    ASSERT_EQ(at, 0u);
    while (true) {
        at += delimiter.size();
        if (last.body.compare(at, 2, "--") == 0) break;
        at += 2;  // CRLF after the delimiter
        const std::size_t head_end = last.body.find("\r\n\r\n", at);
        const std::size_t next = last.body.find("\r\n" + delimiter, head_end);
        ASSERT_NE(next, std::string::npos);
        parts.emplace_back(last.body.substr(at, head_end - at), last.body.substr(head_end + 4, next - head_end - 4));
        at = next + 2;
    }
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_NE(parts[0].first.find("Content-Disposition: form-data; name=\"title\""), std::string::npos);
    EXPECT_EQ(parts[0].second, "hello world");
    EXPECT_EQ(parts[1].second, "\xC3\xA9");
    EXPECT_NE(parts[2].first.find("name=\"upload\"; filename=\"image.png\""), std::string::npos) << parts[2].first;
    EXPECT_NE(parts[2].first.find("Content-Type: image/png"), std::string::npos);
    EXPECT_EQ(parts[2].second, file_bytes);
    EXPECT_NE(parts[3].first.find("Content-Type: application/octet-stream"), std::string::npos);
    EXPECT_EQ(parts[3].second, "abc");
}

TEST_P(CurlHttpClientTest, RawBodyIsSentByteForByteWithAnyMethod) {
    const std::string bytes("id,name\n1,\0binary\xFF\n", 18);
    Request request = Get("/echo");
    request.method = "PUT";
    request.body = RawBody{bytes, "text/csv"};
    MustSend(request);
    auto last = Last();
    EXPECT_EQ(last.method, "PUT");
    EXPECT_EQ(last.Header("content-type"), "text/csv");
    EXPECT_EQ(last.body, bytes);

    request.method = "PATCH";
    request.body = RawBody{"xyz", ""};
    MustSend(request);
    last = Last();
    EXPECT_EQ(last.method, "PATCH");
    EXPECT_EQ(last.Header("content-type"), "application/octet-stream");
    EXPECT_EQ(last.body, "xyz");
}

TEST_P(CurlHttpClientTest, MethodsWithoutBody) {
    Request request = Get("/echo");
    request.method = "POST";
    MustSend(request);
    auto last = Last();
    EXPECT_EQ(last.method, "POST");
    EXPECT_EQ(last.Header("content-length"), "0");
    EXPECT_FALSE(last.Header("content-type").has_value());

    for (const char* method : {"DELETE", "OPTIONS", "PURGE"}) {
        request.method = method;
        MustSend(request);
        last = Last();
        EXPECT_EQ(last.method, method);
        EXPECT_TRUE(last.body.empty());
        EXPECT_FALSE(last.Header("content-type").has_value()) << method;
    }

    request.method = "HEAD";
    const Response head = MustSend(request);
    EXPECT_EQ(Last().method, "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
    EXPECT_TRUE(head.IsJson());  // the headers of the GET, without its body
}

TEST_P(CurlHttpClientTest, HttpErrorStatusesAreResponsesNotErrors) {
    Response response = MustSend(Get("/status/404?body=nope"));
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(response.body, "nope");
    response = MustSend(Get("/status/503?body=down"));
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.body, "down");
    response = MustSend(Get("/status/401"));
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.body, "");
}

TEST_P(CurlHttpClientTest, ResponseHeadersAreLowerCasedAndRepeatsKept) {
    const Response response = MustSend(Get("/headers"));
    EXPECT_EQ(response.HeaderValues("Set-Cookie"), (std::vector<std::string_view>{"a=1", "b=2"}));
    EXPECT_EQ(response.HeaderValue("X-CUSTOM"), "One");
    EXPECT_FALSE(response.HeaderValue("x-missing").has_value());
    for (const auto& [name, value] : response.headers) EXPECT_EQ(name, ToLower(name));
    EXPECT_EQ(response.MediaType(), "text/plain");
}

TEST_P(CurlHttpClientTest, JsonHelperRefusesNonJsonAndBrokenJson) {
    Response response = MustSend(Get("/status/200?body=%7B%7D"));
    EXPECT_FALSE(response.IsJson());
    auto json = response.Json();
    ASSERT_FALSE(json.has_value());
    EXPECT_EQ(json.error().code, core::Errc::kUpstreamError);
    EXPECT_EQ(json.error().message, "response is not JSON");

    response = MustSend(Get("/not-json"));
    EXPECT_TRUE(response.IsJson());
    json = response.Json();
    ASSERT_FALSE(json.has_value());
    EXPECT_EQ(json.error().message, "response is not valid JSON");
}

TEST_P(CurlHttpClientTest, DeadlineFailsWithUpstreamErrorQuickly) {
    Request request = Get("/sleep?ms=20000");
    request.timeout = 300ms;
    const auto start = Clock::now();
    const core::Error error = MustFail(request);
    const auto took = Clock::now() - start;
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "request timed out");
    EXPECT_TRUE(IsTimedOut(error));  // what the engine reads as a ModuleTimeoutError
    EXPECT_LT(took, 5s);
}

TEST_P(CurlHttpClientTest, ConnectTimeoutFailsWithUpstreamErrorQuickly) {
    BlackHole hole;
    Request request;
    request.url = "http://127.0.0.1:" + std::to_string(hole.port()) + "/";
    request.timeout = 20s;
    request.connect_timeout = 300ms;
    const auto start = Clock::now();
    const core::Error error = MustFail(request);
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "request timed out") << error.detail;
    EXPECT_TRUE(IsTimedOut(error));
    EXPECT_LT(Clock::now() - start, 5s);
}

TEST_P(CurlHttpClientTest, ResponseLargerThanTheCapFails) {
    Request request = Get("/big?bytes=1048576");
    request.max_response_bytes = 64 * 1024;
    core::Error error = MustFail(request);
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "response larger than 65536 bytes");

    request = Get("/big?bytes=65536");
    request.max_response_bytes = 64 * 1024;
    EXPECT_EQ(MustSend(request).body, std::string(65536, 'x'));

    // The default cap is 10 MiB.
    error = MustFail(Get("/big?bytes=11534336"));
    EXPECT_EQ(error.message, "response larger than 10485760 bytes");
}

TEST_P(CurlHttpClientTest, ResponseHeadersLargerThanTheCapFail) {
    const core::Error error = MustFail(Get("/huge-headers"));
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "response headers larger than 262144 bytes");
}

TEST_P(CurlHttpClientTest, CorruptCompressedBodyIsAnUpstreamError) {
    const core::Error error = MustFail(Get("/bad-gzip"));
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "could not decode the response body") << error.detail;
}

TEST_P(CurlHttpClientTest, GzipAndDeflateBodiesAreDecoded) {
    Response response = MustSend(Get("/gzip"));
    EXPECT_EQ(response.body, support::kCompressedText);
    EXPECT_EQ(response.HeaderValue("content-encoding"), "gzip");
    response = MustSend(Get("/deflate"));
    EXPECT_EQ(response.body, support::kCompressedText);
}

TEST_P(CurlHttpClientTest, RedirectsAreFollowedOnTheSameConnection) {
    const Response response = MustSend(Get("/redirect/3"));
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "done");
    EXPECT_EQ(response.redirects, 3);
    EXPECT_EQ(response.url, server_.Url("/redirect/0"));
    EXPECT_EQ(server_.requests().size(), 4u);
    EXPECT_EQ(server_.accepted_connections(), 1);
}

TEST_P(CurlHttpClientTest, RedirectLimitAndOptOut) {
    core::Error error = MustFail(Get("/redirect/6"));
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "too many redirects");
    EXPECT_EQ(server_.requests().size(), 6u);  // the first request and 5 redirects

    Request request = Get("/redirect/2");
    request.max_redirects = 1;
    EXPECT_EQ(MustFail(request).message, "too many redirects");
    request.max_redirects = 2;
    EXPECT_EQ(MustSend(request).body, "done");

    request.follow_redirects = false;
    const Response response = MustSend(request);
    EXPECT_EQ(response.status, 302);
    EXPECT_EQ(response.HeaderValue("location"), "/redirect/1");
}

TEST_P(CurlHttpClientTest, RedirectMethodRules) {
    Request request = Get("/redirect-to?status=307&url=%2Fecho%2F307");
    request.method = "POST";
    request.body = JsonBody{boost::json::parse(R"({"a":1})")};
    MustSend(request);
    auto last = Last();
    EXPECT_EQ(last.target, "/echo/307");
    EXPECT_EQ(last.method, "POST");
    EXPECT_EQ(last.body, R"({"a":1})");
    EXPECT_EQ(last.Header("content-type"), "application/json");

    for (const char* status : {"302", "303"}) {
        request.url = server_.Url(std::string("/redirect-to?url=%2Fecho&status=") + status);
        request.headers = {{"Content-Type", "application/json"}};
        MustSend(request);
        last = Last();
        EXPECT_EQ(last.method, "GET") << status;
        EXPECT_TRUE(last.body.empty()) << status;
        EXPECT_FALSE(last.Header("content-type").has_value()) << status;
    }
}

TEST_P(CurlHttpClientTest, CredentialsDoNotFollowARedirectToAnotherOrigin) {
    support::TestServer other;
    const auto sanitizer = std::make_shared<Sanitizer>(std::vector<core::Secret>{core::Secret(kSecret)});
    Request request = Get("/redirect-to?url=" + PercentEncode(other.Url("/echo/elsewhere")));
    request.sanitizer = sanitizer;
    request.headers = {{"Authorization", "Bearer abc"},
                       {"X-Api-Key", "k"},
                       {"Cookie", "sid=1"},
                       {"X-Carrier", "v-" + kSecret},
                       {"X-Trace", "trace-1"}};
    const Response response = MustSend(request);
    EXPECT_EQ(response.url, other.Url("/echo/elsewhere"));
    const auto there = other.LastRequest();
    ASSERT_TRUE(there.has_value());
    EXPECT_EQ(there->Header("x-trace"), "trace-1");
    EXPECT_FALSE(there->Header("authorization").has_value());
    EXPECT_FALSE(there->Header("x-api-key").has_value());
    EXPECT_FALSE(there->Header("cookie").has_value());
    EXPECT_FALSE(there->Header("x-carrier").has_value());

    // Within the same origin they do.
    request.url = server_.Url("/redirect-to?url=%2Fecho%2Fhere");
    MustSend(request);
    const auto here = Last();
    EXPECT_EQ(here.target, "/echo/here");
    EXPECT_EQ(here.Header("authorization"), "Bearer abc");
    EXPECT_EQ(here.Header("x-carrier"), "v-" + kSecret);
}

TEST_P(CurlHttpClientTest, SequentialRequestsReuseOneConnection) {
    MustSend(Get("/echo/1"));
    Request post = Get("/echo/2");
    post.method = "POST";
    post.body = JsonBody{boost::json::parse(R"({"n":2})")};
    MustSend(post);
    MustSend(Get("/status/404"));
    MustSend(Get("/gzip"));
    EXPECT_EQ(server_.requests().size(), 4u);
    EXPECT_EQ(server_.accepted_connections(), 1);
}

TEST_P(CurlHttpClientTest, ConcurrentCallsAreSafeAndPooled) {
    constexpr int kThreads = 8;
    constexpr int kCallsPerThread = 5;
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCallsPerThread; ++i) {
                const std::string path = "/echo/" + std::to_string(t) + "-" + std::to_string(i);
                const auto result = client_.Send(Get(path));
                if (!result || result->status != 200) continue;
                const auto json = result->Json();
                if (json && json->at("path") == boost::json::value(path)) ++good;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(good.load(), kThreads * kCallsPerThread);
    EXPECT_GE(server_.accepted_connections(), 1);
    EXPECT_LE(server_.accepted_connections(), kThreads);
}

TEST_P(CurlHttpClientTest, SsrfPolicyRefusesLoopbackBeforeConnecting) {
    CurlHttpClientOptions strict_options;  // allow_private_network = false
    strict_options.builtin_plain_http = GetParam();
    CurlHttpClient strict(strict_options);
    const std::string port = std::to_string(server_.port());
    for (const std::string& url : {server_.Url("/echo"), "http://localhost:" + port + "/echo",
                                   "http://[::1]:" + port + "/echo", "http://[::ffff:127.0.0.1]:" + port + "/echo",
                                   "http://0.0.0.0:" + port + "/echo", "http://2130706433:" + port + "/echo"}) {
        Request request;
        request.url = url;
        request.timeout = 10s;
        const auto result = strict.Send(request);
        ASSERT_FALSE(result.has_value()) << url;
        EXPECT_EQ(result.error().code, core::Errc::kPermissionDenied) << url << ": " << Describe(result);
        EXPECT_NE(result.error().detail.find("refused to connect to"), std::string::npos) << result.error().detail;
    }
    EXPECT_EQ(server_.accepted_connections(), 0);
    EXPECT_TRUE(server_.requests().empty());
}

TEST_P(CurlHttpClientTest, MalformedRequestsAreInvalidArgumentsAndSendNothing) {
    std::vector<Request> requests;
    const auto add = [&](auto change) {
        Request request = Get("/echo");
        change(request);
        requests.push_back(request);
    };
    add([](Request& r) { r.url = "ftp://127.0.0.1/file"; });
    add([](Request& r) { r.url = "file:///etc/passwd"; });
    add([&](Request& r) { r.url = "http://user:" + kSecret + "@127.0.0.1:1/"; });
    add([](Request& r) { r.url = "not a url"; });
    add([](Request& r) { r.method = "GE T"; });
    add([](Request& r) { r.method = ""; });
    add([](Request& r) { r.headers = {{"X Bad", "v"}}; });
    add([&](Request& r) { r.headers = {{"X-Inject", kSecret + "\r\nX-Evil: 1"}}; });
    add([](Request& r) { r.timeout = 0ms; });
    add([](Request& r) { r.connect_timeout = -1ms; });
    add([](Request& r) { r.max_redirects = -1; });
    add([](Request& r) { r.max_response_bytes = 0; });
    add([](Request& r) {
        r.method = "HEAD";
        r.body = RawBody{"x", "text/plain"};
    });
    for (const Request& request : requests) {
        const auto result = client_.Send(request);
        ASSERT_FALSE(result.has_value()) << request.method << " " << request.url;
        EXPECT_EQ(result.error().code, core::Errc::kInvalidArgument) << Describe(result);
        EXPECT_EQ((result.error().message + result.error().detail).find(kSecret), std::string::npos);
    }
    EXPECT_EQ(server_.accepted_connections(), 0);
}

TEST_P(CurlHttpClientTest, TlsFailureIsAnUpstreamError) {
    Request request;
    request.url = "https://127.0.0.1:" + std::to_string(server_.port()) + "/echo";
    request.timeout = 10s;
    const core::Error error = MustFail(request);
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "TLS connection failed") << error.detail;
    EXPECT_TRUE(server_.requests().empty());
}

TEST_P(CurlHttpClientTest, TransportErrorsNeverContainSecrets) {
    const std::string base = "http://127.0.0.1:" + std::to_string(ClosedPort());
    std::vector<LogEntry> entries;
    Request request;
    request.url = base + "/bot" + PercentEncode(kSecret) + "/send";
    request.query = {{"key", kSecret}};
    request.timeout = 10s;
    request.sanitizer = std::make_shared<Sanitizer>(std::vector<core::Secret>{core::Secret(kSecret)});
    request.log_hook = [&](const LogEntry& entry) { entries.push_back(entry); };
    const core::Error error = MustFail(request);
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
    EXPECT_EQ(error.message, "could not connect");
    const std::string text = error.message + " " + error.detail;
    EXPECT_NE(text.find("/bot[redacted]/send?key=[redacted]"), std::string::npos) << text;
    EXPECT_FALSE(request.sanitizer->ContainsSecret(text)) << text;
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].status, 0);
    EXPECT_NE(entries[0].error.find("could not connect"), std::string::npos);
    EXPECT_FALSE(request.sanitizer->ContainsSecret(entries[0].Summary()));

    // Without a sanitizer the built-in rules still hide credential-named query parameters.
    Request plain;
    plain.url = base + "/x";
    plain.query = {{"access_token", "abc123"}};
    const core::Error plain_error = MustFail(plain);
    EXPECT_EQ(plain_error.detail.find("abc123"), std::string::npos) << plain_error.detail;
    EXPECT_NE(plain_error.detail.find("access_token=[redacted]"), std::string::npos) << plain_error.detail;
}

TEST_P(CurlHttpClientTest, LogEntriesAndLogLinesAreSanitised) {
    std::ostringstream lines;
    auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_st>(lines));
    logger->set_level(spdlog::level::trace);
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);

    auto rules = SanitizeRules::FromPaths({"request.body.pin", "response.body.method", "request.headers.x-plain"});
    ASSERT_TRUE(rules.has_value());
    const auto sanitizer = std::make_shared<Sanitizer>(std::vector<core::Secret>{core::Secret(kSecret)}, *rules);
    std::vector<LogEntry> entries;
    Request request = Get("/echo/" + PercentEncode(kSecret));
    request.method = "POST";
    request.query = {{"api_key", kSecret}, {"q", "visible"}};
    request.headers = {{"Authorization", "Bearer " + kSecret}, {"X-Plain", "p"}, {"X-Other", "o-" + kSecret}};
    // The secret at three byte offsets, so that the echoed body_base64 carries it at every base64 alignment.
    request.body = JsonBody{boost::json::object{{"password", "hunter2-unknown"},
                                                {"pin", "4321"},
                                                {"note", kSecret},
                                                {"note1", "a" + kSecret},
                                                {"note2", "ab" + kSecret}}};
    request.sanitizer = sanitizer;
    request.log_hook = [&](const LogEntry& entry) { entries.push_back(entry); };
    const Response response = MustSend(request);
    spdlog::set_default_logger(previous);

    // The caller gets the real data; only the record is sanitised.
    ASSERT_EQ(response.status, 200);
    const auto echo = response.Json();
    ASSERT_TRUE(echo.has_value());
    EXPECT_NE(boost::json::serialize(*echo).find("Bearer " + kSecret), std::string::npos);

    ASSERT_EQ(entries.size(), 1u);
    const LogEntry& entry = entries[0];
    EXPECT_EQ(entry.status, 200);
    EXPECT_EQ(entry.url,
              "http://127.0.0.1:" + std::to_string(server_.port()) + "/echo/[redacted]?api_key=[redacted]&q=visible");
    EXPECT_EQ(entry.request_body,
              R"({"password":"[redacted]","pin":"[redacted]","note":"[redacted]","note1":"a[redacted]",)"
              R"("note2":"ab[redacted]"})");
    EXPECT_NE(entry.response_body.find(R"("method":"[redacted]")"), std::string::npos) << entry.response_body;
    std::string everything = entry.Summary() + entry.request_body + entry.response_body + entry.url;
    for (const auto& [name, value] : entry.request_headers) everything += name + ": " + value + "\n";
    for (const auto& [name, value] : entry.response_headers) everything += name + ": " + value + "\n";
    const std::string logged = lines.str();
    EXPECT_NE(logged.find(entry.Summary()), std::string::npos) << logged;
    EXPECT_NE(logged.find("[redacted]"), std::string::npos);
    for (const std::string& text : {everything, logged}) {
        // The echo carries the secret raw (headers), percent-encoded (target) and inside base64 (body_base64).
        EXPECT_FALSE(sanitizer->ContainsSecret(text)) << text;
        std::vector<std::string> forms = {
            kSecret,  PercentEncode(kSecret), core::Base64Encode(kSecret), std::string("4321"), "hunter2-unknown",
            "sk_live"};
        for (const std::string& middle : Base64Middles(kSecret)) forms.push_back(middle);
        for (const std::string& form : forms) {
            EXPECT_EQ(text.find(form), std::string::npos) << "leaked " << form << " in " << text;
        }
    }
}

// A one-thread server on 127.0.0.1 that plays a script on each connection it accepts (in order): for the
// exchanges the test server cannot produce (a close at a chosen moment, interim responses, cut bodies).
class ScriptedServer {
  public:
    using Script = std::function<void(int fd, int connection)>;
    explicit ScriptedServer(Script script) : script_(std::move(script)) {
        sockaddr_in address{};
        listener_ = LoopbackListener(8, address, port_);
        thread_ = std::thread([this] {
            for (int connection = 0; !stop_; ++connection) {
                pollfd entry{listener_, POLLIN, 0};
                if (poll(&entry, 1, 50) <= 0) {
                    --connection;
                    continue;
                }
                const int fd = accept(listener_, nullptr, nullptr);
                if (fd < 0) break;
                ++accepted_;
                script_(fd, connection);
                close(fd);
            }
        });
    }
    ~ScriptedServer() {
        stop_ = true;
        thread_.join();
        close(listener_);
    }
    std::string Url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    // A GET of "/a" on this server, with a 10 s deadline.
    Request Get() const {
        Request request;
        request.url = Url("/a");
        request.timeout = 10s;
        return request;
    }
    int accepted() const { return accepted_.load(); }

    // Reads one request head (no body); false when the peer closed first or 5 s passed.
    static bool ReadHead(int fd) {
        std::string head;
        char c = 0;
        while (head.find("\r\n\r\n") == std::string::npos) {
            pollfd entry{fd, POLLIN, 0};
            if (poll(&entry, 1, 5000) <= 0 || recv(fd, &c, 1, 0) != 1) return false;
            head.push_back(c);
        }
        return true;
    }
    static void Send(int fd, std::string_view bytes) { (void)send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

  private:
    Script script_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

// The server answers the first request of each connection and drops the connection when the second one arrives
// (its keep-alive timeout hit just then): the call is retried once on a new connection and succeeds.
TEST_P(CurlHttpClientTest, RequestOnAConnectionTheServerDroppedIsRetriedOnANewOne) {
    ScriptedServer scripted([](int fd, int) {
        if (!ScriptedServer::ReadHead(fd)) return;
        ScriptedServer::Send(fd, kOk);
        ScriptedServer::ReadHead(fd);  // and close without an answer
    });
    const Request request = scripted.Get();
    for (int i = 0; i < 3; ++i) {
        const core::Result<Response> result = client_.Send(request);
        ASSERT_TRUE(result.has_value()) << i << ": " << Describe(result);
        EXPECT_EQ(result->status, 200);
        EXPECT_EQ(result->body, "ok");
    }
    EXPECT_EQ(scripted.accepted(), 3);
}

// A server that closes after each answer (without saying so): the next call notices before reusing it.
TEST_P(CurlHttpClientTest, ConnectionClosedWhileIdleIsNotReused) {
    ScriptedServer scripted([](int fd, int) {
        if (ScriptedServer::ReadHead(fd)) ScriptedServer::Send(fd, kOk);
    });
    const Request request = scripted.Get();
    for (int i = 0; i < 3; ++i) {
        const core::Result<Response> result = client_.Send(request);
        ASSERT_TRUE(result.has_value()) << i << ": " << Describe(result);
        EXPECT_EQ(result->body, "ok");
        std::this_thread::sleep_for(20ms);  // the close reaches the client while the connection is idle
    }
    EXPECT_EQ(scripted.accepted(), 3);
}

TEST_P(CurlHttpClientTest, InterimResponsesAreSkippedAndCloseDelimitedBodiesRead) {
    ScriptedServer scripted([](int fd, int) {
        if (!ScriptedServer::ReadHead(fd)) return;
        ScriptedServer::Send(fd, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n");
        ScriptedServer::Send(fd, "HTTP/1.1 201 Created\r\nX-Id: 7\r\nConnection: close\r\n\r\nall of it");
    });
    const Request request = scripted.Get();
    const Response response = MustSend(request);
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "all of it");
    EXPECT_EQ(response.HeaderValue("x-id"), std::optional<std::string_view>("7"));
    EXPECT_FALSE(response.HeaderValue("link").has_value());  // the interim response's headers are not kept
}

TEST_P(CurlHttpClientTest, BodyCutShortIsAnUpstreamError) {
    ScriptedServer scripted([](int fd, int) {
        if (ScriptedServer::ReadHead(fd)) ScriptedServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
    });
    const Request request = scripted.Get();
    const core::Error error = MustFail(request);
    EXPECT_EQ(error.code, core::Errc::kUpstreamError);
}

// libcurl takes such a line for an HTTP/0.9 answer; the built-in transport refuses it.
TEST(PlainHttpTransportTest, MalformedStatusLineIsAnUpstreamError) {
    CurlHttpClient client(PrivateNetworkAllowed(true));
    ScriptedServer scripted([](int fd, int) {
        if (ScriptedServer::ReadHead(fd)) ScriptedServer::Send(fd, "HTTP/1.1 abc Nonsense\r\n\r\n");
    });
    const Request request = scripted.Get();
    const core::Result<Response> result = client.Send(request);
    ASSERT_FALSE(result.has_value()) << Describe(result);
    EXPECT_EQ(result.error().code, core::Errc::kUpstreamError);
    EXPECT_EQ(result.error().message, "invalid response");
}

INSTANTIATE_TEST_SUITE_P(Transports, CurlHttpClientTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                             return param_info.param ? std::string("BuiltinPlainHttp") : std::string("Libcurl");
                         });

}  // namespace
}  // namespace switchboard::http_client
