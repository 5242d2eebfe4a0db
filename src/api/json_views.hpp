#pragma once
// JSON shapes of the records, as the API returns them (never a secret or a token hash).
#include <boost/json/object.hpp>

#include "accounts/account_service.hpp"
#include "store/records.hpp"

namespace switchboard::api {

boost::json::object UserJson(const store::User& u);
boost::json::object TeamJson(const store::Team& t);
boost::json::object MemberJson(const accounts::MemberView& m, core::TeamId team);
boost::json::object TokenJson(const store::ApiToken& t);

}  // namespace switchboard::api
