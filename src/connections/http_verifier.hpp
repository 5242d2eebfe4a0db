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

}  // namespace switchboard::connections
