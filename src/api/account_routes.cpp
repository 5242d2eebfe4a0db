// /api/v2/users/me, /api/v2/users/me/api-tokens, /api/v2/teams, /api/v2/teams/{teamId}/members.
#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/handler_util.hpp"
#include "api/json_views.hpp"
#include "api/request_util.hpp"

namespace switchboard::api {

namespace json = boost::json;
using accounts::Caller;
using core::Result;
using http_server::Request;
using http_server::Response;

namespace {

Result<store::Role> RoleField(const json::object& body) {
    auto role = StringField(body, "role", false);
    if (!role) return role.error();
    if (role->empty()) return store::Role::kMember;
    auto parsed = store::ParseRole(*role);
    if (!parsed) return core::InvalidArgument("role must be one of admin, member, operator, monitoring");
    return *parsed;
}

}  // namespace

void AddAccountRoutes(http_server::Router& router, ApiDeps deps) {
    auto& acc = deps.accounts;

    router.Add("GET", "/api/v2/users/me", Authed(acc, [&acc](Request&, const Caller& c) -> Result<Response> {
                   auto me = acc.Me(c);
                   if (!me) return me.error();
                   return JsonResponse(200, json::object{{"authUser", UserJson(*me)}});
               }));

    router.Add("GET", "/api/v2/users/me/api-tokens", Authed(acc, [&acc](Request&, const Caller& c) -> Result<Response> {
                   auto tokens = acc.ListApiTokens(c);
                   if (!tokens) return tokens.error();
                   json::array out;
                   for (const auto& t : *tokens) out.push_back(TokenJson(t));
                   return JsonResponse(200, json::object{{"apiTokens", std::move(out)}});
               }));

    router.Add("POST", "/api/v2/users/me/api-tokens",
               Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto label = StringField(*body, "label", false);
                   if (!label) return label.error();
                   auto issued = acc.CreateApiToken(c, *label);
                   if (!issued) return issued.error();
                   json::object t = TokenJson(issued->record);
                   // The only time the token is shown: it is stored as a hash.
                   t["token"] = std::string(issued->token.Reveal());
                   return JsonResponse(201, json::object{{"apiToken", std::move(t)}});
               }));

    router.Add("DELETE", "/api/v2/users/me/api-tokens/{tokenId}",
               Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = PathId(req, "tokenId");
                   if (!id) return id.error();
                   if (auto r = acc.RevokeApiToken(c, core::TokenId{*id}); !r) return r.error();
                   return JsonResponse(200, json::object{{"apiToken", *id}});
               }));

    router.Add("GET", "/api/v2/teams", Authed(acc, [&acc](Request&, const Caller& c) -> Result<Response> {
                   auto teams = acc.ListTeams(c);
                   if (!teams) return teams.error();
                   json::array out;
                   for (const auto& t : *teams) out.push_back(TeamJson(t));
                   return JsonResponse(200, json::object{{"teams", std::move(out)}});
               }));

    router.Add("POST", "/api/v2/teams", Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto name = StringField(*body, "name", true);
                   if (!name) return name.error();
                   auto team = acc.CreateTeam(c, *name);
                   if (!team) return team.error();
                   return JsonResponse(201, json::object{{"team", TeamJson(*team)}});
               }));

    router.Add("GET", "/api/v2/teams/{teamId}", Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = PathId(req, "teamId");
                   if (!id) return id.error();
                   auto team = acc.GetTeam(c, core::TeamId{*id});
                   if (!team) return team.error();
                   return JsonResponse(200, json::object{{"team", TeamJson(*team)}});
               }));

    router.Add("GET", "/api/v2/teams/{teamId}/members",
               Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = PathId(req, "teamId");
                   if (!id) return id.error();
                   auto members = acc.ListMembers(c, core::TeamId{*id});
                   if (!members) return members.error();
                   json::array out;
                   for (const auto& m : *members) out.push_back(MemberJson(m, core::TeamId{*id}));
                   return JsonResponse(200, json::object{{"members", std::move(out)}});
               }));

    router.Add("POST", "/api/v2/teams/{teamId}/members",
               Authed(acc, [&acc](Request& req, const Caller& c) -> Result<Response> {
                   auto id = PathId(req, "teamId");
                   if (!id) return id.error();
                   auto body = ParseJsonObject(req);
                   if (!body) return body.error();
                   auto email = StringField(*body, "email", true);
                   if (!email) return email.error();
                   auto role = RoleField(*body);
                   if (!role) return role.error();
                   auto member = acc.AddMember(c, core::TeamId{*id}, *email, *role);
                   if (!member) return member.error();
                   return JsonResponse(201, json::object{{"member", MemberJson(*member, core::TeamId{*id})}});
               }));

    // Both DELETE /teams/{id}/members/{userId} and DELETE /teams/{id}/members?userId= remove a member.
    auto remove = [&acc](Request& req, const Caller& c) -> Result<Response> {
        auto id = PathId(req, "teamId");
        if (!id) return id.error();
        auto user = req.path_params.contains("userId") ? PathId(req, "userId") : QueryId(req, "userId");
        if (!user) return user.error();
        if (auto r = acc.RemoveMember(c, core::TeamId{*id}, core::UserId{*user}); !r) return r.error();
        return JsonResponse(200, json::object{{"member", *user}});
    };
    router.Add("DELETE", "/api/v2/teams/{teamId}/members/{userId}", Authed(acc, remove));
    router.Add("DELETE", "/api/v2/teams/{teamId}/members", Authed(acc, remove));
}

}  // namespace switchboard::api
