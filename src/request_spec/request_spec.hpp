#pragma once
// Make's request specification (a connection's verify request, an OAuth step, later a module's
// communication): render it with the template engine, send it, and read the answer with its `response`
// directives. Shared by connections/, oauth/ and the scenario engine so that every request an app definition
// describes behaves the same way.
//
//   condition  template or boolean: false = the request is not made
//   url method headers qs body type   the request; header and qs keys may be templates too (a key that renders
//              empty is left out) and the key "{{...}}" spreads a collection in, as in Make
//   response.valid   template, boolean or {condition, message}: default = status below 400
//   response.error   {message, type, "<status>": {message, type}}: the failure message
//   response.<other> (metadata, uid, data, temp, expires, …) rendered on demand with RenderDirective
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "http_client/http_client.hpp"
#include "http_client/sanitizer.hpp"
#include "iml/template.hpp"

namespace switchboard::request_spec {

// Make's truthiness: false, null, 0, "", "false" and "0" are false.
bool Truthy(const boost::json::value& v);
// Make's default failure message for a status: 429, 5xx, other 4xx.
std::string DefaultErrorMessage(int status);
// A value as text: strings as they are, null as "", anything else as JSON.
std::string Text(const boost::json::value& v);

// An object of fields (headers, qs, a form body) rendered: values are templates, keys may be too (a key that
// renders empty is left out), "{{...}}" spreads a collection in, and null values are left out.
core::Result<http_client::Fields> RenderFields(const boost::json::value& spec, const iml::Context& ctx,
                                               std::string_view what);

// True when the spec has no condition or it renders truthy.
core::Result<bool> Condition(const boost::json::object& spec, const iml::Context& ctx);

// The HTTP request the spec describes (without sanitizer or hooks; the caller adds them). `what` names the
// spec in error messages ("the verify request of github").
core::Result<http_client::Request> Render(const boost::json::object& spec, const iml::Context& ctx,
                                          std::string_view what);

// Adds body (parsed JSON when the response is JSON, else text), headers and statusCode to a template root.
void AddResponse(boost::json::object& root, const http_client::Response& response);

// The failure message when the response is not valid (status >= 400 or `valid` false); nullopt when valid.
core::Result<std::optional<std::string>> Failure(const boost::json::object& spec, int status, const iml::Context& ctx);

// response.<key> rendered (null when absent).
core::Result<boost::json::value> RenderDirective(const boost::json::object& spec, std::string_view key,
                                                 const iml::Context& ctx);

// A sanitizer that knows the given secret values and the `log.sanitize` paths of the app base and the spec.
core::Result<std::shared_ptr<http_client::Sanitizer>> MakeSanitizer(std::vector<core::Secret> secrets,
                                                                    const boost::json::object& base,
                                                                    const boost::json::object& spec);

// Every string of at least 4 characters in the values (for building sanitizers from stored credentials).
void CollectSecrets(const boost::json::value& v, std::vector<core::Secret>& out);

}  // namespace switchboard::request_spec
