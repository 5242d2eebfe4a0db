#pragma once
// The Verifier that really asks the app: templates rendered by iml/, the request sent by http_client/.
#include <chrono>
#include <semaphore>

#include "connections/verifier.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "http_client/http_client.hpp"

namespace switchboard::connections {

class HttpVerifier final : public Verifier {
  public:
    HttpVerifier(http_client::HttpClient& http, const core::Clock& clock, core::Random& random)
        : http_(http), clock_(clock), random_(random) {}

    bool HasVerifyRequest(const catalog::ConnectionType& type) const override;
    core::Result<VerifyResult> Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                      const boost::json::object& parameters, const boost::json::object& data) override;

    static constexpr std::chrono::seconds kVerifyTimeout{15};
    static constexpr std::ptrdiff_t kConcurrentVerifies = 4;

  private:
    std::counting_semaphore<kConcurrentVerifies> slots_{kConcurrentVerifies};
    http_client::HttpClient& http_;
    const core::Clock& clock_;
    core::Random& random_;
};

// Make's truthiness for `valid` and conditions: false, null, 0, "", "false" and "0" are false.
bool Truthy(const boost::json::value& v);
// Make's default error message for an HTTP status: 429, 5xx, other 4xx.
std::string DefaultErrorMessage(int status);

}  // namespace switchboard::connections
