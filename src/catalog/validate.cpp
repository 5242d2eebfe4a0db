#include "catalog/validate.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <span>
#include <sstream>

namespace switchboard::catalog {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Paths and small predicates

using Keys = std::span<const std::string_view>;

bool IsPlainKey(std::string_view key) {
    if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

std::string KeyPath(const std::string& path, std::string_view key) {
    if (IsPlainKey(key)) return path + "." + std::string(key);
    std::string out = path + "['";
    for (char c : key) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "']";
}

std::string IndexPath(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string Join(Keys keys) {
    std::string out;
    for (auto k : keys) {
        if (!out.empty()) out += ", ";
        out += k;
    }
    return out;
}

bool Contains(Keys keys, std::string_view k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); }

bool IsTemplate(std::string_view s) { return s.find("{{") != std::string_view::npos; }

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool IsAbsoluteOrTemplateUrl(std::string_view url) {
    return StartsWith(url, "https://") || StartsWith(url, "http://") || StartsWith(url, "{{");
}

bool Matches(std::string_view s, const char* pattern) {
    static std::map<std::string, std::regex> cache;  // only the fixed patterns below; filled on first use
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    auto it = cache.find(pattern);
    if (it == cache.end()) it = cache.emplace(pattern, std::regex(pattern, std::regex::ECMAScript)).first;
    return std::regex_match(s.begin(), s.end(), it->second);
}

constexpr const char* kAppNamePattern = "^[a-z][a-z0-9-]*$";
constexpr const char* kConnectionNamePattern = "^[a-z][a-z0-9-]*$";
constexpr const char* kModuleNamePattern = "^[A-Za-z][A-Za-z0-9_]*$";
constexpr const char* kParameterNamePattern = "^[A-Za-z_][A-Za-z0-9_]*$";
constexpr const char* kVersionPattern = "^[0-9]+(\\.[0-9]+){0,2}$";
constexpr const char* kThemePattern = "^#[0-9A-Fa-f]{6}$";
constexpr std::size_t kMaxNameLength = 64;
constexpr std::string_view kSpreadKey = "{{...}}";
constexpr std::string_view kDefaultTheme = "#5b6b7b";

constexpr std::string_view kAppKeys[] = {"name",  "label", "version",     "description",
                                         "theme", "base",  "connections", "modules"};
constexpr std::string_view kBaseKeys[] = {"baseUrl", "headers", "qs", "response", "log"};
constexpr std::string_view kBaseResponseKeys[] = {"error", "valid", "type"};
constexpr std::string_view kConnectionKeys[] = {"type",   "label", "parameters", "common", "scope",
                                                "scopes", "api",   "pkce",       "native"};
constexpr std::string_view kModuleKeys[] = {"type",       "label",  "description", "connection",    "scope",
                                            "parameters", "expect", "interface",   "communication", "native"};
constexpr std::string_view kParameterKeys[] = {"name",     "type",      "label",   "help",     "required", "advanced",
                                               "editable", "sensitive", "options", "validate", "default",  "spec"};
constexpr std::string_view kOptionKeys[] = {"label", "value"};
constexpr std::string_view kTextValidateKeys[] = {"pattern", "min", "max"};
constexpr std::string_view kNumberValidateKeys[] = {"min", "max"};
constexpr std::string_view kArrayValidateKeys[] = {"minItems", "maxItems"};
constexpr std::string_view kInterfaceKeys[] = {"name", "type", "label", "help", "spec", "time", "sort"};

constexpr std::string_view kOAuthSteps[] = {"preauthorize", "authorize", "token", "info", "refresh", "invalidate"};
constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
constexpr std::string_view kRequestTypes[] = {"json", "urlencoded", "multipart/form-data", "text", "string",
                                              "raw",  "binary"};
constexpr std::string_view kResponseTypes[] = {"automatic", "json",   "urlencoded", "text",
                                               "raw",       "string", "binary",     "xml"};
constexpr std::string_view kErrorTypes[] = {"RuntimeError",
                                            "DataError",
                                            "RateLimitError",
                                            "OutOfSpaceError",
                                            "ConnectionError",
                                            "InvalidConfigurationError",
                                            "InvalidAccessTokenError",
                                            "IncompleteDataError",
                                            "DuplicateDataError",
                                            "UnknownError"};
constexpr std::string_view kTriggerKeys[] = {"type", "order", "id", "date"};
constexpr std::string_view kPaginationKeys[] = {"url",  "method",    "headers",        "qs",
                                                "body", "condition", "mergeWithParent"};

// What a request may contain depends on where it is.
enum class RequestPlace {
    kModule,        // a module's communication
    kInstant,       // an instant trigger's communication: only the processing of the webhook payload
    kConnection,    // the verify request of a basic/apikey/other connection type
    kPreauthorize,  // OAuth steps
    kAuthorize,
    kToken,
    kInfo,
    kRefresh,
    kInvalidate,
};

constexpr std::string_view kModuleRequestKeys[] = {"url",
                                                   "method",
                                                   "headers",
                                                   "qs",
                                                   "body",
                                                   "type",
                                                   "condition",
                                                   "temp",
                                                   "encodeUrl",
                                                   "followRedirects",
                                                   "followAllRedirects",
                                                   "log",
                                                   "response",
                                                   "pagination"};
constexpr std::string_view kConnectionRequestKeys[] = {"url",
                                                       "method",
                                                       "headers",
                                                       "qs",
                                                       "body",
                                                       "type",
                                                       "condition",
                                                       "temp",
                                                       "encodeUrl",
                                                       "followRedirects",
                                                       "followAllRedirects",
                                                       "log",
                                                       "response"};
constexpr std::string_view kAuthorizeRequestKeys[] = {"url", "qs", "condition", "temp", "response"};
constexpr std::string_view kInstantRequestKeys[] = {"response"};

constexpr std::string_view kModuleResponseKeys[] = {"type",  "valid", "error",   "output", "iterate",
                                                    "limit", "temp",  "wrapper", "trigger"};
constexpr std::string_view kInstantResponseKeys[] = {"output", "iterate", "temp", "wrapper"};
constexpr std::string_view kConnectionResponseKeys[] = {"type", "valid", "error", "temp", "data", "metadata", "uid"};
constexpr std::string_view kPreauthorizeResponseKeys[] = {"type", "valid", "error", "temp", "data"};
constexpr std::string_view kAuthorizeResponseKeys[] = {"temp"};
constexpr std::string_view kTokenResponseKeys[] = {"type", "valid",   "error",    "temp",
                                                   "data", "expires", "metadata", "uid"};
constexpr std::string_view kInfoResponseKeys[] = {"type", "valid", "error", "temp", "data", "metadata", "uid"};
constexpr std::string_view kRefreshResponseKeys[] = {"type", "valid", "error", "temp", "data", "expires"};
constexpr std::string_view kInvalidateResponseKeys[] = {"type", "valid", "error", "temp"};

Keys RequestKeys(RequestPlace place) {
    switch (place) {
        case RequestPlace::kModule:
            return kModuleRequestKeys;
        case RequestPlace::kInstant:
            return kInstantRequestKeys;
        case RequestPlace::kAuthorize:
            return kAuthorizeRequestKeys;
        default:
            return kConnectionRequestKeys;
    }
}

Keys ResponseKeys(RequestPlace place) {
    switch (place) {
        case RequestPlace::kModule:
            return kModuleResponseKeys;
        case RequestPlace::kInstant:
            return kInstantResponseKeys;
        case RequestPlace::kConnection:
            return kConnectionResponseKeys;
        case RequestPlace::kPreauthorize:
            return kPreauthorizeResponseKeys;
        case RequestPlace::kAuthorize:
            return kAuthorizeResponseKeys;
        case RequestPlace::kToken:
            return kTokenResponseKeys;
        case RequestPlace::kInfo:
            return kInfoResponseKeys;
        case RequestPlace::kRefresh:
            return kRefreshResponseKeys;
        case RequestPlace::kInvalidate:
            return kInvalidateResponseKeys;
    }
    return kConnectionResponseKeys;
}

RequestPlace StepPlace(std::string_view step) {
    if (step == "preauthorize") return RequestPlace::kPreauthorize;
    if (step == "authorize") return RequestPlace::kAuthorize;
    if (step == "token") return RequestPlace::kToken;
    if (step == "info") return RequestPlace::kInfo;
    if (step == "refresh") return RequestPlace::kRefresh;
    return RequestPlace::kInvalidate;
}

std::string_view KindOf(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "?";
}

std::optional<double> AsNumber(const json::value& v) {
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return std::nullopt;
}

std::optional<std::size_t> AsCount(const json::value& v) {
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::size_t>(v.get_int64());
    if (v.is_uint64()) return static_cast<std::size_t>(v.get_uint64());
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// The validator

struct ConnectionFacts {
    std::set<std::string, std::less<>> scopes;  // keys of "scopes"
};

class Validator {
  public:
    std::vector<Problem> problems;

    void CheckApp(const json::value& doc) {
        const auto* app = doc.if_object();
        if (app == nullptr) {
            Add("$", std::string("an app definition must be a JSON object, not ") + std::string(KindOf(doc)));
            return;
        }
        const std::string root = "$";
        UnknownKeys(*app, root, kAppKeys);
        if (const auto* name = RequiredString(*app, root, "name")) {
            NamePattern(*name, KeyPath(root, "name"), kAppNamePattern, "an app name");
        }
        if (const auto* label = RequiredString(*app, root, "label")) NotEmpty(*label, KeyPath(root, "label"));
        Version(*app, root);
        OptionalString(*app, root, "description");
        if (const auto* theme = OptionalString(*app, root, "theme")) {
            if (!Matches(*theme, kThemePattern)) Add(KeyPath(root, "theme"), "must be a colour written #rrggbb");
        }
        if (const auto* base = app->if_contains("base")) CheckBase(*base, KeyPath(root, "base"));

        std::map<std::string, ConnectionFacts, std::less<>> connections;
        std::size_t connection_count = 0;
        if (const auto* conns = app->if_contains("connections")) {
            const std::string path = KeyPath(root, "connections");
            if (const auto* obj = ObjectAt(*conns, path)) {
                connection_count = obj->size();
                for (const auto& [key, value] : *obj) {
                    const std::string cpath = KeyPath(path, key);
                    NamePattern(key, cpath, kConnectionNamePattern, "a connection type name");
                    connections[std::string(key)] = CheckConnectionType(value, cpath);
                }
            }
        }
        std::size_t module_count = 0;
        if (const auto* mods = app->if_contains("modules")) {
            const std::string path = KeyPath(root, "modules");
            if (const auto* obj = ObjectAt(*mods, path)) {
                module_count = obj->size();
                bool has_base_url = false;
                if (const auto* base = app->if_contains("base"); base && base->is_object()) {
                    has_base_url = base->get_object().contains("baseUrl");
                }
                for (const auto& [key, value] : *obj) {
                    const std::string mpath = KeyPath(path, key);
                    NamePattern(key, mpath, kModuleNamePattern, "a module name");
                    CheckModule(value, mpath, connections, has_base_url);
                }
            }
        }
        if (connection_count == 0 && module_count == 0) {
            Add(root, "an app needs at least one connection type or module");
        }
    }

  private:
    void Add(std::string path, std::string message) { problems.push_back({std::move(path), std::move(message)}); }

    // -- generic shape checks -----------------------------------------------------------------------------------

    void UnknownKeys(const json::object& obj, const std::string& path, Keys allowed) {
        for (const auto& [key, value] : obj) {
            if (!Contains(allowed, key)) {
                Add(KeyPath(path, key), "unknown key \"" + std::string(key) + "\" (allowed: " + Join(allowed) + ")");
            }
        }
    }

    const json::object* ObjectAt(const json::value& v, const std::string& path) {
        if (!v.is_object()) {
            Add(path, "must be an object, not " + std::string(KindOf(v)));
            return nullptr;
        }
        return &v.get_object();
    }

    const json::array* ArrayAt(const json::value& v, const std::string& path) {
        if (!v.is_array()) {
            Add(path, "must be an array, not " + std::string(KindOf(v)));
            return nullptr;
        }
        return &v.get_array();
    }

    const json::string* StringAt(const json::value& v, const std::string& path) {
        if (!v.is_string()) {
            Add(path, "must be a string, not " + std::string(KindOf(v)));
            return nullptr;
        }
        return &v.get_string();
    }

    void BoolAt(const json::value& v, const std::string& path) {
        if (!v.is_bool()) Add(path, "must be true or false, not " + std::string(KindOf(v)));
    }

    const json::string* RequiredString(const json::object& obj, const std::string& path, std::string_view key) {
        const auto* v = obj.if_contains(key);
        if (v == nullptr) {
            Add(KeyPath(path, key), "is required");
            return nullptr;
        }
        return StringAt(*v, KeyPath(path, key));
    }

    const json::string* OptionalString(const json::object& obj, const std::string& path, std::string_view key) {
        const auto* v = obj.if_contains(key);
        return v == nullptr ? nullptr : StringAt(*v, KeyPath(path, key));
    }

    void OptionalBool(const json::object& obj, const std::string& path, std::string_view key) {
        if (const auto* v = obj.if_contains(key)) BoolAt(*v, KeyPath(path, key));
    }

    void NotEmpty(std::string_view s, const std::string& path) {
        if (s.empty()) Add(path, "must not be empty");
    }

    void NamePattern(std::string_view name, const std::string& path, const char* pattern, std::string_view what) {
        if (!Matches(name, pattern)) {
            Add(path, std::string(what) + " must match " + pattern + ", not \"" + std::string(name) + "\"");
        } else if (name.size() > kMaxNameLength) {
            Add(path, std::string(what) + " must be at most " + std::to_string(kMaxNameLength) + " characters");
        }
    }

    // A string from `allowed`, or a template.
    void EnumString(const json::value& v, const std::string& path, Keys allowed, bool template_ok) {
        const auto* s = StringAt(v, path);
        if (s == nullptr) return;
        if (template_ok && IsTemplate(*s)) return;
        if (!Contains(allowed, *s)) {
            Add(path, "must be one of " + Join(allowed) + ", not \"" + std::string(*s) + "\"");
        }
    }

    // An array of distinct strings; returns them (empty on errors).
    std::vector<std::string> StringList(const json::value& v, const std::string& path) {
        std::vector<std::string> out;
        const auto* arr = ArrayAt(v, path);
        if (arr == nullptr) return out;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto* s = StringAt((*arr)[i], IndexPath(path, i));
            if (s == nullptr) continue;
            if (s->empty()) {
                Add(IndexPath(path, i), "must not be empty");
            } else if (std::find(out.begin(), out.end(), *s) != out.end()) {
                Add(IndexPath(path, i), "\"" + std::string(*s) + "\" is listed twice");
            } else {
                out.emplace_back(*s);
            }
        }
        return out;
    }

    void Version(const json::object& app, const std::string& root) {
        const std::string path = KeyPath(root, "version");
        const auto* v = app.if_contains("version");
        if (v == nullptr) {
            Add(path, "is required");
        } else if (v->is_string()) {
            if (!Matches(v->get_string(), kVersionPattern)) {
                Add(path, "must be a version such as \"1\", \"1.2\" or \"1.2.3\"");
            }
        } else if (auto n = AsCount(*v); !n || *n < 1) {
            Add(path, "must be a positive integer or a version string such as \"1.2.3\"");
        }
    }

    // -- base ---------------------------------------------------------------------------------------------------

    void CheckBase(const json::value& v, const std::string& path) {
        const auto* base = ObjectAt(v, path);
        if (base == nullptr) return;
        UnknownKeys(*base, path, kBaseKeys);
        if (const auto* url = OptionalString(*base, path, "baseUrl")) {
            if (!IsAbsoluteOrTemplateUrl(*url)) {
                Add(KeyPath(path, "baseUrl"), "must start with https://, http:// or a template {{…}}");
            }
        }
        if (const auto* h = base->if_contains("headers")) KeyValues(*h, KeyPath(path, "headers"));
        if (const auto* q = base->if_contains("qs")) KeyValues(*q, KeyPath(path, "qs"));
        if (const auto* r = base->if_contains("response")) {
            const std::string rpath = KeyPath(path, "response");
            if (const auto* resp = ObjectAt(*r, rpath)) {
                UnknownKeys(*resp, rpath, kBaseResponseKeys);
                ResponseDirectives(*resp, rpath);
            }
        }
        if (const auto* l = base->if_contains("log")) Log(*l, KeyPath(path, "log"));
    }

    // -- requests -----------------------------------------------------------------------------------------------

    // headers / qs: an object of scalars (or arrays: repeated keys); "{{...}}" spreads a template's collection.
    void KeyValues(const json::value& v, const std::string& path) {
        const auto* obj = ObjectAt(v, path);
        if (obj == nullptr) return;
        for (const auto& [key, value] : *obj) {
            const std::string kpath = KeyPath(path, key);
            if (key.empty()) {
                Add(kpath, "a name must not be empty");
            } else if (key == kSpreadKey) {
                if (!value.is_string() || !IsTemplate(value.get_string())) {
                    Add(kpath, "the spread key {{...}} needs a template that yields a collection");
                }
            } else if (value.is_object()) {
                Add(kpath, "must be a string, number, boolean, null or array, not an object");
            }
        }
    }

    void Log(const json::value& v, const std::string& path) {
        const auto* log = ObjectAt(v, path);
        if (log == nullptr) return;
        static constexpr std::string_view kLogKeys[] = {"sanitize"};
        UnknownKeys(*log, path, kLogKeys);
        if (const auto* s = log->if_contains("sanitize")) StringList(*s, KeyPath(path, "sanitize"));
    }

    void Condition(const json::value& v, const std::string& path) {
        if (v.is_bool() || v.is_string()) return;
        if (const auto* obj = v.if_object()) {
            static constexpr std::string_view kConditionKeys[] = {"condition", "default"};
            UnknownKeys(*obj, path, kConditionKeys);
            const auto* c = obj->if_contains("condition");
            if (c == nullptr) {
                Add(KeyPath(path, "condition"), "is required");
            } else if (!c->is_bool() && !c->is_string()) {
                Add(KeyPath(path, "condition"), "must be true, false or a template");
            }
            return;
        }
        Add(path, "must be true, false, a template or {condition, default}");
    }

    void Url(const json::value& v, const std::string& path, RequestPlace place, bool has_base_url) {
        const auto* url = StringAt(v, path);
        if (url == nullptr) return;
        if (url->empty()) {
            Add(path, "must not be empty");
            return;
        }
        if (IsAbsoluteOrTemplateUrl(*url)) return;
        if ((*url)[0] == '/') {
            if (place != RequestPlace::kModule) {
                Add(path, "must be absolute (https://… or a template): connection requests do not use base.baseUrl");
            } else if (!has_base_url) {
                Add(path, "is relative but the app has no base.baseUrl");
            }
            return;
        }
        Add(path, "must start with \"/\" (relative to base.baseUrl), https://, http:// or a template {{…}}");
    }

    void Request(const json::value& v, const std::string& path, RequestPlace place, bool has_base_url,
                 std::optional<ModuleType> module_type) {
        if (v.is_array()) {
            Add(path, "must be a single request object (request arrays are not supported)");
            return;
        }
        const auto* req = ObjectAt(v, path);
        if (req == nullptr) return;
        UnknownKeys(*req, path, RequestKeys(place));
        const bool needs_url = place != RequestPlace::kInstant;
        if (const auto* url = req->if_contains("url")) {
            if (needs_url) Url(*url, KeyPath(path, "url"), place, has_base_url);
        } else if (needs_url) {
            Add(KeyPath(path, "url"), "is required");
        }
        if (const auto* m = req->if_contains("method")) {
            if (Contains(RequestKeys(place), "method")) EnumString(*m, KeyPath(path, "method"), kMethods, true);
        }
        for (std::string_view key : {"headers", "qs"}) {
            if (const auto* kv = req->if_contains(key); kv && Contains(RequestKeys(place), key)) {
                KeyValues(*kv, KeyPath(path, key));
            }
        }
        if (const auto* t = req->if_contains("type"); t && Contains(RequestKeys(place), "type")) {
            EnumString(*t, KeyPath(path, "type"), kRequestTypes, true);
        }
        if (const auto* c = req->if_contains("condition"); c && Contains(RequestKeys(place), "condition")) {
            Condition(*c, KeyPath(path, "condition"));
        }
        if (const auto* t = req->if_contains("temp"); t && Contains(RequestKeys(place), "temp")) {
            ObjectAt(*t, KeyPath(path, "temp"));
        }
        for (std::string_view key : {"encodeUrl", "followRedirects", "followAllRedirects"}) {
            if (const auto* b = req->if_contains(key); b && Contains(RequestKeys(place), key)) {
                BoolAt(*b, KeyPath(path, key));
            }
        }
        if (const auto* l = req->if_contains("log"); l && Contains(RequestKeys(place), "log")) {
            Log(*l, KeyPath(path, "log"));
        }
        if (const auto* p = req->if_contains("pagination"); p && Contains(RequestKeys(place), "pagination")) {
            Pagination(*p, KeyPath(path, "pagination"), has_base_url);
        }
        const std::string rpath = KeyPath(path, "response");
        const auto* r = req->if_contains("response");
        if (r != nullptr) {
            if (const auto* resp = ObjectAt(*r, rpath)) {
                UnknownKeys(*resp, rpath, ResponseKeys(place));
                ResponseDirectives(*resp, rpath);
                if (const auto* trig = resp->if_contains("trigger")) {
                    if (module_type == ModuleType::kTrigger) {
                        Trigger(*trig, KeyPath(rpath, "trigger"));
                    } else if (place == RequestPlace::kModule) {
                        Add(KeyPath(rpath, "trigger"), "only a trigger module has response.trigger");
                    }
                }
            }
        }
        if (module_type == ModuleType::kTrigger && !(r && r->is_object() && r->get_object().contains("trigger"))) {
            Add(KeyPath(rpath, "trigger"), "a trigger module needs response.trigger {type, order, id}");
        }
        if (place == RequestPlace::kInstant && req->empty()) Add(path, "must not be empty (omit it instead)");
    }

    void Pagination(const json::value& v, const std::string& path, bool has_base_url) {
        const auto* pag = ObjectAt(v, path);
        if (pag == nullptr) return;
        UnknownKeys(*pag, path, kPaginationKeys);
        if (const auto* url = pag->if_contains("url"))
            Url(*url, KeyPath(path, "url"), RequestPlace::kModule, has_base_url);
        if (const auto* m = pag->if_contains("method")) EnumString(*m, KeyPath(path, "method"), kMethods, true);
        for (std::string_view key : {"headers", "qs"}) {
            if (const auto* kv = pag->if_contains(key)) KeyValues(*kv, KeyPath(path, key));
        }
        if (const auto* c = pag->if_contains("condition")) Condition(*c, KeyPath(path, "condition"));
        OptionalBool(*pag, path, "mergeWithParent");
    }

    // The response keys whose shape is the same wherever they are allowed (UnknownKeys filters by place).
    void ResponseDirectives(const json::object& resp, const std::string& path) {
        if (const auto* t = resp.if_contains("type")) ResponseType(*t, KeyPath(path, "type"));
        if (const auto* v = resp.if_contains("valid")) Valid(*v, KeyPath(path, "valid"));
        if (const auto* e = resp.if_contains("error")) ErrorDirective(*e, KeyPath(path, "error"));
        if (const auto* it = resp.if_contains("iterate")) Iterate(*it, KeyPath(path, "iterate"));
        if (const auto* l = resp.if_contains("limit")) {
            if (!l->is_string() && !AsNumber(*l)) Add(KeyPath(path, "limit"), "must be a number or a template");
        }
        for (std::string_view key : {"temp", "data"}) {
            if (const auto* o = resp.if_contains(key)) ObjectAt(*o, KeyPath(path, key));
        }
        if (const auto* m = resp.if_contains("metadata")) Metadata(*m, KeyPath(path, "metadata"));
        if (const auto* u = resp.if_contains("uid")) {
            if (!u->is_string() && !AsNumber(*u)) Add(KeyPath(path, "uid"), "must be a string (template) or number");
        }
        if (const auto* e = resp.if_contains("expires")) {
            if (const auto* s = StringAt(*e, KeyPath(path, "expires"))) NotEmpty(*s, KeyPath(path, "expires"));
        }
    }

    void ResponseType(const json::value& v, const std::string& path) {
        if (const auto* obj = v.if_object()) {
            for (const auto& [key, value] : *obj) {
                const std::string kpath = KeyPath(path, key);
                if (!Matches(key, "^(\\*|[1-5][0-9][0-9]-[1-5][0-9][0-9]|[1-5][0-9][0-9])$")) {
                    Add(kpath, "must be a status code (\"404\"), a range (\"400-499\") or \"*\"");
                }
                EnumString(value, kpath, kResponseTypes, false);
            }
            return;
        }
        EnumString(v, path, kResponseTypes, true);
    }

    void Valid(const json::value& v, const std::string& path) {
        if (v.is_bool() || v.is_string()) return;
        if (const auto* obj = v.if_object()) {
            static constexpr std::string_view kValidKeys[] = {"condition", "message", "type"};
            UnknownKeys(*obj, path, kValidKeys);
            if (const auto* c = obj->if_contains("condition")) {
                if (!c->is_bool() && !c->is_string())
                    Add(KeyPath(path, "condition"), "must be true, false or a template");
            } else {
                Add(KeyPath(path, "condition"), "is required");
            }
            OptionalString(*obj, path, "message");
            if (const auto* t = obj->if_contains("type")) EnumString(*t, KeyPath(path, "type"), kErrorTypes, true);
            return;
        }
        Add(path, "must be true, false, a template or {condition, message, type}");
    }

    void ErrorSpec(const json::object& obj, const std::string& path, bool allow_status_keys) {
        for (const auto& [key, value] : obj) {
            const std::string kpath = KeyPath(path, key);
            if (key == "message") {
                StringAt(value, kpath);
            } else if (key == "type") {
                EnumString(value, kpath, kErrorTypes, true);
            } else if (allow_status_keys && Matches(key, "^[1-5][0-9][0-9]$")) {
                if (const auto* inner = ObjectAt(value, kpath)) ErrorSpec(*inner, kpath, false);
            } else {
                Add(kpath, allow_status_keys ? "unknown key \"" + std::string(key) +
                                                   "\" (allowed: message, type, or a status code such as \"404\")"
                                             : "unknown key \"" + std::string(key) + "\" (allowed: message, type)");
            }
        }
        if (!obj.contains("message")) Add(KeyPath(path, "message"), "is required");
    }

    void ErrorDirective(const json::value& v, const std::string& path) {
        if (v.is_string()) return;
        if (const auto* obj = v.if_object()) {
            ErrorSpec(*obj, path, true);
            return;
        }
        Add(path, "must be a message template or {message, type}");
    }

    void Iterate(const json::value& v, const std::string& path) {
        if (v.is_string()) return;
        if (const auto* obj = v.if_object()) {
            static constexpr std::string_view kIterateKeys[] = {"container", "condition"};
            UnknownKeys(*obj, path, kIterateKeys);
            RequiredString(*obj, path, "container");
            if (const auto* c = obj->if_contains("condition")) {
                if (!c->is_bool() && !c->is_string())
                    Add(KeyPath(path, "condition"), "must be true, false or a template");
            }
            return;
        }
        Add(path, "must be a container template or {container, condition}");
    }

    void Metadata(const json::value& v, const std::string& path) {
        const auto* obj = ObjectAt(v, path);
        if (obj == nullptr) return;
        static constexpr std::string_view kMetadataKeys[] = {"type", "value"};
        static constexpr std::string_view kMetadataTypes[] = {"email", "text"};
        UnknownKeys(*obj, path, kMetadataKeys);
        if (const auto* t = obj->if_contains("type")) {
            EnumString(*t, KeyPath(path, "type"), kMetadataTypes, false);
        } else {
            Add(KeyPath(path, "type"), "is required");
        }
        RequiredString(*obj, path, "value");
    }

    void Trigger(const json::value& v, const std::string& path) {
        const auto* obj = ObjectAt(v, path);
        if (obj == nullptr) return;
        static constexpr std::string_view kTriggerTypes[] = {"id", "date"};
        static constexpr std::string_view kOrders[] = {"asc", "desc", "unordered"};
        UnknownKeys(*obj, path, kTriggerKeys);
        if (const auto* t = obj->if_contains("type")) {
            EnumString(*t, KeyPath(path, "type"), kTriggerTypes, false);
        } else {
            Add(KeyPath(path, "type"), "is required");
        }
        if (const auto* o = obj->if_contains("order")) {
            EnumString(*o, KeyPath(path, "order"), kOrders, false);
        } else {
            Add(KeyPath(path, "order"), "is required");
        }
        RequiredString(*obj, path, "id");
        const auto* type = obj->if_contains("type");
        if (type && type->is_string() && type->get_string() == "date") {
            RequiredString(*obj, path, "date");
        } else {
            OptionalString(*obj, path, "date");
        }
    }

    // -- parameters ---------------------------------------------------------------------------------------------

    // names: every name seen so far in the same namespace (a module's parameters and expect share one).
    void CheckParameters(const json::value& v, const std::string& path, std::set<std::string>& names) {
        const auto* arr = ArrayAt(v, path);
        if (arr == nullptr) return;
        for (std::size_t i = 0; i < arr->size(); ++i) CheckParameter((*arr)[i], IndexPath(path, i), names);
    }

    void CheckParameter(const json::value& v, const std::string& path, std::set<std::string>& names) {
        const auto* p = ObjectAt(v, path);
        if (p == nullptr) return;
        UnknownKeys(*p, path, kParameterKeys);
        if (const auto* name = RequiredString(*p, path, "name")) {
            const std::string npath = KeyPath(path, "name");
            if (!Matches(*name, kParameterNamePattern)) {
                Add(npath, std::string("a parameter name must match ") + kParameterNamePattern + ", not \"" +
                               std::string(*name) + "\"");
            } else if (!names.insert(std::string(*name)).second) {
                Add(npath, "duplicate parameter name \"" + std::string(*name) + "\"");
            }
        }
        std::optional<ParamType> type;
        if (const auto* t = RequiredString(*p, path, "type")) {
            type = ParamTypeFromString(*t);
            if (!type) {
                Add(KeyPath(path, "type"),
                    "must be one of text, password, email, url, number, select, boolean, array, not \"" +
                        std::string(*t) + "\"");
            }
        }
        if (const auto* label = RequiredString(*p, path, "label")) NotEmpty(*label, KeyPath(path, "label"));
        OptionalString(*p, path, "help");
        for (std::string_view key : {"required", "advanced", "editable", "sensitive"}) OptionalBool(*p, path, key);

        std::vector<const json::value*> option_values;
        const auto* options = p->if_contains("options");
        if (options != nullptr) {
            const std::string opath = KeyPath(path, "options");
            if (type && *type != ParamType::kSelect) {
                Add(opath, "options apply only to select parameters");
            } else if (const auto* arr = ArrayAt(*options, opath)) {
                if (arr->empty()) Add(opath, "a select parameter needs at least one option");
                for (std::size_t i = 0; i < arr->size(); ++i) {
                    if (const auto* value = CheckOption((*arr)[i], IndexPath(opath, i))) {
                        const bool dup = std::any_of(option_values.begin(), option_values.end(),
                                                     [&](const json::value* seen) { return *seen == *value; });
                        if (dup) {
                            Add(KeyPath(IndexPath(opath, i), "value"),
                                "duplicate option value " + json::serialize(*value));
                        }
                        option_values.push_back(value);
                    }
                }
            }
        } else if (type == ParamType::kSelect) {
            Add(KeyPath(path, "options"), "a select parameter needs options");
        }

        if (const auto* val = p->if_contains("validate"); val && type)
            CheckValidate(*val, KeyPath(path, "validate"), *type);
        if (const auto* def = p->if_contains("default"); def && type) {
            CheckDefault(*def, KeyPath(path, "default"), *type, option_values);
        }
        if (const auto* spec = p->if_contains("spec")) {
            const std::string spath = KeyPath(path, "spec");
            if (type && *type != ParamType::kArray) {
                Add(spath, "spec applies only to array parameters");
            } else if (const auto* arr = ArrayAt(*spec, spath)) {
                if (arr->empty()) Add(spath, "must list at least one field (omit spec for an array of text)");
                std::set<std::string> item_names;
                CheckParameters(*spec, spath, item_names);
            }
        }
    }

    // Returns the option's value when it has a valid one.
    const json::value* CheckOption(const json::value& v, const std::string& path) {
        const auto* opt = ObjectAt(v, path);
        if (opt == nullptr) return nullptr;
        UnknownKeys(*opt, path, kOptionKeys);
        if (const auto* label = RequiredString(*opt, path, "label")) NotEmpty(*label, KeyPath(path, "label"));
        const auto* value = opt->if_contains("value");
        if (value == nullptr) {
            Add(KeyPath(path, "value"), "is required");
            return nullptr;
        }
        if (!value->is_string() && !value->is_bool() && !AsNumber(*value)) {
            Add(KeyPath(path, "value"), "must be a string, number or boolean, not " + std::string(KindOf(*value)));
            return nullptr;
        }
        return value;
    }

    void CheckValidate(const json::value& v, const std::string& path, ParamType type) {
        const auto* val = ObjectAt(v, path);
        if (val == nullptr) return;
        switch (type) {
            case ParamType::kText:
            case ParamType::kPassword:
            case ParamType::kEmail:
            case ParamType::kUrl: {
                UnknownKeys(*val, path, kTextValidateKeys);
                if (const auto* pattern = OptionalString(*val, path, "pattern")) {
                    try {
                        std::regex compiled(pattern->begin(), pattern->end(), std::regex::ECMAScript);
                    } catch (const std::regex_error& e) {
                        Add(KeyPath(path, "pattern"), std::string("is not a valid regular expression: ") + e.what());
                    }
                }
                Range(*val, path, "min", "max", true);
                return;
            }
            case ParamType::kNumber:
                UnknownKeys(*val, path, kNumberValidateKeys);
                Range(*val, path, "min", "max", false);
                return;
            case ParamType::kArray:
                UnknownKeys(*val, path, kArrayValidateKeys);
                Range(*val, path, "minItems", "maxItems", true);
                return;
            case ParamType::kSelect:
            case ParamType::kBoolean:
                Add(path, "validate does not apply to " + std::string(ToString(type)) + " parameters");
                return;
        }
    }

    void Range(const json::object& val, const std::string& path, std::string_view min_key, std::string_view max_key,
               bool counts) {
        std::optional<double> lo, hi;
        for (std::string_view key : {min_key, max_key}) {
            const auto* v = val.if_contains(key);
            if (v == nullptr) continue;
            std::optional<double> n;
            if (counts) {
                if (auto c = AsCount(*v)) n = static_cast<double>(*c);
            } else {
                n = AsNumber(*v);
            }
            if (!n) {
                Add(KeyPath(path, key), counts ? "must be a non-negative integer" : "must be a number");
            } else {
                (key == min_key ? lo : hi) = n;
            }
        }
        if (lo && hi && *lo > *hi) Add(KeyPath(path, max_key), "must not be less than " + std::string(min_key));
    }

    void CheckDefault(const json::value& v, const std::string& path, ParamType type,
                      const std::vector<const json::value*>& option_values) {
        switch (type) {
            case ParamType::kPassword:
                Add(path, "a password parameter cannot have a default");
                return;
            case ParamType::kText:
            case ParamType::kEmail:
            case ParamType::kUrl:
                StringAt(v, path);
                return;
            case ParamType::kNumber:
                if (!AsNumber(v)) Add(path, "must be a number, not " + std::string(KindOf(v)));
                return;
            case ParamType::kBoolean:
                BoolAt(v, path);
                return;
            case ParamType::kArray:
                ArrayAt(v, path);
                return;
            case ParamType::kSelect:
                if (!option_values.empty() && std::none_of(option_values.begin(), option_values.end(),
                                                           [&](const json::value* o) { return *o == v; })) {
                    Add(path, "must be the value of one of the options, not " + json::serialize(v));
                }
                return;
        }
    }

    // "native": true/false on a connection type or module; true when it is true (a non-boolean is reported).
    bool NativeFlag(const json::object& obj, const std::string& path) {
        const auto* n = obj.if_contains("native");
        if (n == nullptr) return false;
        BoolAt(*n, KeyPath(path, "native"));
        return n->is_bool() && n->as_bool();
    }

    // -- connection types ---------------------------------------------------------------------------------------

    ConnectionFacts CheckConnectionType(const json::value& v, const std::string& path) {
        ConnectionFacts facts;
        const auto* ct = ObjectAt(v, path);
        if (ct == nullptr) return facts;
        UnknownKeys(*ct, path, kConnectionKeys);
        std::optional<ConnectionKind> kind;
        if (const auto* t = RequiredString(*ct, path, "type")) {
            kind = ConnectionKindFromString(*t);
            if (!kind) {
                Add(KeyPath(path, "type"),
                    "must be one of basic, apikey, other, oauth, oauth-refresh, oauth-clicre, not \"" +
                        std::string(*t) + "\"");
            }
        }
        if (const auto* label = RequiredString(*ct, path, "label")) NotEmpty(*label, KeyPath(path, "label"));
        if (const auto* params = ct->if_contains("parameters")) {
            std::set<std::string> names;
            CheckParameters(*params, KeyPath(path, "parameters"), names);
        }
        if (const auto* common = ct->if_contains("common")) ObjectAt(*common, KeyPath(path, "common"));
        if (const auto* scopes = ct->if_contains("scopes")) {
            const std::string spath = KeyPath(path, "scopes");
            if (const auto* obj = ObjectAt(*scopes, spath)) {
                for (const auto& [scope, description] : *obj) {
                    if (scope.empty()) Add(KeyPath(spath, scope), "a scope must not be empty");
                    StringAt(description, KeyPath(spath, scope));
                    facts.scopes.emplace(scope);
                }
            }
        }
        if (const auto* scope = ct->if_contains("scope")) {
            const std::string spath = KeyPath(path, "scope");
            StringList(*scope, spath);
            if (!facts.scopes.empty() && scope->is_array()) {
                const auto& arr = scope->get_array();
                for (std::size_t i = 0; i < arr.size(); ++i) {
                    if (arr[i].is_string() && !facts.scopes.contains(std::string_view(arr[i].get_string()))) {
                        Add(IndexPath(spath, i),
                            "scope \"" + std::string(arr[i].get_string()) + "\" is not listed in scopes");
                    }
                }
            }
        }
        if (const auto* pkce = ct->if_contains("pkce")) {
            const std::string ppath = KeyPath(path, "pkce");
            BoolAt(*pkce, ppath);
            if (kind && *kind != ConnectionKind::kOAuth && *kind != ConnectionKind::kOAuthRefresh) {
                Add(ppath, "pkce applies only to oauth and oauth-refresh connection types");
            }
        }
        const std::string apath = KeyPath(path, "api");
        const auto* api = ct->if_contains("api");
        const bool native = NativeFlag(*ct, path);
        if (native) {
            // Verified in C++: there is no request to describe, and OAuth needs its steps.
            if (api != nullptr) Add(apath, "a native connection type has no api (it is verified in C++)");
            if (kind && *kind != ConnectionKind::kBasic && *kind != ConnectionKind::kApiKey &&
                *kind != ConnectionKind::kOther) {
                Add(KeyPath(path, "native"), "only basic, apikey and other connection types can be native");
            }
        } else if (api == nullptr) {
            Add(apath, "is required");
        } else if (kind) {
            const bool oauth = *kind == ConnectionKind::kOAuth || *kind == ConnectionKind::kOAuthRefresh ||
                               *kind == ConnectionKind::kOAuthClientCredentials;
            if (oauth) {
                CheckOAuthApi(*api, apath, *kind);
            } else {
                Request(*api, apath, RequestPlace::kConnection, false, std::nullopt);
            }
        }
        return facts;
    }

    void CheckOAuthApi(const json::value& v, const std::string& path, ConnectionKind kind) {
        const auto* api = ObjectAt(v, path);
        if (api == nullptr) return;
        for (const auto& [key, value] : *api) {
            const std::string spath = KeyPath(path, key);
            if (!Contains(kOAuthSteps, key)) {
                Add(spath, "unknown OAuth step \"" + std::string(key) + "\" (allowed: " + Join(kOAuthSteps) + ")");
                continue;
            }
            if (key == "authorize" && kind == ConnectionKind::kOAuthClientCredentials) {
                Add(spath, "an oauth-clicre (client credentials) connection has no authorize step");
                continue;
            }
            Request(value, spath, StepPlace(key), false, std::nullopt);
        }
        if (!api->contains("token"))
            Add(KeyPath(path, "token"), "is required: every OAuth connection exchanges a token");
        if (kind != ConnectionKind::kOAuthClientCredentials && !api->contains("authorize")) {
            Add(KeyPath(path, "authorize"), "is required for " + std::string(ToString(kind)) + " connection types");
        }
        if (kind == ConnectionKind::kOAuthRefresh && !api->contains("refresh")) {
            Add(KeyPath(path, "refresh"), "is required for oauth-refresh connection types");
        }
    }

    // -- modules ------------------------------------------------------------------------------------------------

    void CheckModule(const json::value& v, const std::string& path,
                     const std::map<std::string, ConnectionFacts, std::less<>>& connections, bool has_base_url) {
        const auto* mod = ObjectAt(v, path);
        if (mod == nullptr) return;
        UnknownKeys(*mod, path, kModuleKeys);
        std::optional<ModuleType> type;
        if (const auto* t = RequiredString(*mod, path, "type")) {
            type = ModuleTypeFromString(*t);
            if (!type) {
                Add(KeyPath(path, "type"),
                    "must be one of trigger, instant, action, search, universal, not \"" + std::string(*t) + "\"");
            }
        }
        if (const auto* label = RequiredString(*mod, path, "label")) NotEmpty(*label, KeyPath(path, "label"));
        OptionalString(*mod, path, "description");

        const ConnectionFacts* conn = nullptr;
        bool connection_ok = false;
        if (const auto* c = OptionalString(*mod, path, "connection")) {
            auto it = connections.find(std::string_view(*c));
            if (it == connections.end()) {
                std::string defined;
                for (const auto& [name, facts] : connections) defined += (defined.empty() ? "" : ", ") + name;
                Add(KeyPath(path, "connection"), "connection type \"" + std::string(*c) +
                                                     "\" is not defined in this app" +
                                                     (defined.empty() ? "" : " (defined: " + defined + ")"));
            } else {
                conn = &it->second;
                connection_ok = true;
            }
        }
        if (const auto* scope = mod->if_contains("scope")) {
            const std::string spath = KeyPath(path, "scope");
            auto list = StringList(*scope, spath);
            const bool has_connection_key = mod->contains("connection");
            if (!list.empty() && !has_connection_key) {
                Add(spath, "a module without a connection cannot require scopes");
            } else if (connection_ok && !conn->scopes.empty()) {
                const auto& arr = scope->get_array();
                for (std::size_t i = 0; i < arr.size(); ++i) {
                    if (arr[i].is_string() && !conn->scopes.contains(std::string_view(arr[i].get_string()))) {
                        Add(IndexPath(spath, i), "scope \"" + std::string(arr[i].get_string()) +
                                                     "\" is not listed in the scopes of connection type \"" +
                                                     std::string(mod->at("connection").get_string()) + "\"");
                    }
                }
            }
        }
        std::set<std::string> names;  // parameters and expect both fill `parameters.*`
        if (const auto* p = mod->if_contains("parameters")) CheckParameters(*p, KeyPath(path, "parameters"), names);
        if (const auto* e = mod->if_contains("expect")) CheckParameters(*e, KeyPath(path, "expect"), names);
        if (const auto* i = mod->if_contains("interface")) CheckInterface(*i, KeyPath(path, "interface"));

        const std::string cpath = KeyPath(path, "communication");
        if (NativeFlag(*mod, path)) {
            if (mod->contains("communication")) {
                Add(cpath, "a native module has no communication (it is implemented in C++)");
            }
        } else if (const auto* comm = mod->if_contains("communication")) {
            if (type) {
                const auto place = *type == ModuleType::kInstant ? RequestPlace::kInstant : RequestPlace::kModule;
                Request(*comm, cpath, place, has_base_url, type);
            }
        } else if (type && *type != ModuleType::kInstant) {
            Add(cpath, "is required");
        }
    }

    void CheckInterface(const json::value& v, const std::string& path) {
        const auto* arr = ArrayAt(v, path);
        if (arr == nullptr) return;
        std::set<std::string> names;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const std::string ipath = IndexPath(path, i);
            const auto* field = ObjectAt((*arr)[i], ipath);
            if (field == nullptr) continue;
            UnknownKeys(*field, ipath, kInterfaceKeys);
            if (const auto* name = RequiredString(*field, ipath, "name")) {
                if (name->empty()) {
                    Add(KeyPath(ipath, "name"), "must not be empty");
                } else if (!names.insert(std::string(*name)).second) {
                    Add(KeyPath(ipath, "name"), "duplicate output field \"" + std::string(*name) + "\"");
                }
            }
            OptionalString(*field, ipath, "type");
            OptionalString(*field, ipath, "label");
            OptionalString(*field, ipath, "help");
            if (const auto* spec = field->if_contains("spec")) {
                if (spec->is_array()) {
                    CheckInterface(*spec, KeyPath(ipath, "spec"));
                } else if (!spec->is_object()) {
                    Add(KeyPath(ipath, "spec"), "must be an array of fields or a field");
                }
            }
        }
    }
};

// ---------------------------------------------------------------------------------------------------------------
// Building the model from a valid document (every shape was checked, so plain accessors are safe)

std::string StringOr(const json::object& obj, std::string_view key, std::string_view fallback = {}) {
    const auto* v = obj.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string(fallback);
}

bool BoolOr(const json::object& obj, std::string_view key, bool fallback) {
    const auto* v = obj.if_contains(key);
    return v && v->is_bool() ? v->get_bool() : fallback;
}

std::vector<std::string> Strings(const json::object& obj, std::string_view key) {
    std::vector<std::string> out;
    if (const auto* v = obj.if_contains(key)) {
        for (const auto& item : v->get_array()) out.emplace_back(item.get_string());
    }
    return out;
}

std::vector<Parameter> BuildParameters(const json::value* v);

Parameter BuildParameter(const json::object& p) {
    Parameter out;
    out.name = StringOr(p, "name");
    out.type = *ParamTypeFromString(p.at("type").get_string());
    out.label = StringOr(p, "label");
    out.help = StringOr(p, "help");
    out.required = BoolOr(p, "required", false);
    out.advanced = BoolOr(p, "advanced", false);
    out.editable = BoolOr(p, "editable", true);
    out.sensitive = BoolOr(p, "sensitive", false);
    if (const auto* options = p.if_contains("options")) {
        for (const auto& o : options->get_array()) {
            out.options.push_back({std::string(o.at("label").get_string()), o.at("value")});
        }
    }
    if (const auto* v = p.if_contains("validate")) {
        const auto& val = v->get_object();
        if (const auto* pattern = val.if_contains("pattern")) {
            out.validate.pattern_source = std::string(pattern->get_string());
            out.validate.pattern.emplace(out.validate.pattern_source, std::regex::ECMAScript);
        }
        const bool is_array = out.type == ParamType::kArray;
        const bool is_number = out.type == ParamType::kNumber;
        if (const auto* n = val.if_contains(is_array ? "minItems" : "min")) {
            if (is_number) {
                out.validate.min_value = AsNumber(*n);
            } else {
                out.validate.min_length = AsCount(*n);
            }
        }
        if (const auto* n = val.if_contains(is_array ? "maxItems" : "max")) {
            if (is_number) {
                out.validate.max_value = AsNumber(*n);
            } else {
                out.validate.max_length = AsCount(*n);
            }
        }
    }
    if (const auto* d = p.if_contains("default")) out.default_value = *d;
    out.spec = BuildParameters(p.if_contains("spec"));
    return out;
}

std::vector<Parameter> BuildParameters(const json::value* v) {
    std::vector<Parameter> out;
    if (v == nullptr) return out;
    for (const auto& p : v->get_array()) out.push_back(BuildParameter(p.get_object()));
    return out;
}

bool IEquals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Base entries first (minus those the module overrides), then the module's, in their written order.
json::object MergeKeyValues(const json::object& base, const json::object& mod, bool case_insensitive) {
    json::object out;
    for (const auto& [key, value] : base) {
        const bool overridden = std::any_of(mod.begin(), mod.end(), [&](const json::key_value_pair& m) {
            return case_insensitive ? IEquals(m.key(), key) : m.key() == key;
        });
        if (!overridden) out[key] = value;
    }
    for (const auto& [key, value] : mod) out[key] = value;
    return out;
}

// Counts lines and columns (1-based, in bytes) of an offset.
std::string LineColumn(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return std::to_string(line) + ":" + std::to_string(column);
}

// A Boost.JSON parser handler that builds nothing and reports keys repeated within one object (a DOM parser
// keeps only the last of them, so a second connection type of the same name would vanish silently).
class DuplicateKeyHandler {
  public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    explicit DuplicateKeyHandler(std::vector<Problem>* problems) : problems_(problems) {}

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return Open(true); }
    bool on_object_end(std::size_t, boost::system::error_code&) { return Close(); }
    bool on_array_begin(boost::system::error_code&) { return Open(false); }
    bool on_array_end(std::size_t, boost::system::error_code&) { return Close(); }
    bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s);
        return true;
    }
    bool on_key(std::string_view s, std::size_t, boost::system::error_code&) {
        key_.append(s);
        Frame& top = stack_.back();
        if (!top.keys.insert(key_).second) {
            problems_->push_back(
                {KeyPath(ContainerPath(), key_), "the key \"" + key_ + "\" appears twice in this object"});
        }
        top.key = std::move(key_);
        key_.clear();
        return true;
    }
    bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return Scalar(); }
    bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_double(double, std::string_view, boost::system::error_code&) { return Scalar(); }
    bool on_bool(bool, boost::system::error_code&) { return Scalar(); }
    bool on_null(boost::system::error_code&) { return Scalar(); }
    bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
    bool on_comment(std::string_view, boost::system::error_code&) { return true; }

  private:
    struct Frame {
        bool is_object = false;
        std::set<std::string> keys;
        std::string key;        // objects: the key of the value being parsed
        std::size_t index = 0;  // arrays: the index of the value being parsed
    };

    bool Open(bool is_object) {
        stack_.push_back(Frame{is_object, {}, {}, 0});
        return true;
    }
    bool Close() {
        stack_.pop_back();
        return Scalar();
    }
    bool Scalar() {
        if (!stack_.empty() && !stack_.back().is_object) ++stack_.back().index;
        return true;
    }
    // The path of the innermost open container.
    std::string ContainerPath() const {
        std::string path = "$";
        for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
            path = stack_[i].is_object ? KeyPath(path, stack_[i].key) : IndexPath(path, stack_[i].index);
        }
        return path;
    }

    std::vector<Problem>* problems_;
    std::vector<Frame> stack_;
    std::string key_;
};

json::parse_options FileParseOptions() {
    json::parse_options options;
    options.allow_comments = true;
    options.max_depth = 64;
    return options;
}

constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;

}  // namespace

std::string ToString(const Problem& problem) { return problem.path + ": " + problem.message; }

std::vector<Problem> ValidateApp(const json::value& doc) {
    Validator validator;
    validator.CheckApp(doc);
    return std::move(validator.problems);
}

json::value MergeWithBase(const json::object& base, const json::value& communication) {
    if (!communication.is_object()) return communication;
    json::object out = communication.get_object();

    if (const auto* url = out.if_contains("url"); url && url->is_string()) {
        const auto* base_url = base.if_contains("baseUrl");
        std::string_view u = url->get_string();
        if (base_url && base_url->is_string() && !u.empty() && u[0] == '/') {
            std::string joined(base_url->get_string());
            while (!joined.empty() && joined.back() == '/') joined.pop_back();
            out["url"] = joined + std::string(u);
        }
    }
    for (std::string_view key : {"headers", "qs"}) {
        const auto* b = base.if_contains(key);
        if (b == nullptr || !b->is_object()) continue;
        const auto* m = out.if_contains(key);
        const json::object empty;
        const json::object& mod = m && m->is_object() ? m->get_object() : empty;
        out[key] = MergeKeyValues(b->get_object(), mod, key == "headers");
    }
    if (const auto* br = base.if_contains("response"); br && br->is_object()) {
        json::object response;
        if (const auto* mr = out.if_contains("response"); mr && mr->is_object()) response = mr->get_object();
        bool changed = false;
        for (std::string_view key : {"error", "valid", "type"}) {
            const auto* bv = br->get_object().if_contains(key);
            if (bv != nullptr && !response.contains(key)) {
                response[key] = *bv;
                changed = true;
            }
        }
        if (changed) out["response"] = std::move(response);
    }
    if (const auto* bl = base.if_contains("log"); bl && bl->is_object()) {
        if (const auto* sanitize = bl->get_object().if_contains("sanitize")) {
            json::object log;
            if (const auto* ml = out.if_contains("log"); ml && ml->is_object()) log = ml->get_object();
            if (!log.contains("sanitize")) {
                log["sanitize"] = *sanitize;
                out["log"] = std::move(log);
            }
        }
    }
    return out;
}

core::Result<App> ParseApp(const json::value& doc, std::string source_file, bool builtin) {
    auto problems = ValidateApp(doc);
    if (!problems.empty()) {
        auto error = core::InvalidArgument("app definition " + source_file + " has " + std::to_string(problems.size()) +
                                           " problem(s)");
        for (const auto& p : problems) error.suberrors.push_back(ToString(p));
        return error;
    }
    const auto& obj = doc.get_object();
    App app;
    app.name = StringOr(obj, "name");
    app.label = StringOr(obj, "label");
    const auto& version = obj.at("version");
    app.version = version.is_string() ? std::string(version.get_string()) : std::to_string(*AsCount(version));
    app.description = StringOr(obj, "description");
    app.theme = StringOr(obj, "theme", kDefaultTheme);
    if (const auto* base = obj.if_contains("base")) app.base = base->get_object();
    app.source_file = std::move(source_file);
    app.builtin = builtin;

    if (const auto* conns = obj.if_contains("connections")) {
        for (const auto& [key, value] : conns->get_object()) {
            const auto& c = value.get_object();
            ConnectionType ct;
            ct.name = std::string(key);
            ct.kind = *ConnectionKindFromString(c.at("type").get_string());
            ct.label = StringOr(c, "label");
            ct.parameters = BuildParameters(c.if_contains("parameters"));
            if (const auto* common = c.if_contains("common")) ct.common = common->get_object();
            ct.default_scope = Strings(c, "scope");
            if (const auto* scopes = c.if_contains("scopes")) {
                for (const auto& [scope, description] : scopes->get_object()) {
                    ct.scopes.push_back({std::string(scope), std::string(description.get_string())});
                }
            }
            ct.native = BoolOr(c, "native", false);
            if (const auto* api = c.if_contains("api")) ct.api = *api;
            ct.pkce = BoolOr(c, "pkce", true);
            ct.app = app.name;
            app.connections.push_back(std::move(ct));
        }
    }
    if (const auto* mods = obj.if_contains("modules")) {
        for (const auto& [key, value] : mods->get_object()) {
            const auto& m = value.get_object();
            Module mod;
            mod.name = std::string(key);
            mod.type = *ModuleTypeFromString(m.at("type").get_string());
            mod.label = StringOr(m, "label");
            mod.description = StringOr(m, "description");
            mod.connection = StringOr(m, "connection");
            mod.scope = Strings(m, "scope");
            mod.parameters = BuildParameters(m.if_contains("parameters"));
            mod.expect = BuildParameters(m.if_contains("expect"));
            if (const auto* i = m.if_contains("interface")) mod.interface = *i;
            mod.native = BoolOr(m, "native", false);
            if (const auto* comm = m.if_contains("communication")) {
                mod.communication = mod.type == ModuleType::kInstant ? *comm : MergeWithBase(app.base, *comm);
            }
            mod.app = app.name;
            app.modules.push_back(std::move(mod));
        }
    }
    return app;
}

std::optional<json::value> ReadJsonFile(const std::string& path, std::vector<Problem>& problems) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        problems.push_back({"$", "cannot read the file"});
        return std::nullopt;
    }
    std::string text;
    char chunk[65536];
    while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
        text.append(chunk, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxFileBytes) {
            problems.push_back({"$", "the file is larger than 4 MiB"});
            return std::nullopt;
        }
    }
    if (in.bad()) {
        problems.push_back({"$", "cannot read the file"});
        return std::nullopt;
    }

    const std::size_t before = problems.size();
    json::basic_parser<DuplicateKeyHandler> checker(FileParseOptions(), &problems);
    boost::system::error_code ec;
    const std::size_t consumed = checker.write_some(false, text.data(), text.size(), ec);
    if (ec) {
        problems.resize(before);  // duplicates found before a syntax error are noise next to it
        problems.push_back({"$", "JSON syntax error at " + LineColumn(text, consumed) + ": " + ec.message()});
        return std::nullopt;
    }
    if (problems.size() != before) return std::nullopt;

    json::value doc = json::parse(text, ec, {}, FileParseOptions());
    if (ec) {
        problems.push_back({"$", "JSON syntax error: " + ec.message()});
        return std::nullopt;
    }
    return doc;
}

std::vector<Problem> ValidateFile(const std::string& path) {
    std::vector<Problem> problems;
    auto doc = ReadJsonFile(path, problems);
    if (!doc) return problems;
    return ValidateApp(*doc);
}

}  // namespace switchboard::catalog
