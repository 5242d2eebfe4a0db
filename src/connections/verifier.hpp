#pragma once
// Runs a connection type's verify request (Make's `info` / the basic connection's single request) against the
// app: renders it with the template engine over {parameters, common, data, now}, sends it through the
// HttpClient, and reads the answer with the type's `response` directives:
//   valid     template or boolean; default: the status is 2xx
//   error     {message, type} (also per status: "401": {message}); default: Make's messages
//   metadata  {type: email|text, value}: shown under the connection's name
//   uid       the account's id at the app
//   data      values stored with the credentials, reachable in modules as {{connection.x}}
// Request and response are logged only through the request's sanitizer, which knows every secret value.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

#include "catalog/app.hpp"
#include "core/error.hpp"

namespace switchboard::connections {

struct VerifyResult {
    bool skipped = false;  // the request's `condition` was false: nothing was asked (e.g. no verify URL given)
    bool verified = false;
    std::string message;          // why it failed (the app's reason); never contains a secret
    boost::json::value metadata;  // {"type": "email"|"text", "value": …} or null
    std::string uid;
    boost::json::object data;
};

class Verifier {
  public:
    virtual ~Verifier() = default;
    virtual bool HasVerifyRequest(const catalog::ConnectionType& type) const = 0;
    // A failed check (refused credentials, unreachable app) is a VerifyResult with verified=false and the
    // reason; errors are only for a definition that cannot be rendered (kInvalidArgument) or internal failures.
    virtual core::Result<VerifyResult> Verify(const catalog::App& app, const catalog::ConnectionType& type,
                                              const boost::json::object& parameters,
                                              const boost::json::object& data) = 0;
};

}  // namespace switchboard::connections
