#pragma once
// Turns a handler body that returns Result<Response> into a Handler that maps errors through ErrorResponse,
// and authenticates the caller first for /api routes.
#include <functional>

#include "accounts/account_service.hpp"
#include "api/error_body.hpp"
#include "http_server/router.hpp"

namespace switchboard::api {

using AuthedBody = std::function<core::Result<http_server::Response>(http_server::Request&, const accounts::Caller&)>;

inline http_server::Handler Authed(accounts::AccountService& accounts, AuthedBody body) {
    return [&accounts, body = std::move(body)](http_server::Request& req) -> http_server::Response {
        auto caller = accounts.Authenticate(
            accounts::Credentials{req.Header("authorization").value_or(""), req.Header("cookie").value_or(""),
                                  req.Header(accounts::kCsrfHeader).value_or(""), req.method});
        if (!caller) return ErrorResponse(caller.error());
        auto r = body(req, *caller);
        if (!r) return ErrorResponse(r.error());
        return std::move(*r);
    };
}

}  // namespace switchboard::api
