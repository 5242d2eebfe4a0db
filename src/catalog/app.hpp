#pragma once
// The typed model of an app definition (apps/*.json and the operator's folder), parsed once at start-up by
// ParseApp (validate.hpp) and never changed afterwards. The format is Make's custom-app format; docs/apps.md is
// its reference and docs/app-schema.json its JSON Schema.
//
// Template strings ("{{…}}") are kept verbatim: the catalog never evaluates them. Request specifications
// (ConnectionType::api, Module::communication) stay JSON because their consumers (the connection service, the
// engine) render them with the template engine key by key.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::catalog {

enum class ParamType { kText, kPassword, kEmail, kUrl, kNumber, kSelect, kBoolean, kArray };

// "text", "password", …; nullopt for anything else.
std::optional<ParamType> ParamTypeFromString(std::string_view s);
std::string_view ToString(ParamType type);

struct ParamOption {
    std::string label;
    boost::json::value value;  // a string, number or boolean, as written
};

// validate: {pattern, min, max} for text-like parameters (min/max count characters), {min, max} for numbers
// (bounds of the value), {minItems, maxItems} for arrays (stored in min_length/max_length: they count items).
struct Validation {
    std::optional<std::regex> pattern;  // ECMAScript, compiled at load; match with std::regex_search (like JS test)
    std::string pattern_source;         // the pattern as written, for messages ("" when none)
    std::optional<std::size_t> min_length;
    std::optional<std::size_t> max_length;
    std::optional<double> min_value;
    std::optional<double> max_value;
};

struct Parameter {
    std::string name;
    ParamType type = ParamType::kText;
    std::string label;
    std::string help;
    bool required = false;
    bool advanced = false;
    bool editable = true;              // false: the value is fixed once the connection exists (Make's "editable")
    bool sensitive = false;            // "sensitive": true marks a non-password field as secret (e.g. an account token)
    std::vector<ParamOption> options;  // select only
    Validation validate;
    boost::json::value default_value;  // null when the definition has no "default"
    std::vector<Parameter> spec;       // array only: the fields of each item (empty: items are plain text)

    // Secrets are write-only: never returned by the API, never prefilled in edit forms, never logged.
    bool IsSecret() const { return type == ParamType::kPassword || sensitive; }
};

enum class ConnectionKind { kBasic, kApiKey, kOther, kOAuth, kOAuthRefresh, kOAuthClientCredentials };

// "basic", "apikey", "other", "oauth", "oauth-refresh", "oauth-clicre"; nullopt for anything else.
std::optional<ConnectionKind> ConnectionKindFromString(std::string_view s);
std::string_view ToString(ConnectionKind kind);

struct ScopeInfo {
    std::string scope;
    std::string description;
};

struct ConnectionType {
    std::string name;  // the user-visible accountType, unique across the whole catalog ("github", "http-apikey")
    ConnectionKind kind = ConnectionKind::kApiKey;
    std::string label;
    std::vector<Parameter> parameters;
    boost::json::object common;              // operator-supplied shared values (clientId, clientSecret, …)
    std::vector<std::string> default_scope;  // "scope": granted to every new connection
    std::vector<ScopeInfo> scopes;           // "scopes": every scope the type knows, in the order written
    // Non-OAuth kinds: one request object (Make's `info`: the verify request). OAuth kinds: an object of steps
    // (preauthorize, authorize, token, info, refresh, invalidate), each a request object. Kept as written.
    // null for a native type.
    boost::json::value api;
    bool pkce = true;  // OAuth authorization-code kinds only; "pkce": false turns it off
    // "native": true: verified in C++ (a connections::Verifier that knows the type, e.g. IMAP login), no `api`.
    bool native = false;
    std::string app;  // name of the app that defines this type

    bool IsOAuth() const {
        return kind == ConnectionKind::kOAuth || kind == ConnectionKind::kOAuthRefresh ||
               kind == ConnectionKind::kOAuthClientCredentials;
    }
    const Parameter* FindParameter(std::string_view name) const;
    bool KnowsScope(std::string_view scope) const;
};

enum class ModuleType { kTrigger, kInstant, kAction, kSearch, kUniversal };

std::optional<ModuleType> ModuleTypeFromString(std::string_view s);
std::string_view ToString(ModuleType type);

struct Module {
    std::string name;  // unique within its app; "app:name" is the module's catalog-wide id
    ModuleType type = ModuleType::kAction;
    std::string label;
    std::string description;
    std::string connection;             // connection type name, or empty when the module needs no connection
    std::vector<std::string> scope;     // scopes the module needs, ⊆ the connection type's scopes
    std::vector<Parameter> parameters;  // static parameters
    std::vector<Parameter> expect;      // mappable parameters
    boost::json::value interface;       // output fields, as written (null when absent)
    // The request, already merged with the app's base (see MergeWithBase in validate.hpp): absolute url,
    // base headers/qs under the module's, response.error/valid/type and log.sanitize inherited unless set.
    // null for an instant trigger without communication, and for a native module.
    boost::json::value communication;
    // "native": true: implemented in C++ (engine::ModuleRegistry, same "app:name"), no `communication`. The
    // definition still says the connection type, scope and parameters.
    bool native = false;
    std::string app;  // name of the app that defines this module
};

struct App {
    std::string name;
    std::string label;
    std::string version;
    std::string description;
    std::string theme;  // "#rrggbb"
    boost::json::object base;
    std::vector<ConnectionType> connections;  // in the order written
    std::vector<Module> modules;              // in the order written
    std::string source_file;
    bool builtin = false;

    const ConnectionType* FindConnectionType(std::string_view type_name) const;
    const Module* FindModule(std::string_view module_name) const;
};

}  // namespace switchboard::catalog
