#include "api/json_views.hpp"

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace switchboard::api {

namespace json = boost::json;

json::object UserJson(const store::User& u) {
    return {{"id", u.id.value()}, {"name", u.name}, {"email", u.email}, {"created", core::FormatIso8601(u.created_at)}};
}

json::object TeamJson(const store::Team& t) { return {{"id", t.id.value()}, {"name", t.name}}; }

json::object MemberJson(const accounts::MemberView& m, core::TeamId team) {
    return {{"userId", m.user.id.value()},
            {"teamId", team.value()},
            {"email", m.user.email},
            {"name", m.user.name},
            {"role", store::RoleName(m.role)}};
}

json::object TokenJson(const store::ApiToken& t) {
    return {{"id", t.id.value()},
            {"label", t.label},
            {"created", core::FormatIso8601(t.created_at)},
            {"lastUsed", Time(t.last_used_at)},
            {"revoked", Time(t.revoked_at)}};
}

json::value Time(const std::optional<std::int64_t>& ms) {
    return ms ? json::value(core::FormatIso8601(*ms)) : json::value(nullptr);
}

json::value ParseOr(const std::string& text, json::value fallback) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    return ec ? fallback : v;
}

}  // namespace switchboard::api
