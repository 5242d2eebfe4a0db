#include "catalog/app.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace switchboard::catalog {

namespace {

template <class Enum, std::size_t N>
std::optional<Enum> Lookup(const std::array<std::pair<std::string_view, Enum>, N>& table, std::string_view s) {
    for (const auto& [name, value] : table) {
        if (name == s) return value;
    }
    return std::nullopt;
}

template <class Enum, std::size_t N>
std::string_view NameOf(const std::array<std::pair<std::string_view, Enum>, N>& table, Enum value) {
    for (const auto& [name, v] : table) {
        if (v == value) return name;
    }
    return "?";
}

constexpr std::array<std::pair<std::string_view, ParamType>, 8> kParamTypes{{
    {"text", ParamType::kText},
    {"password", ParamType::kPassword},
    {"email", ParamType::kEmail},
    {"url", ParamType::kUrl},
    {"number", ParamType::kNumber},
    {"select", ParamType::kSelect},
    {"boolean", ParamType::kBoolean},
    {"array", ParamType::kArray},
}};

constexpr std::array<std::pair<std::string_view, ConnectionKind>, 6> kConnectionKinds{{
    {"basic", ConnectionKind::kBasic},
    {"apikey", ConnectionKind::kApiKey},
    {"other", ConnectionKind::kOther},
    {"oauth", ConnectionKind::kOAuth},
    {"oauth-refresh", ConnectionKind::kOAuthRefresh},
    {"oauth-clicre", ConnectionKind::kOAuthClientCredentials},
}};

constexpr std::array<std::pair<std::string_view, ModuleType>, 5> kModuleTypes{{
    {"trigger", ModuleType::kTrigger},
    {"instant", ModuleType::kInstant},
    {"action", ModuleType::kAction},
    {"search", ModuleType::kSearch},
    {"universal", ModuleType::kUniversal},
}};

}  // namespace

std::optional<ParamType> ParamTypeFromString(std::string_view s) { return Lookup(kParamTypes, s); }
std::string_view ToString(ParamType type) { return NameOf(kParamTypes, type); }

std::optional<ConnectionKind> ConnectionKindFromString(std::string_view s) { return Lookup(kConnectionKinds, s); }
std::string_view ToString(ConnectionKind kind) { return NameOf(kConnectionKinds, kind); }

std::optional<ModuleType> ModuleTypeFromString(std::string_view s) { return Lookup(kModuleTypes, s); }
std::string_view ToString(ModuleType type) { return NameOf(kModuleTypes, type); }

const Parameter* ConnectionType::FindParameter(std::string_view param_name) const {
    auto it =
        std::find_if(parameters.begin(), parameters.end(), [&](const Parameter& p) { return p.name == param_name; });
    return it == parameters.end() ? nullptr : &*it;
}

bool ConnectionType::KnowsScope(std::string_view scope) const {
    return std::any_of(scopes.begin(), scopes.end(), [&](const ScopeInfo& s) { return s.scope == scope; });
}

const ConnectionType* App::FindConnectionType(std::string_view type_name) const {
    auto it = std::find_if(connections.begin(), connections.end(),
                           [&](const ConnectionType& c) { return c.name == type_name; });
    return it == connections.end() ? nullptr : &*it;
}

const Module* App::FindModule(std::string_view module_name) const {
    auto it = std::find_if(modules.begin(), modules.end(), [&](const Module& m) { return m.name == module_name; });
    return it == modules.end() ? nullptr : &*it;
}

}  // namespace switchboard::catalog
