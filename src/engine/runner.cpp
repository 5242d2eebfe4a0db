#include "engine/runner.hpp"

#include <boost/json.hpp>

#include <set>
#include <thread>

#include "core/cooperative.hpp"
#include "engine/app_module.hpp"
#include "engine/filter.hpp"
#include "request_spec/request_spec.hpp"

namespace switchboard::engine {

namespace json = boost::json;
using store::ExecutionStatus;

std::optional<ModuleInfo> DescribeModule(const catalog::Catalog& catalog, const ModuleRegistry& registry,
                                         std::string_view name) {
    ModuleInfo info;
    info.name = std::string(name);
    const catalog::Module* m = catalog.FindModule(name);
    if (m && m->native) {
        // An app's module implemented in C++: the code from the registry, the connection type, scope and fields
        // from the app's definition. Without an implementation in this server it is not known.
        const NativeModule* n = registry.Find(name);
        if (!n) return std::nullopt;
        info.native = n;
        info.definition = m;
        info.type = m->type;
        info.connection_type = m->connection;
        info.scope = m->scope;
        return info;
    }
    if (const NativeModule* n = registry.Find(name)) {
        info.native = n;
        info.type = n->type;
        info.connection_app = n->connection_app;
        info.scope = n->scope;
        return info;
    }
    if (m) {
        info.definition = m;
        info.type = m->type;
        info.connection_type = m->connection;
        info.scope = m->scope;
        return info;
    }
    const auto colon = name.find(':');
    if (colon != std::string_view::npos && name.substr(colon + 1) == kApiCallModule) {
        const catalog::App* app = catalog.FindApp(name.substr(0, colon));
        if (app && app->base.contains("baseUrl") && !app->connections.empty()) {
            info.api_call_app = app;
            info.type = catalog::ModuleType::kUniversal;
            info.connection_app = app->name;
            info.connection_required = true;
            return info;
        }
    }
    return std::nullopt;
}

core::Result<std::shared_ptr<const CompiledScenario>> Compile(Blueprint blueprint, std::vector<ScenarioInput> inputs) {
    auto out = std::make_shared<CompiledScenario>();
    std::optional<core::Error> failed;
    ForEachModule(blueprint, [&](const ModuleNode& m) {
        const std::string_view name = m.module;
        const std::string_view app = name.substr(0, name.find(':'));
        const bool builtin = app == "gateway" || app == "http" || app == "json" || app == "util" || app == "builtin";
        const bool api_call = name.size() > 12 && name.substr(name.size() - 12) == ":makeApiCall";
        if (!builtin && !api_call) out->reads_cursors = true;
        if (name == kWebhookRespond) out->responds = true;
        if (failed || m.mapper.is_null()) return;
        auto t = iml::ValueTemplate::Compile(m.mapper);
        if (!t) {
            failed = core::InvalidArgument("module " + std::to_string(m.id) + " mapper: " + t.error().detail);
            return;
        }
        out->mappers.emplace(m.id, std::move(*t));
    });
    if (failed) return *failed;
    out->blueprint = std::move(blueprint);
    out->inputs = std::move(inputs);
    return std::shared_ptr<const CompiledScenario>(std::move(out));
}

namespace {

Failure Fail(std::string_view type, std::string message) { return Failure{std::string(type), std::move(message)}; }

bool Retryable(const Failure& f) {
    return f.type == errors::kConnection || f.type == errors::kRateLimit || f.type == errors::kModuleTimeout;
}

std::string Cut(std::string s, std::size_t max) {
    if (s.size() <= max) return s;
    s.resize(max);
    // Do not leave half a UTF-8 sequence.
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
    return s + "…";
}

// The flow (main flow or a route, not an error handler) holding module `id`, with its index there and the
// (router index, route index) pairs leading to it; null when no such module is in a flow.
const std::vector<ModuleNode>* LocateInFlow(const std::vector<ModuleNode>& flow, std::int64_t id,
                                            std::vector<int>& prefix, std::size_t& index) {
    for (std::size_t i = 0; i < flow.size(); ++i) {
        if (flow[i].id == id) {
            index = i;
            return &flow;
        }
        for (std::size_t k = 0; k < flow[i].routes.size(); ++k) {
            prefix.push_back(static_cast<int>(i));
            prefix.push_back(static_cast<int>(k));
            if (const auto* found = LocateInFlow(flow[i].routes[k].flow, id, prefix, index)) return found;
            prefix.resize(prefix.size() - 2);
        }
    }
    return nullptr;
}

}  // namespace

// Everything one run shares.
struct Runner::State {
    const RunRequest& req;
    const Blueprint& bp;
    RunEnv env;
    RunResult result;
    std::map<std::int64_t, ModuleInfo> info;                           // by module id
    std::map<std::int64_t, std::int64_t> connection_of;                // module id → connection id
    std::map<std::int64_t, connections::ResolvedConnection> resolved;  // by connection id
    bool stopped = false;  // Rollback, Commit, AccountValidationError or a fatal error: nothing more runs
    bool warning = false;
    int module_runs = 0;
};

RunResult Runner::Run(const RunRequest& req) {
    const Blueprint& bp = req.scenario->blueprint;
    State st{req, bp, {}, {}, {}, {}, {}};
    st.env.clock = &clock_;
    st.env.random = &random_;
    st.env.http = &http_;
    st.env.request_timeout = options_.request_timeout;
    st.env.trigger_bundle = req.trigger_bundle;
    st.env.cancelled = req.cancelled;
    RunResult& result = st.result;

    auto fail_init = [&](std::int64_t module_id, Failure f) {
        result.status = ExecutionStatus::kError;
        result.error = std::move(f);
        result.error_module_id = module_id;
        return std::move(result);
    };

    // 1. Initialisation: modules and connections.
    std::vector<const ModuleNode*> nodes;
    ForEachModule(bp, [&](const ModuleNode& m) { nodes.push_back(&m); });
    for (const ModuleNode* m : nodes) {
        auto info = DescribeModule(catalog_, registry_, m->module);
        if (!info) {
            return fail_init(m->id, Fail(errors::kInvalidConfiguration,
                                         "module " + std::to_string(m->id) + " (" + m->module + ") is not known"));
        }
        st.info.emplace(m->id, std::move(*info));
    }
    for (const ModuleNode* m : nodes) {
        const ModuleInfo& info = st.info.at(m->id);
        const std::string who = "module " + std::to_string(m->id) + " (" + m->module + ")";
        auto ref = ConnectionOf(*m);
        if (!ref) return fail_init(m->id, Fail(errors::kInvalidConfiguration, who + ": " + ref.error().detail));
        std::optional<ConnectionRef> bound = *ref;
        if (auto o = req.connection_overrides.find(m->id); o != req.connection_overrides.end()) {
            bound = ConnectionRef{false, o->second};
        }
        if (!bound) {
            if (info.NeedsConnection()) {
                return fail_init(m->id, Fail(errors::kAccountValidation, who + " has no connection"));
            }
            continue;
        }
        if (!info.TakesConnection()) continue;  // a connection on a module that takes none is ignored
        UsedConnection used;
        used.module_id = m->id;
        std::int64_t connection_id = bound->id;
        if (bound->dynamic) {
            auto d = scenarios_.GetDynamicConnection(req.team, bound->id);
            if (!d) {
                return fail_init(m->id, Fail(errors::kAccountValidation,
                                             who + ": dynamic connection " + std::to_string(bound->id) +
                                                 (d.error().code == core::Errc::kNotFound ? " does not exist"
                                                                                          : ": " + d.error().detail)));
            }
            used.dynamic_id = d->id;
            // The member: the scenario input the binding names (a connection id or a label), else the default.
            std::string input;
            if (const auto* c = m->parameters.if_contains("__IMTCONN__"); c && c->is_object()) {
                if (const auto* in = c->as_object().if_contains("input"); in && in->is_string()) {
                    input = std::string(in->as_string());
                }
            }
            std::string chosen;
            if (!input.empty()) {
                if (const auto* v = req.inputs.if_contains(input); v && !v->is_null()) chosen = request_spec::Text(*v);
            }
            const store::DynamicMember* member = nullptr;
            for (const auto& mem : d->members) {
                if (!chosen.empty() && (mem.label == chosen || std::to_string(mem.connection_id.value()) == chosen)) {
                    member = &mem;
                }
            }
            if (chosen.empty()) {
                for (const auto& mem : d->members) {
                    if (mem.connection_id == d->default_connection) member = &mem;
                }
            }
            if (!member) {
                return fail_init(m->id,
                                 Fail(errors::kAccountValidation,
                                      who + ": dynamic connection '" + d->name + "' has " +
                                          (chosen.empty() ? "no default member"
                                                          : "no member '" + chosen + "' (input " + input + ")")));
            }
            connection_id = member->connection_id.value();
            used.label = member->label;
        }
        used.connection_id = connection_id;
        auto it = st.resolved.find(connection_id);
        if (it == st.resolved.end()) {
            auto r = connections_.ResolveForRun(req.team, core::ConnectionId(connection_id));
            if (!r) {
                return fail_init(m->id,
                                 Fail(errors::kAccountValidation,
                                      who + ": " + (r.error().detail.empty() ? r.error().message : r.error().detail)));
            }
            it = st.resolved.emplace(connection_id, std::move(*r)).first;
        }
        const connections::ResolvedConnection& c = it->second;
        const std::string label = "connection '" + c.row.name + "' (" + std::to_string(connection_id) + ")";
        if (!info.connection_type.empty() && c.row.type != info.connection_type) {
            return fail_init(
                m->id, Fail(errors::kAccountValidation, who + " needs a connection of type " + info.connection_type +
                                                            "; " + label + " is of type " + c.row.type));
        }
        if (info.connection_type.empty() && c.type->app != info.connection_app) {
            return fail_init(
                m->id, Fail(errors::kAccountValidation, who + " needs a connection of the " + info.connection_app +
                                                            " app; " + label + " belongs to " + c.type->app));
        }
        const auto granted = connections::ScopeList(c.row.scopes_json);
        const std::set<std::string> have(granted.begin(), granted.end());
        std::vector<std::string> missing;
        for (const auto& s : info.scope) {
            if (!have.contains(s)) missing.push_back(s);
        }
        if (!missing.empty()) {
            std::string list;
            for (const auto& s : missing) list += (list.empty() ? "" : ", ") + s;
            return fail_init(m->id,
                             Fail(errors::kAccountValidation, label + " lacks the scope(s) " + list + " that " + who +
                                                                  " needs; reauthorize it with these scopes"));
        }
        st.connection_of[m->id] = connection_id;
        result.connections.push_back(std::move(used));
    }
    // Masks every secret of every connection of the run (rebuilt when a refresh brings a new token).
    auto build_sanitizer = [&] {
        // One connection whose resolve came from the cache: its sanitizer was built with the entry.
        if (st.resolved.size() == 1 && st.resolved.begin()->second.sanitizer) {
            st.env.sanitizer = st.resolved.begin()->second.sanitizer;
            return;
        }
        std::vector<core::Secret> secrets;
        for (const auto& [id, c] : st.resolved) {
            connections::CollectCredentialSecrets(*c.type, c.credentials.parameters, c.credentials.data, secrets);
        }
        st.env.sanitizer = std::make_shared<http_client::Sanitizer>(std::move(secrets));
    };
    build_sanitizer();

    // 2. The flow.
    json::object root;
    root["var"] = json::object{{"input", req.inputs},
                               {"scenario", json::object{{"id", req.scenario_id}, {"name", req.scenario_name}}},
                               {"execution", json::object{{"id", req.execution_id}}},
                               {"team", json::object{{"id", req.team.value()}}}};

    // Walks one flow from index i with the bundles so far in `root`. `end`/`collect`: stop before index `end` and
    // hand the root to the aggregator collecting there. `path` locates the flow for a stored resume.
    std::function<void(const std::vector<ModuleNode>&, std::size_t, std::size_t, json::object, std::vector<int>,
                       std::vector<json::object>*)>
        walk;

    auto ctx_of = [&](const json::object& r) {
        iml::Context ctx;
        ctx.root = &r;
        ctx.clock = &clock_;
        ctx.random = &random_;
        return ctx;
    };
    auto clean = [&](const std::string& s) { return st.env.sanitizer->Text(s); };
    auto log_entry = [&](const ModuleNode& m, const json::value& input, const ModuleOutcome* out,
                         const std::optional<Failure>& f, int ops) {
        json::object e(8);  // room for every key below: no rehash while it is filled
        e["moduleId"] = m.id;
        e["module"] = m.module;
        e["operations"] = ops;
        if (auto c = st.connection_of.find(m.id); c != st.connection_of.end()) {
            e["connectionId"] = c->second;
            for (const auto& u : result.connections) {
                if (u.module_id == m.id && u.dynamic_id) {
                    e["dynamicConnectionId"] = u.dynamic_id;
                    e["label"] = u.label;
                }
            }
        }
        if (!req.confidential) {
            e["input"] = json::value(Cut(clean(json::serialize(input)), options_.max_log_entry_bytes));
            if (out) {
                // The bundles as a JSON array, serialised one by one rather than copied into an array first.
                std::string bundles = "[";
                for (const auto& b : out->bundles) {
                    if (bundles.size() > 1) bundles += ',';
                    bundles += json::serialize(b);
                }
                bundles += ']';
                e["output"] = json::value(Cut(clean(bundles), options_.max_log_entry_bytes));
                if (!out->requests.empty()) e["requests"] = out->requests;
            }
        }
        if (f) e["error"] = json::object{{"type", f->type}, {"message", clean(f->message)}};
        result.log.push_back(std::move(e));
    };
    auto stop_with = [&](ExecutionStatus s, std::int64_t module_id, const Failure& f) {
        st.stopped = true;
        if (s == ExecutionStatus::kError) result.status = ExecutionStatus::kError;
        if (!f.type.empty() && (s == ExecutionStatus::kError || result.error.type.empty())) {
            result.error = f;
            result.error_module_id = module_id;
        }
    };

    // Runs one module once for one bundle (with retries); the outcome's bundles are its outputs.
    auto run_module = [&](const ModuleNode& m, const json::object& r, ModuleOutcome& out, json::value& input) {
        const ModuleInfo& info = st.info.at(m.id);
        ModuleCall call;
        call.node = &m;
        call.definition = info.definition;
        call.parameters = m.parameters;
        call.parameters.erase("__IMTCONN__");
        if (auto t = req.scenario->mappers.find(m.id); t != req.scenario->mappers.end()) {
            auto rendered = t->second.Render(ctx_of(r));
            if (!rendered) {
                out.failure = Fail(errors::kBundleValidation,
                                   clean("mapping of module " + std::to_string(m.id) + ": " + rendered.error().detail));
                return;
            }
            call.mapped = std::move(*rendered);
            if (call.mapped.is_object()) {
                for (const auto& [k, v] : call.mapped.as_object()) call.parameters[k] = v;
            }
        }
        input = call.parameters;
        if (auto c = st.connection_of.find(m.id); c != st.connection_of.end()) {
            call.connection = &st.resolved.at(c->second);
        }
        if (auto cur = req.cursors.find(m.id); cur != req.cursors.end()) call.cursor = cur->second;
        call.env = &st.env;
        auto backoff = options_.backoff;
        bool refreshed = false;
        for (int attempt = 1;; ++attempt) {
            if (info.native && info.native->blocks) {
                out = core::RunBlockingFor([&] { return info.native->run(call); });
            } else if (info.native) {
                out = info.native->run(call);
            } else if (info.api_call_app) {
                out = RunApiCall(call, *info.api_call_app);
            } else {
                out = RunAppModule(call);
            }
            if (!out.failure) return;
            // An OAuth token refused with 401: refresh once and try again with the new token.
            if (out.refused_credentials && !refreshed && call.connection && call.connection->type->IsOAuth()) {
                refreshed = true;
                const std::int64_t id = call.connection->row.id.value();
                auto fresh =
                    connections_.ResolveForRun(req.team, call.connection->row.id, call.connection->row.version);
                if (fresh && fresh->row.version != call.connection->row.version) {
                    st.resolved[id] = std::move(*fresh);
                    call.connection = &st.resolved.at(id);
                    build_sanitizer();
                    --attempt;
                    continue;
                }
                return;
            }
            if (!Retryable(*out.failure) || attempt >= options_.max_attempts) return;
            auto wait = backoff;
            if (out.failure->retry_after_ms) {
                if (std::chrono::milliseconds(*out.failure->retry_after_ms) > options_.max_inline_wait) return;
                wait = std::max(wait, std::chrono::milliseconds(*out.failure->retry_after_ms));
            }
            const auto until = std::chrono::steady_clock::now() + wait;
            while (std::chrono::steady_clock::now() < until) {
                if (req.cancelled && req.cancelled()) return;
                core::SleepFor(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(20),
                                                                             until - std::chrono::steady_clock::now()));
            }
            backoff *= 2;
        }
    };

    // An error of module m for the bundle in r: its handler decides. Returns the bundles to continue with
    // (Resume), or nullopt to stop this bundle.
    auto handle_error = [&](const ModuleNode& m, const json::object& r, const Failure& f, const std::vector<int>& path,
                            std::size_t index) -> std::optional<std::vector<json::value>> {
        if (f.type == errors::kAccountValidation) {
            stop_with(ExecutionStatus::kError, m.id, f);
            return std::nullopt;
        }
        const ModuleNode* directive = nullptr;
        json::object hr = r;
        hr["error"] = json::object{{"type", f.type}, {"message", f.message}};
        if (!m.onerror.empty()) {
            // Modules before the directive run first (e.g. a notification), each once for this bundle.
            for (const auto& h : m.onerror) {
                if (IsDirective(h.module)) {
                    directive = &h;
                    break;
                }
                ModuleOutcome out;
                json::value input;
                run_module(h, hr, out, input);
                ++result.operations;
                log_entry(h, input, &out, out.failure, 1);
                if (out.failure) break;
                if (!out.bundles.empty()) hr[std::to_string(h.id)] = out.bundles.front();
            }
        }
        const std::string d = directive ? directive->module : "";
        auto resume_point = [&] {
            std::vector<int> p = path;
            p.push_back(static_cast<int>(index));
            json::array jp;
            for (int x : p) jp.push_back(x);
            return json::object{{"path", std::move(jp)}, {"root", r}, {"moduleId", m.id}};
        };
        if (d == "builtin:Ignore") return std::nullopt;
        if (d == "builtin:Resume") {
            json::value fallback = json::object{};
            if (auto t = req.scenario->mappers.find(directive->id); t != req.scenario->mappers.end()) {
                auto rendered = t->second.Render(ctx_of(hr));
                if (rendered) fallback = std::move(*rendered);
            }
            if (!fallback.is_object()) fallback = json::object{{"value", fallback}};
            return std::vector<json::value>{std::move(fallback)};
        }
        if (d == "builtin:Commit") {
            st.stopped = true;
            return std::nullopt;
        }
        if (d == "builtin:Break" || (d.empty() && bp.settings.dlq)) {
            IncompleteRun inc;
            inc.resume = resume_point();
            inc.error = f;
            inc.module_id = m.id;
            if (directive) {
                const auto& p = directive->parameters;
                if (const auto* retry = p.if_contains("retry"); retry && !request_spec::Truthy(*retry)) inc.retries = 0;
                if (const auto* c = p.if_contains("count"); c && c->is_number()) {
                    inc.retries = std::clamp(static_cast<int>(c->to_number<double>()), 0, 100);
                }
                if (const auto* i = p.if_contains("interval"); i && i->is_number()) {
                    inc.interval_ms =
                        std::clamp<std::int64_t>(static_cast<std::int64_t>(i->to_number<double>()), 1, 10'080) * 60'000;
                }
            } else {
                inc.retries = 0;  // dlq without Break: kept for a manual retry
            }
            result.incomplete.push_back(std::move(inc));
            st.warning = true;
            if (result.error.type.empty()) {
                result.error = f;
                result.error_module_id = m.id;
            }
            return std::nullopt;
        }
        // Rollback, explicit or by default.
        stop_with(ExecutionStatus::kError, m.id, f);
        return std::nullopt;
    };

    walk = [&](const std::vector<ModuleNode>& flow, std::size_t i, std::size_t end, json::object r,
               std::vector<int> path, std::vector<json::object>* collect) {
        if (st.stopped) return;
        if (i == end && collect) {
            collect->push_back(std::move(r));
            return;
        }
        if (i >= flow.size()) return;
        const ModuleNode& m = flow[i];
        if (req.cancelled && req.cancelled()) {
            stop_with(ExecutionStatus::kError, m.id, Fail(errors::kRuntime, "the server stopped during the run"));
            return;
        }
        if (m.filter) {
            auto pass = Evaluate(*m.filter, ctx_of(r));
            if (!pass) {
                stop_with(ExecutionStatus::kError, m.id,
                          Fail(errors::kBundleValidation,
                               clean("filter of module " + std::to_string(m.id) + ": " + pass.error().detail)));
                return;
            }
            if (!*pass) return;
        }
        if (m.module == kRouter) {
            for (std::size_t k = 0; k < m.routes.size() && !st.stopped; ++k) {
                std::vector<int> p = path;
                p.push_back(static_cast<int>(i));
                p.push_back(static_cast<int>(k));
                walk(m.routes[k].flow, 0, SIZE_MAX, r, p, nullptr);
            }
            return;
        }
        if (m.module == kAggregator) return;  // reached only through its source (below)
        if (++st.module_runs > options_.max_bundles) {
            stop_with(ExecutionStatus::kError, m.id,
                      Fail(errors::kRuntime, "the run exceeded " + std::to_string(options_.max_bundles) +
                                                 " module runs; check iterators and triggers"));
            return;
        }
        ModuleOutcome out;
        json::value input;
        run_module(m, r, out, input);
        const int ops = 1;
        result.operations += ops;
        log_entry(m, input, &out, out.failure, ops);
        std::vector<json::value> bundles = std::move(out.bundles);
        if (out.response && !result.response) result.response = std::move(out.response);
        if (out.cursor) result.cursors[m.id] = *out.cursor;
        if (out.failure) {
            auto resumed = handle_error(m, r, *out.failure, path, i);
            if (!resumed) return;
            bundles = std::move(*resumed);
        }
        // An aggregator later in this flow whose source is this module collects every bundle that reaches it.
        std::size_t agg = SIZE_MAX;
        for (std::size_t k = i + 1; k < flow.size(); ++k) {
            if (flow[k].module != kAggregator) continue;
            const auto* feeder = flow[k].parameters.if_contains("feeder");
            if (feeder && feeder->is_number() && feeder->to_number<std::int64_t>() == m.id) {
                agg = k;
                break;
            }
        }
        const std::string key = std::to_string(m.id);
        if (agg == SIZE_MAX) {
            for (std::size_t b = 0; b < bundles.size(); ++b) {
                if (st.stopped) return;
                // The last bundle (usually the only one) takes the root over instead of copying it: r is not
                // used after this loop.
                json::object next = b + 1 == bundles.size() ? std::move(r) : json::object(r);
                next[key] = std::move(bundles[b]);
                walk(flow, i + 1, end, std::move(next), path, collect);
            }
            return;
        }
        std::vector<json::object> collected;
        for (auto& b : bundles) {
            if (st.stopped) return;
            json::object next = r;
            next[key] = std::move(b);
            walk(flow, i + 1, agg, std::move(next), path, &collected);
        }
        if (st.stopped) return;
        const ModuleNode& a = flow[agg];
        json::array items;
        for (const auto& c : collected) {
            json::value item = c.contains(key) ? c.at(key) : json::value(nullptr);
            if (auto t = req.scenario->mappers.find(a.id); t != req.scenario->mappers.end()) {
                auto rendered = t->second.Render(ctx_of(c));
                if (!rendered) {
                    stop_with(ExecutionStatus::kError, a.id,
                              Fail(errors::kBundleValidation, clean("mapping of module " + std::to_string(a.id) + ": " +
                                                                    rendered.error().detail)));
                    return;
                }
                item = std::move(*rendered);
            }
            items.push_back(std::move(item));
        }
        json::object aggregated{{"array", items}, {"__IMTAGGLENGTH__", static_cast<std::int64_t>(items.size())}};
        ++result.operations;
        ModuleOutcome agg_out;
        agg_out.bundles.push_back(aggregated);
        log_entry(a, json::object{{"bundles", static_cast<std::int64_t>(items.size())}}, &agg_out, std::nullopt, 1);
        json::object next = std::move(r);  // not used after this
        next[std::to_string(a.id)] = std::move(aggregated);
        walk(flow, agg + 1, end, std::move(next), path, collect);
    };

    if (req.resume) {
        // Continue a stored incomplete run at its module, with the bundles it had then. The module is found by its
        // id, not by its stored position: the blueprint may have been edited since (a fix before the retry), and a
        // position would then name another module (re-running earlier modules, or skipping the failed one).
        const json::object& resume = *req.resume;
        const json::value* module_id = resume.if_contains("moduleId");
        const json::value* saved = resume.if_contains("root");
        const std::vector<ModuleNode>* flow = nullptr;
        std::vector<int> prefix;
        std::size_t index = 0;
        if (module_id && module_id->is_int64() && saved && saved->is_object()) {
            flow = LocateInFlow(bp.flow, module_id->as_int64(), prefix, index);
        }
        if (!flow) {
            return fail_init(module_id && module_id->is_int64() ? module_id->as_int64() : 0,
                             Fail(errors::kInvalidConfiguration,
                                  "the incomplete execution no longer matches the scenario's blueprint: module " +
                                      (module_id ? json::serialize(*module_id) : std::string("?")) +
                                      " is not in its flow any more"));
        }
        json::object r = saved->as_object();
        r["var"] = root["var"];
        walk(*flow, index, SIZE_MAX, std::move(r), prefix, nullptr);
    } else {
        walk(bp.flow, 0, SIZE_MAX, std::move(root), {}, nullptr);
    }

    if (result.status != ExecutionStatus::kError) {
        result.status =
            st.warning || !result.incomplete.empty() ? ExecutionStatus::kWarning : ExecutionStatus::kSuccess;
    }
    return std::move(result);
}

}  // namespace switchboard::engine
