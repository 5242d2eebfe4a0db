#include "app/commands.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/api.hpp"
#include "api/error_body.hpp"
#include "app/runtime.hpp"
#include "core/log.hpp"
#include "http_server/server.hpp"

namespace switchboard::app {

int Fail(const core::Error& e) {
    std::cerr << "switchboard: " << e.message;
    if (!e.detail.empty() && e.detail != e.message) std::cerr << ": " << e.detail;
    std::cerr << std::endl;
    return e.code == core::Errc::kInvalidArgument ? 2 : 1;
}

namespace {

constexpr const char* kFirstAdminEmail = "admin@switchboard.local";
constexpr const char* kFirstTeam = "My team";

// First start: an admin user, a team and a one-time API token, printed (never logged).
core::Result<void> FirstStart(Runtime& rt, const Config& config) {
    auto users = rt.store->CountUsers();
    if (!users) return users.error();
    if (*users > 0) return {};
    auto boot = rt.accounts->EnsureUserTeamToken(kFirstAdminEmail, kFirstTeam, store::Role::kAdmin, "first start");
    if (!boot) return boot.error();
    auto link = rt.accounts->CreatePasswordLink(boot->user.id);
    if (!link) return link.error();
    std::cout << "\nFirst start: created user " << boot->user.email << " (admin of team \"" << boot->team.name
              << "\", id " << boot->team.id.value() << ").\n"
              << "Open this one-time link within 24 hours to choose the admin's password and sign in:\n\n"
              << "  " << config.public_url << "/setup?token=" << link->Reveal() << "\n\n"
              << "Sign in to the API with this one-time API token (it is shown only now):\n\n"
              << "  " << boot->token.token.Reveal() << "\n\n"
              << "  curl -H 'Authorization: Token " << boot->token.token.Reveal() << "' " << config.public_url
              << "/api/v2/users/me\n\n"
              << "More tokens: switchboard token create --email you@example.com --team \"" << boot->team.name << "\"\n"
              << std::endl;
    return {};
}

}  // namespace

int RunServe(const Config& config) {
    core::SetupLogging(config.log_level);
    auto rt = OpenRuntime(config, KeyPolicy::kLoadOrCreate);
    if (!rt) return Fail((rt.error()));
    if (auto f = FirstStart(**rt, config); !f) return Fail(f.error());

    for (const auto& line : (*rt)->catalog_report.Lines()) spdlog::warn("app catalog: {}", line);
    spdlog::info("app catalog: {} apps loaded", (*rt)->catalog_report.LoadedCount());
    api::Metrics metrics;
    api::ApiDeps deps{*(*rt)->store,
                      *(*rt)->accounts,
                      metrics,
                      (*rt)->connections.get(),
                      (*rt)->scenarios.get(),
                      (*rt)->executor.get(),
                      config.public_url.rfind("https://", 0) == 0,
                      WebDir(),
                      (*rt)->catalog.get()};
    http_server::ServerOptions options;
    options.host = config.listen_host;
    options.port = config.listen_port;
    // Webhook runs as fibers on the I/O threads (http_server/server.hpp): their store waits are group commits, which
    // a fiber waits for without its thread; a PostgreSQL round trip would hold the thread, so not there.
    options.cooperative_runs = config.is_sqlite();
    http_server::Server server(
        options, api::BuildRouter(deps), [](const core::Error& e) { return api::ErrorResponse(e); },
        [&metrics](const http_server::RequestRecord& r) {
            metrics.Record(r.method, r.route, r.status, r.seconds);
            // Route patterns, not raw paths: paths can carry ids and tokens; query strings are never logged.
            spdlog::info("access method={} route={} status={} bytes={} ms={:.3f} remote={}", r.method,
                         r.route.empty() ? "unmatched" : r.route, r.status, r.response_bytes, r.seconds * 1000.0,
                         r.remote_address);
        });
    if (auto s = server.Start(); !s) return Fail(s.error());
    const std::string host =
        config.listen_host.find(':') != std::string::npos ? "[" + config.listen_host + "]" : config.listen_host;
    std::cout << "Switchboard listening on http://" << host << ":" << server.port() << std::endl;
    spdlog::info("listening on {}:{} (database {}, public URL {})", host, server.port(),
                 config.is_sqlite() ? config.database : std::string("postgres"), config.public_url);
    (*rt)->executor->Start();
    // The token refresher: renews OAuth access tokens before they expire, on every node (leases keep it to one
    // refresh per connection at a time).
    std::mutex refresher_mutex;
    std::condition_variable refresher_cv;
    bool stopping = false;
    std::thread refresher([&] {
        std::unique_lock lock(refresher_mutex);
        while (!refresher_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
            lock.unlock();
            try {
                (*rt)->connections->RefreshDueConnections();
            } catch (const std::exception& e) {
                spdlog::error("token refresher: {}", e.what());
            }
            lock.lock();
        }
    });
    server.WaitForShutdownSignal();
    {
        std::lock_guard lock(refresher_mutex);
        stopping = true;
    }
    refresher_cv.notify_all();
    refresher.join();
    (*rt)->executor->Stop();
    spdlog::info("stopped");
    return 0;
}

int RunMigrate(const Config& config) {
    core::SetupLogging(config.log_level);
    auto rt = OpenRuntime(config, KeyPolicy::kNone);
    if (!rt) return Fail(rt.error());
    auto v = (*rt)->store->SchemaVersion();
    if (!v) return Fail(v.error());
    std::cout << "database schema at version " << *v << std::endl;
    return 0;
}

int RunTokenCreate(const Config& config, const std::string& email, const std::string& team, store::Role role) {
    core::SetupLogging("warn");
    auto rt = OpenRuntime(config, KeyPolicy::kLoadOrCreate);
    if (!rt) return Fail(rt.error());
    auto boot = (*rt)->accounts->EnsureUserTeamToken(email, team, role, "cli");
    if (!boot) return Fail(boot.error());
    std::cout << "user " << boot->user.email << " (id " << boot->user.id.value() << ") is " << store::RoleName(role)
              << " of team \"" << boot->team.name << "\" (id " << boot->team.id.value() << ")\n"
              << boot->token.token.Reveal() << std::endl;
    return 0;
}

int RunUserPassword(const Config& config, const std::string& email) {
    core::SetupLogging("warn");
    auto rt = OpenRuntime(config, KeyPolicy::kNone);
    if (!rt) return Fail(rt.error());
    // The password comes from standard input (first line), never from the command line.
    std::string line;
    if (!std::getline(std::cin, line)) {
        std::cerr << "switchboard user password: give the password on standard input" << std::endl;
        return 2;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    core::Secret password(std::move(line));
    if (auto r = (*rt)->accounts->SetPassword(email, password); !r) return Fail(r.error());
    std::cout << "password set for " << email << "; their other sessions are signed out" << std::endl;
    return 0;
}

int RunKeysRotate(const Config& config) {
    core::SetupLogging(config.log_level);
    auto rt = OpenRuntime(config, KeyPolicy::kLoad);
    if (!rt) return Fail(rt.error());
    Runtime& r = **rt;
    auto new_id = r.keys->Rotate(r.random);
    if (!new_id) return Fail(new_id.error());
    std::cout << "new master key " << *new_id << " is active; re-wrapping data keys" << std::endl;
    std::int64_t rewrapped = 0, current = 0, raced = 0, failed = 0;
    core::ConnectionId after{0};
    for (;;) {
        auto page = r.store->ListAllConnectionsForRewrap(after, 500);
        if (!page) return Fail(page.error());
        if (page->empty()) break;
        for (const auto& c : *page) {
            after = c.id;
            if (c.sealed.key_id.empty() || c.sealed.key_id == *new_id) {
                ++current;
                continue;
            }
            auto wrapped = r.vault->Rewrap({c.team_id, c.id, c.version}, c.sealed);
            if (!wrapped) {
                ++failed;
                spdlog::error("connection {} cannot be re-wrapped: {}", c.id.value(), wrapped.error().detail);
                continue;
            }
            auto done =
                r.store->RewrapConnectionKey(c.id, c.version, c.sealed.key_id, wrapped->key_id, wrapped->wrapped_key);
            if (!done) return Fail(done.error());
            // A false fence means the connection was edited meanwhile: the edit sealed it afresh.
            ++(*done ? rewrapped : raced);
        }
    }
    store::AuditEvent e;
    e.action = "keys.rotate";
    e.target = "key:" + *new_id;
    e.detail_json = "{\"rewrapped\":" + std::to_string(rewrapped) + ",\"failed\":" + std::to_string(failed) + "}";
    (void)r.store->AppendAudit(e);
    std::cout << "re-wrapped " << rewrapped << " data keys (" << current << " already current, " << raced
              << " edited meanwhile, " << failed << " could not be opened)" << std::endl;
    return failed == 0 ? 0 : 1;
}

}  // namespace switchboard::app
