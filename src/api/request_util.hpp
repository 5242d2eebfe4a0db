#pragma once
// Small adapters between HTTP requests and the services: JSON bodies, ids in paths and queries.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "http_server/message.hpp"

namespace switchboard::api {

// The body as a JSON object; kInvalidArgument ("Invalid JSON body: …") when it is not one.
core::Result<boost::json::object> ParseJsonObject(const http_server::Request& req);
// A positive integer id; kInvalidArgument naming the parameter otherwise.
core::Result<std::int64_t> ParseId(std::string_view text, std::string_view name);
core::Result<std::int64_t> PathId(const http_server::Request& req, const std::string& name);
// A required query parameter holding an id (teamId=…).
core::Result<std::int64_t> QueryId(const http_server::Request& req, std::string_view name);
// A string field; required → kInvalidArgument when missing or not a string.
core::Result<std::string> StringField(const boost::json::object& body, std::string_view name, bool required);

// An integer query parameter within [lo, hi]; fallback when absent.
core::Result<int> IntQuery(const http_server::Request& req, std::string_view key, int fallback, int lo, int hi);

http_server::Response JsonResponse(int status, const boost::json::value& body);

}  // namespace switchboard::api
