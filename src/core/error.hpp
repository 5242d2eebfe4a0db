#pragma once
// Canonical errors and Result<T>. Expected failures travel as values; the API maps each code to an HTTP
// status and Make's error body in exactly one place (api/error_body.cpp).
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace switchboard::core {

enum class Errc {
    kInvalidArgument,   // 400 SC400
    kUnauthenticated,   // 401 SC401
    kPermissionDenied,  // 403 SC403
    kNotFound,          // 404 SC404
    kMethodNotAllowed,  // 405 SC405
    kConflict,          // 409 SC409
    kPayloadTooLarge,   // 413 SC413
    kUnavailable,       // 503 SC503
    kUpstreamError,     // 502 SC502
    kInternal,          // 500 SC500
};

std::string_view ErrcName(Errc code);

struct Error {
    Errc code = Errc::kInternal;
    std::string message;                 // short, user-facing ("Not found")
    std::string detail;                  // what exactly was wrong; never contains a secret
    std::vector<std::string> suberrors;  // e.g. one per invalid field

    static Error Make(Errc c, std::string msg, std::string det = {}) {
        return Error{c, std::move(msg), std::move(det), {}};
    }
};

// Used by Result<T>::value() when it holds an error: abort the operation with an exception carrying it.
struct ErrorException : std::exception {
    explicit ErrorException(Error e) : error(std::move(e)) {}
    const char* what() const noexcept override { return error.message.c_str(); }
    Error error;
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error InvalidArgument(std::string detail) {
    return Error::Make(Errc::kInvalidArgument, "Invalid argument", std::move(detail));
}
inline Error NotFound(std::string detail) { return Error::Make(Errc::kNotFound, "Not found", std::move(detail)); }
inline Error Conflict(std::string detail) { return Error::Make(Errc::kConflict, "Conflict", std::move(detail)); }
inline Error Unauthenticated(std::string detail) {
    return Error::Make(Errc::kUnauthenticated, "Unauthenticated", std::move(detail));
}
inline Error PermissionDenied(std::string detail) {
    return Error::Make(Errc::kPermissionDenied, "Permission denied", std::move(detail));
}
inline Error Unavailable(std::string detail) {
    return Error::Make(Errc::kUnavailable, "Service unavailable", std::move(detail));
}
inline Error Internal(std::string detail) { return Error::Make(Errc::kInternal, "Internal error", std::move(detail)); }

}  // namespace switchboard::core
