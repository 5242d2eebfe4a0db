#include "engine/blueprint.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>
#include <unordered_set>

#include "engine/filter.hpp"
#include "iml/dates.hpp"
#include "iml/timezone.hpp"
#include "iml/utf8.hpp"
#include "iml/values.hpp"

namespace switchboard::engine {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxBlueprintBytes = 1024 * 1024;
constexpr std::size_t kMaxModules = 500;
constexpr int kMaxNesting = 16;
// JSON nesting a blueprint may have: 16 levels of routes/handlers take about 4 JSON levels each, and mappers
// hold nested collections of their own.
constexpr unsigned kMaxJsonDepth = 256;
constexpr std::size_t kMaxInputs = 200;
constexpr std::string_view kRouter = "builtin:BasicRouter";
constexpr std::string_view kDirectives[] = {"builtin:Ignore", "builtin:Resume", "builtin:Break", "builtin:Rollback",
                                            "builtin:Commit"};
constexpr std::string_view kInputTypes[] = {"text", "number", "boolean", "date", "json", "array", "collection"};

core::Error At(const std::string& path, std::string_view what) {
    return core::InvalidArgument(path.empty() ? std::string(what) : path + ": " + std::string(what));
}

bool IsPlainKey(std::string_view key) {
    if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_')) return false;
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

std::string KeyPath(const std::string& path, std::string_view key) {
    if (IsPlainKey(key)) return path.empty() ? std::string(key) : path + "." + std::string(key);
    std::string out = path + "['";
    for (char c : key) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "']";
}

std::string IndexPath(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string_view KindName(const json::value& v) {
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
            return "text";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

core::Error WrongType(const std::string& path, std::string_view expected, const json::value& v) {
    return At(path, "must be " + std::string(expected) + ", not " + std::string(KindName(v)));
}

// An integer JSON value (not a fraction) that fits int64.
std::optional<std::int64_t> AsInteger(const json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
        return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
}

// Decimal digits only (no sign, no spaces), fitting int64.
std::optional<std::int64_t> ParseDigits(std::string_view s) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    std::int64_t n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return n;
}

// "app:name": both parts non-empty, letters, digits and _ - . # (Make's custom apps are "app#name-xyz").
bool IsModuleName(std::string_view s) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
    if (s.find(':', colon + 1) != std::string_view::npos) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '#' || c == ':';
    });
}

bool IsDirective(std::string_view module) {
    return std::find(std::begin(kDirectives), std::end(kDirectives), module) != std::end(kDirectives);
}

// The value of parameters.__IMTCONN__; the error detail has no path (callers add it).
core::Result<std::optional<ConnectionRef>> ParseConnectionValue(const json::value& v) {
    const std::string_view expected = R"(must be a connection id, "dynamic:ID" or {"dynamic": ID})";
    auto positive = [](std::optional<std::int64_t> id) -> std::optional<std::int64_t> {
        if (id && *id > 0) return id;
        return std::nullopt;
    };
    if (v.is_null()) return std::optional<ConnectionRef>{};
    if (auto id = positive(AsInteger(v))) return std::optional<ConnectionRef>(ConnectionRef{false, *id});
    if (v.is_string()) {
        std::string_view s = v.get_string();
        if (s.empty()) return std::optional<ConnectionRef>{};  // Make writes "" for "no connection chosen"
        if (s.substr(0, 8) == "dynamic:") {
            if (auto id = positive(ParseDigits(s.substr(8))))
                return std::optional<ConnectionRef>(ConnectionRef{true, *id});
        } else if (auto id = positive(ParseDigits(s))) {
            return std::optional<ConnectionRef>(ConnectionRef{false, *id});
        }
        return core::InvalidArgument(std::string(expected));
    }
    if (v.is_object()) {
        const auto& o = v.get_object();
        const auto* d = o.if_contains("dynamic");
        if (d != nullptr) {
            std::optional<std::int64_t> id = d->is_string() ? ParseDigits(d->get_string()) : AsInteger(*d);
            if (auto p = positive(id)) return std::optional<ConnectionRef>(ConnectionRef{true, *p});
        }
    }
    return core::InvalidArgument(std::string(expected));
}

// Condition sides are text (templates); hand-written blueprints sometimes use numbers or booleans.
core::Result<std::string> ConditionSide(const json::value* v, const std::string& path) {
    if (v == nullptr || v->is_null()) return std::string();
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_bool() || v->is_number()) return iml::ToText(*v);
    return WrongType(path, "text", *v);
}

core::Result<std::optional<Filter>> ParseFilter(const json::value& v, const std::string& path) {
    if (v.is_null()) return std::optional<Filter>{};
    if (!v.is_object()) return WrongType(path, "an object", v);
    const auto& o = v.get_object();
    Filter filter;
    if (const auto* name = o.if_contains("name"); name != nullptr && !name->is_null()) {
        if (!name->is_string()) return WrongType(KeyPath(path, "name"), "text", *name);
        filter.name = name->get_string();
    }
    const auto* conditions = o.if_contains("conditions");
    if (conditions == nullptr || conditions->is_null()) return std::optional<Filter>(std::move(filter));
    const std::string cpath = KeyPath(path, "conditions");
    if (!conditions->is_array()) return WrongType(cpath, "an array of arrays", *conditions);
    for (std::size_t i = 0; i < conditions->get_array().size(); ++i) {
        const auto& group = conditions->get_array()[i];
        const std::string gpath = IndexPath(cpath, i);
        if (!group.is_array()) return WrongType(gpath, "an array of conditions", group);
        std::vector<Condition> and_group;
        for (std::size_t j = 0; j < group.get_array().size(); ++j) {
            const auto& c = group.get_array()[j];
            const std::string path_c = IndexPath(gpath, j);
            if (!c.is_object()) return WrongType(path_c, "an object", c);
            const auto& co = c.get_object();
            Condition cond;
            const auto* op = co.if_contains("o");
            if (op == nullptr || op->is_null()) return At(KeyPath(path_c, "o"), "the operator is missing");
            if (!op->is_string()) return WrongType(KeyPath(path_c, "o"), "text", *op);
            cond.o = op->get_string();
            if (!KnownOperator(cond.o)) return At(KeyPath(path_c, "o"), "unknown operator '" + cond.o + "'");
            auto a = ConditionSide(co.if_contains("a"), KeyPath(path_c, "a"));
            if (!a) return a.error();
            cond.a = std::move(*a);
            if (!IsUnaryOperator(cond.o)) {
                auto b = ConditionSide(co.if_contains("b"), KeyPath(path_c, "b"));
                if (!b) return b.error();
                cond.b = std::move(*b);
            }
            and_group.push_back(std::move(cond));
        }
        filter.conditions.push_back(std::move(and_group));
    }
    return std::optional<Filter>(std::move(filter));
}

enum class FlowKind { kMain, kHandler };

class BlueprintParser {
  public:
    core::Result<std::vector<ModuleNode>> Flow(const json::value& v, const std::string& path, int depth,
                                               FlowKind kind) {
        if (depth > kMaxNesting) {
            return At(path,
                      "routes and error handlers are nested more than " + std::to_string(kMaxNesting) + " levels deep");
        }
        if (!v.is_array()) return WrongType(path, "an array of modules", v);
        const auto& arr = v.get_array();
        std::vector<ModuleNode> flow;
        flow.reserve(std::min<std::size_t>(arr.size(), kMaxModules));
        for (std::size_t i = 0; i < arr.size(); ++i) {
            const std::string mpath = IndexPath(path, i);
            auto node = Module(arr[i], mpath, depth);
            if (!node) return node.error();
            const bool last = i + 1 == arr.size();
            if (IsDirective(node->module)) {
                if (kind != FlowKind::kHandler) {
                    return At(KeyPath(mpath, "module"),
                              node->module + " is an error-handler directive; it may only end an onerror flow");
                }
                if (!last) {
                    return At(KeyPath(mpath, "module"), node->module + " must be the last module of its error handler");
                }
            } else if (kind == FlowKind::kHandler && last) {
                return At(KeyPath(mpath, "module"),
                          "an error handler must end with a directive (builtin:Ignore, builtin:Resume, builtin:Break, "
                          "builtin:Rollback or builtin:Commit), not " +
                              node->module);
            }
            flow.push_back(std::move(*node));
        }
        return flow;
    }

  private:
    core::Result<ModuleNode> Module(const json::value& v, const std::string& path, int depth) {
        if (!v.is_object()) return WrongType(path, "an object", v);
        if (++count_ > kMaxModules) {
            return At(path, "a blueprint may have at most " + std::to_string(kMaxModules) + " modules");
        }
        const auto& o = v.get_object();
        ModuleNode node;

        const auto* id = o.if_contains("id");
        const std::string id_path = KeyPath(path, "id");
        if (id == nullptr) return At(id_path, "the module id is missing");
        auto id_value = AsInteger(*id);
        if (!id_value || *id_value <= 0) return At(id_path, "must be a positive integer");
        if (!ids_.insert(*id_value).second) {
            return At(id_path, "duplicate module id " + std::to_string(*id_value));
        }
        node.id = *id_value;

        const auto* module = o.if_contains("module");
        const std::string module_path = KeyPath(path, "module");
        if (module == nullptr) return At(module_path, "the module name is missing");
        if (!module->is_string()) return WrongType(module_path, "text", *module);
        node.module = module->get_string();
        if (!IsModuleName(node.module)) {
            return At(module_path, "'" + node.module + "' is not a module name of the form app:module");
        }

        if (const auto* version = o.if_contains("version"); version != nullptr && !version->is_null()) {
            auto n = AsInteger(*version);
            if (!n || *n < 1 || *n > std::numeric_limits<int>::max()) {
                return At(KeyPath(path, "version"), "must be a positive integer");
            }
            node.version = static_cast<int>(*n);
        }

        if (const auto* parameters = o.if_contains("parameters"); parameters != nullptr && !parameters->is_null()) {
            const std::string ppath = KeyPath(path, "parameters");
            if (!parameters->is_object()) return WrongType(ppath, "an object", *parameters);
            node.parameters = parameters->get_object();
            if (const auto* conn = node.parameters.if_contains("__IMTCONN__")) {
                auto ref = ParseConnectionValue(*conn);
                if (!ref) return At(KeyPath(ppath, "__IMTCONN__"), ref.error().detail);
            }
        }

        if (const auto* mapper = o.if_contains("mapper"); mapper != nullptr && !mapper->is_null()) {
            if (!mapper->is_object()) return WrongType(KeyPath(path, "mapper"), "an object or null", *mapper);
            node.mapper = *mapper;
        }

        if (const auto* filter = o.if_contains("filter")) {
            auto f = ParseFilter(*filter, KeyPath(path, "filter"));
            if (!f) return f.error();
            node.filter = std::move(*f);
        }

        if (const auto* routes = o.if_contains("routes"); routes != nullptr && !routes->is_null()) {
            const std::string rpath = KeyPath(path, "routes");
            if (!routes->is_array()) return WrongType(rpath, "an array", *routes);
            if (node.module != kRouter && !routes->get_array().empty()) {
                return At(rpath, "only builtin:BasicRouter has routes, not " + node.module);
            }
            for (std::size_t i = 0; i < routes->get_array().size(); ++i) {
                const auto& route = routes->get_array()[i];
                const std::string route_path = IndexPath(rpath, i);
                if (!route.is_object()) return WrongType(route_path, "an object", route);
                const auto* flow = route.get_object().if_contains("flow");
                const std::string fpath = KeyPath(route_path, "flow");
                Route r;
                if (flow != nullptr && !flow->is_null()) {
                    auto f = Flow(*flow, fpath, depth + 1, FlowKind::kMain);
                    if (!f) return f.error();
                    r.flow = std::move(*f);
                }
                node.routes.push_back(std::move(r));
            }
        }

        if (const auto* onerror = o.if_contains("onerror"); onerror != nullptr && !onerror->is_null()) {
            if (IsDirective(node.module)) {
                return At(KeyPath(path, "onerror"), "a directive cannot have an error handler");
            }
            auto f = Flow(*onerror, KeyPath(path, "onerror"), depth + 1, FlowKind::kHandler);
            if (!f) return f.error();
            node.onerror = std::move(*f);
        }

        if (const auto* metadata = o.if_contains("metadata"); metadata != nullptr && !metadata->is_null()) {
            if (!metadata->is_object()) return WrongType(KeyPath(path, "metadata"), "an object", *metadata);
            node.metadata = metadata->get_object();
        }
        return node;
    }

    std::unordered_set<std::int64_t> ids_;
    std::size_t count_ = 0;
};

core::Result<void> ReadBool(const json::object& o, std::string_view key, const std::string& path, bool& out) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_bool()) return WrongType(KeyPath(path, key), "a boolean", *v);
    out = v->get_bool();
    return {};
}

core::Result<void> ReadPositiveInt(const json::object& o, std::string_view key, const std::string& path, int& out) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    auto n = AsInteger(*v);
    if (!n || *n < 1 || *n > 1'000'000) return At(KeyPath(path, key), "must be an integer from 1 to 1000000");
    out = static_cast<int>(*n);
    return {};
}

core::Result<ScenarioSettings> ParseSettings(const json::value& v, const std::string& path) {
    ScenarioSettings s;
    if (v.is_null()) return s;
    if (!v.is_object()) return WrongType(path, "an object", v);
    const auto& o = v.get_object();
    if (auto r = ReadPositiveInt(o, "maxErrors", path, s.max_errors); !r) return r.error();
    if (auto r = ReadPositiveInt(o, "roundtrips", path, s.roundtrips); !r) return r.error();
    if (auto r = ReadBool(o, "sequential", path, s.sequential); !r) return r.error();
    if (auto r = ReadBool(o, "confidential", path, s.confidential); !r) return r.error();
    if (auto r = ReadBool(o, "dlq", path, s.dlq); !r) return r.error();
    if (auto r = ReadBool(o, "autoCommit", path, s.auto_commit); !r) return r.error();
    return s;
}

core::Result<Blueprint> ParseBlueprintObject(const json::value& v) {
    if (!v.is_object()) return At("blueprint", "must be a JSON object, not " + std::string(KindName(v)));
    const auto& o = v.get_object();
    Blueprint b;
    if (const auto* name = o.if_contains("name"); name != nullptr && !name->is_null()) {
        if (!name->is_string()) return WrongType("name", "text", *name);
        b.name = name->get_string();
    }
    const auto* flow = o.if_contains("flow");
    if (flow == nullptr || flow->is_null()) return At("flow", "the module list is missing");
    BlueprintParser parser;
    auto modules = parser.Flow(*flow, "flow", 0, FlowKind::kMain);
    if (!modules) return modules.error();
    b.flow = std::move(*modules);
    if (const auto* metadata = o.if_contains("metadata"); metadata != nullptr && !metadata->is_null()) {
        if (!metadata->is_object()) return WrongType("metadata", "an object", *metadata);
        b.metadata = metadata->get_object();
        if (const auto* scenario = b.metadata.if_contains("scenario")) {
            auto settings = ParseSettings(*scenario, "metadata.scenario");
            if (!settings) return settings.error();
            b.settings = *settings;
        }
    }
    return b;
}

void Visit(const std::vector<ModuleNode>& flow, const std::function<void(const ModuleNode&)>& fn) {
    for (const auto& m : flow) {
        fn(m);
        for (const auto& r : m.routes) Visit(r.flow, fn);
        Visit(m.onerror, fn);
    }
}

const ModuleNode* Find(const std::vector<ModuleNode>& flow, std::int64_t id) {
    for (const auto& m : flow) {
        if (m.id == id) return &m;
        for (const auto& r : m.routes) {
            if (const auto* found = Find(r.flow, id)) return found;
        }
        if (const auto* found = Find(m.onerror, id)) return found;
    }
    return nullptr;
}

// ---- scenario inputs ----

bool IsInputName(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string Trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

// Text holding JSON of the wanted kind (forms send structured inputs as text).
std::optional<json::value> ParseJsonText(std::string_view text) {
    json::parse_options options;
    options.max_depth = 64;
    std::error_code ec;
    json::value parsed = json::parse(text, ec, {}, options);
    if (ec) return std::nullopt;
    return parsed;
}

// A given value converted to the input's type; the detail says what was expected.
core::Result<json::value> ConvertInput(const std::string& type, const json::value& v) {
    if (type == "text") {
        if (v.is_string()) return v;
        if (v.is_number() || v.is_bool()) return json::value(iml::ToText(v));
        return core::InvalidArgument("must be text, not " + std::string(KindName(v)));
    }
    if (type == "number") {
        if (v.is_number()) return v;
        if (v.is_string()) {
            auto d = iml::ParseNumberText(v.get_string());
            if (d && std::isfinite(*d)) return iml::MakeNumber(*d);
        }
        return core::InvalidArgument("must be a number");
    }
    if (type == "boolean") {
        if (v.is_bool()) return v;
        if (v.is_string()) {
            const std::string t = iml::ToLower(Trimmed(v.get_string()));
            if (t == "true") return json::value(true);
            if (t == "false") return json::value(false);
        }
        return core::InvalidArgument("must be true or false");
    }
    if (type == "date") {
        std::optional<std::int64_t> ms;
        if (v.is_string()) {
            ms = iml::ParseDateText(v.get_string(), iml::TimeZone::Utc());
        } else if (auto n = AsInteger(v)) {
            ms = *n;
        }
        if (!ms || *ms > iml::kMaxDateMillis || *ms < -iml::kMaxDateMillis) {
            return core::InvalidArgument("must be a date (ISO 8601 text or milliseconds since 1970)");
        }
        return json::value(iml::FormatIsoMillis(*ms));
    }
    if (type == "json") {
        if (!v.is_string()) return v;
        if (auto parsed = ParseJsonText(v.get_string())) return *parsed;
        return core::InvalidArgument("must be JSON (text that does not parse as JSON was given)");
    }
    if (type == "array" || type == "collection") {
        const bool array = type == "array";
        json::value value = v;
        if (v.is_string()) {
            if (auto parsed = ParseJsonText(v.get_string())) value = std::move(*parsed);
        }
        if (array && value.is_array()) return value;
        if (!array && value.is_object()) return value;
        return core::InvalidArgument(array ? "must be an array" : "must be a collection (a JSON object)");
    }
    return core::InvalidArgument("unknown input type '" + type + "'");
}

core::Result<std::vector<ScenarioInput>> ParseInputsValue(const json::value& v) {
    if (!v.is_array()) return WrongType("inputs", "an array", v);
    const auto& arr = v.get_array();
    if (arr.size() > kMaxInputs) return At("inputs", "at most " + std::to_string(kMaxInputs) + " inputs");
    std::vector<ScenarioInput> inputs;
    std::set<std::string, std::less<>> names;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string path = IndexPath("inputs", i);
        if (!arr[i].is_object()) return WrongType(path, "an object", arr[i]);
        const auto& o = arr[i].get_object();
        ScenarioInput input;
        const auto* name = o.if_contains("name");
        if (name == nullptr || name->is_null()) return At(KeyPath(path, "name"), "the name is missing");
        if (!name->is_string()) return WrongType(KeyPath(path, "name"), "text", *name);
        input.name = name->get_string();
        if (!IsInputName(input.name)) {
            return At(KeyPath(path, "name"),
                      "'" + input.name + "' is not a valid name (letters, digits and _, not starting with a digit)");
        }
        if (!names.insert(input.name).second) return At(KeyPath(path, "name"), "duplicate input '" + input.name + "'");
        if (const auto* type = o.if_contains("type"); type != nullptr && !type->is_null()) {
            if (!type->is_string()) return WrongType(KeyPath(path, "type"), "text", *type);
            input.type = type->get_string();
            if (std::find(std::begin(kInputTypes), std::end(kInputTypes), input.type) == std::end(kInputTypes)) {
                return At(KeyPath(path, "type"),
                          "unknown type '" + input.type + "' (text, number, boolean, date, json, array or collection)");
            }
        }
        if (const auto* label = o.if_contains("label"); label != nullptr && !label->is_null()) {
            if (!label->is_string()) return WrongType(KeyPath(path, "label"), "text", *label);
            input.label = label->get_string();
        }
        if (const auto* required = o.if_contains("required"); required != nullptr && !required->is_null()) {
            if (!required->is_bool()) return WrongType(KeyPath(path, "required"), "a boolean", *required);
            input.required = required->get_bool();
        }
        if (const auto* def = o.if_contains("default"); def != nullptr && !def->is_null()) {
            auto converted = ConvertInput(input.type, *def);
            if (!converted) return At(KeyPath(path, "default"), converted.error().detail);
            input.default_value = std::move(*converted);
        }
        inputs.push_back(std::move(input));
    }
    return inputs;
}

}  // namespace

core::Result<Blueprint> ParseBlueprint(const json::value& v) {
    if (v.is_string()) {
        const auto& text = v.get_string();
        if (text.size() > kMaxBlueprintBytes) {
            return At("blueprint", "larger than 1 MB (" + std::to_string(text.size()) + " bytes)");
        }
        json::parse_options options;
        options.max_depth = kMaxJsonDepth;
        std::error_code ec;
        json::value parsed = json::parse(text, ec, {}, options);
        if (ec) return At("blueprint", "not valid JSON: " + ec.message());
        return ParseBlueprintObject(parsed);
    }
    if (v.is_object()) {
        const std::size_t size = json::serialize(v).size();
        if (size > kMaxBlueprintBytes) return At("blueprint", "larger than 1 MB (" + std::to_string(size) + " bytes)");
    }
    return ParseBlueprintObject(v);
}

void ForEachModule(const Blueprint& b, const std::function<void(const ModuleNode&)>& fn) { Visit(b.flow, fn); }

const ModuleNode* FindModule(const Blueprint& b, std::int64_t id) { return Find(b.flow, id); }

core::Result<std::optional<ConnectionRef>> ConnectionOf(const ModuleNode& m) {
    const auto* conn = m.parameters.if_contains("__IMTCONN__");
    if (conn == nullptr) return std::optional<ConnectionRef>{};
    auto ref = ParseConnectionValue(*conn);
    if (!ref) return At("module " + std::to_string(m.id) + ": parameters.__IMTCONN__", ref.error().detail);
    return ref;
}

std::vector<std::string> UnknownModules(const Blueprint& b, const std::function<bool(const std::string&)>& known) {
    std::vector<std::string> unknown;
    std::set<std::string, std::less<>> seen;
    ForEachModule(b, [&](const ModuleNode& m) {
        if (seen.contains(m.module)) return;
        seen.insert(m.module);
        if (!known(m.module)) unknown.push_back(m.module);
    });
    return unknown;
}

core::Result<std::vector<ScenarioInput>> ParseInputs(const json::value& v) {
    if (v.is_string()) {
        if (v.get_string().size() > kMaxBlueprintBytes) return At("inputs", "larger than 1 MB");
        auto parsed = ParseJsonText(v.get_string());
        if (!parsed) return At("inputs", "not valid JSON");
        return ParseInputsValue(*parsed);
    }
    return ParseInputsValue(v);
}

json::array InputsToJson(const std::vector<ScenarioInput>& inputs) {
    json::array out;
    for (const auto& input : inputs) {
        json::object o;
        o["name"] = input.name;
        o["type"] = input.type;
        if (!input.label.empty()) o["label"] = input.label;
        o["required"] = input.required;
        if (!input.default_value.is_null()) o["default"] = input.default_value;
        out.push_back(std::move(o));
    }
    return out;
}

core::Result<json::object> ApplyInputs(const std::vector<ScenarioInput>& inputs, const json::object& given) {
    for (const auto& [key, value] : given) {
        const bool exists =
            std::any_of(inputs.begin(), inputs.end(), [&](const ScenarioInput& in) { return in.name == key; });
        if (!exists) return At(KeyPath("inputs", key), "the scenario has no such input");
    }
    json::object out;
    for (const auto& input : inputs) {
        const std::string path = KeyPath("inputs", input.name);
        const auto* value = given.if_contains(input.name);
        if (value == nullptr || value->is_null()) {
            if (input.required && input.default_value.is_null()) return At(path, "a value is required");
            out[input.name] = input.default_value;
            continue;
        }
        auto converted = ConvertInput(input.type, *value);
        if (!converted) return At(path, converted.error().detail);
        out[input.name] = std::move(*converted);
    }
    return out;
}

}  // namespace switchboard::engine
