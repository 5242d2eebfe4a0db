#pragma once
// The one place where a core::Error becomes an HTTP status and Make's error body:
// {"message": ..., "detail": ..., "code": "SC<status>", "suberrors": [{"message": ...}]}
#include "core/error.hpp"
#include "http_server/message.hpp"

namespace switchboard::api {

int HttpStatusFor(core::Errc code);
http_server::Response ErrorResponse(const core::Error& error);

}  // namespace switchboard::api
