#include "core/error.hpp"

namespace switchboard::core {

std::string_view ErrcName(Errc code) {
    switch (code) {
        case Errc::kInvalidArgument:
            return "invalid_argument";
        case Errc::kUnauthenticated:
            return "unauthenticated";
        case Errc::kPermissionDenied:
            return "permission_denied";
        case Errc::kNotFound:
            return "not_found";
        case Errc::kMethodNotAllowed:
            return "method_not_allowed";
        case Errc::kConflict:
            return "conflict";
        case Errc::kPayloadTooLarge:
            return "payload_too_large";
        case Errc::kUnavailable:
            return "unavailable";
        case Errc::kUpstreamError:
            return "upstream_error";
        case Errc::kInternal:
            return "internal";
    }
    return "internal";
}

void throw_exception_from_error(const Error& e, const boost::source_location&) { throw ErrorException(e); }

}  // namespace switchboard::core
