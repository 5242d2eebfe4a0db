#pragma once
// Pure URL functions of the outbound policy: encoding, building a request URL, origins and redirect steps.
// No I/O; everything here is unit-tested with tables.
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "http_client/message.hpp"

namespace switchboard::http_client {

// RFC 3986 percent-encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes %XX
// (upper-case hex). For query strings.
std::string PercentEncode(std::string_view text);
// application/x-www-form-urlencoded (WHATWG): A-Z a-z 0-9 * - . _ stay, space becomes '+', the rest %XX.
std::string FormEncode(std::string_view text);
// "a=1&b=x+y" from fields, FormEncode()d.
std::string EncodeForm(const Fields& fields);
// Decodes %XX (invalid escapes are kept as they are); with plus_as_space '+' becomes ' '.
std::string PercentDecode(std::string_view text, bool plus_as_space);

// Validates url (absolute, scheme http or https, a host, no user:password@) and appends query (each name and
// value PercentEncode()d) to its own query; drops the fragment. kInvalidArgument saying what is wrong; the
// message never repeats the URL (it may carry a secret).
core::Result<std::string> BuildUrl(std::string_view url, const Fields& query);

// "scheme://host:port" with the default port made explicit and the host lower-cased; "" if url is invalid.
std::string Origin(std::string_view url);

// 301, 302, 303, 307, 308.
bool IsRedirectStatus(int status);

struct RedirectStep {
    std::string url;     // absolute, fragment removed
    std::string method;  // POST becomes GET on 301/302, everything but HEAD becomes GET on 303
    bool keep_body = true;
    bool same_origin = true;  // false: credentials must not follow
};

// Resolves a Location header against the URL that answered with it. kUpstreamError when the location is not
// a valid URI reference, leaves http(s), or goes from https to http (a downgrade is never followed).
core::Result<RedirectStep> ResolveRedirect(std::string_view from_url, std::string_view method, int status,
                                           std::string_view location);

}  // namespace switchboard::http_client
