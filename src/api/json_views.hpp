#pragma once
// JSON shapes of the records, as the API returns them (never a secret or a token hash).
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "accounts/account_service.hpp"
#include "store/records.hpp"

namespace switchboard::api {

boost::json::object UserJson(const store::User& u);
boost::json::object TeamJson(const store::Team& t);
boost::json::object MemberJson(const accounts::MemberView& m, core::TeamId team);
boost::json::object TokenJson(const store::ApiToken& t);

// An optional time as ISO 8601 text, or null.
boost::json::value Time(const std::optional<std::int64_t>& ms);
// Stored JSON text parsed, or `fallback` when it does not parse.
boost::json::value ParseOr(const std::string& text, boost::json::value fallback);

}  // namespace switchboard::api
