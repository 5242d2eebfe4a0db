#pragma once
// What one module run is given and what it gives back, and the registry of modules implemented in C++
// (built-ins such as gateway:CustomWebHook, and apps whose modules are not HTTP requests). Modules defined by an
// app's JSON (`communication`) run through app_module.hpp instead.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/app.hpp"
#include "connections/connection_service.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "engine/blueprint.hpp"
#include "http_client/http_client.hpp"
#include "http_client/sanitizer.hpp"

namespace switchboard::engine {

// Make's error types (docs/scenarios.md, "Errors").
namespace errors {
inline constexpr std::string_view kAccountValidation = "AccountValidationError";
inline constexpr std::string_view kConnection = "ConnectionError";
inline constexpr std::string_view kRateLimit = "RateLimitError";
inline constexpr std::string_view kData = "DataError";
inline constexpr std::string_view kBundleValidation = "BundleValidationError";
inline constexpr std::string_view kRuntime = "RuntimeError";
inline constexpr std::string_view kInvalidConfiguration = "InvalidConfigurationError";
inline constexpr std::string_view kModuleTimeout = "ModuleTimeoutError";
inline constexpr std::string_view kIncompleteData = "IncompleteDataError";
inline constexpr std::string_view kDuplicateData = "DuplicateDataError";
}  // namespace errors

struct Failure {
    Failure() = default;
    Failure(std::string_view t, std::string m) : type(t), message(std::move(m)) {}
    std::string type;                            // one of errors::*
    std::string message;                         // sanitised, for the execution log and API
    std::optional<std::int64_t> retry_after_ms;  // RateLimitError: the app's Retry-After
};

// Shared by every module of one run.
struct RunEnv {
    const core::Clock* clock = nullptr;
    core::Random* random = nullptr;
    http_client::HttpClient* http = nullptr;
    // Masks every secret of every connection the run resolved.
    std::shared_ptr<const http_client::Sanitizer> sanitizer;
    std::optional<boost::json::value> trigger_bundle;  // the webhook's payload, for gateway:CustomWebHook
    std::string timezone = "UTC";
    std::chrono::milliseconds request_timeout{40'000};
    std::function<bool()> cancelled;  // true when the server is stopping: long waits end early
};

struct ModuleCall {
    const ModuleNode* node = nullptr;
    const catalog::Module* definition = nullptr;  // the app's definition; null for built-in modules
    boost::json::object parameters;               // static parameters with the rendered mapper over them
    boost::json::value mapped;                    // the rendered mapper alone (null when the module has none)
    const connections::ResolvedConnection* connection = nullptr;  // null when the module uses none
    std::optional<std::string> cursor;  // polling triggers: the cursor stored by the previous run
    RunEnv* env = nullptr;
};

struct ModuleOutcome {
    std::vector<boost::json::value> bundles;  // output bundles (objects); may be empty
    std::optional<Failure> failure;
    std::optional<boost::json::object> response;  // gateway:WebhookRespond: {status, headers, body}
    std::optional<std::string> cursor;            // polling triggers: the new cursor to store with the run
    boost::json::array requests;                  // sanitised records of the HTTP calls made
    bool refused_credentials = false;             // the app answered 401 (the token may be stale)
};

using NativeModuleFn = std::function<ModuleOutcome(ModuleCall&)>;

struct NativeModule {
    std::string name;  // "app:module"
    catalog::ModuleType type = catalog::ModuleType::kAction;
    std::string connection_app;      // the module takes a connection of this app ("" = none)
    std::vector<std::string> scope;  // scopes it needs
    NativeModuleFn run;
    // run blocks its thread on I/O (a library's blocking client): in a fiber, the runner calls it on a thread that
    // may block (core::RunBlocking). Modules whose I/O goes through http_client wait cooperatively already.
    bool blocks = false;
};

class ModuleRegistry {
  public:
    // The built-in modules (gateway, http, json, util, builtin directives/router/feeder/aggregator).
    static ModuleRegistry WithBuiltins();
    void Add(NativeModule m);
    const NativeModule* Find(std::string_view name) const;

  private:
    std::map<std::string, NativeModule, std::less<>> modules_;
};

// Names of the flow-control modules the runner handles itself.
inline constexpr std::string_view kRouter = "builtin:BasicRouter";
inline constexpr std::string_view kFeeder = "builtin:BasicFeeder";
inline constexpr std::string_view kAggregator = "builtin:BasicAggregator";
inline constexpr std::string_view kWebhook = "gateway:CustomWebHook";
inline constexpr std::string_view kWebhookRespond = "gateway:WebhookRespond";
bool IsDirective(std::string_view module);  // builtin:Ignore, Resume, Break, Rollback, Commit

// The universal "Make an API call" module every app has: "<app>:makeApiCall".
inline constexpr std::string_view kApiCallModule = "makeApiCall";

// Failure of an HTTP answer by status: 401/403 AccountValidationError (when a connection was used), 429
// RateLimitError (with Retry-After), 5xx ConnectionError, 400/404/422 DataError, other 4xx RuntimeError.
Failure FailureForStatus(int status, std::string message, bool with_connection,
                         const http_client::Response* response = nullptr);
// Failure of a transport error (timeout, connection refused): ConnectionError / ModuleTimeoutError.
Failure FailureForTransport(const core::Error& e, const http_client::Sanitizer* sanitizer);

}  // namespace switchboard::engine
