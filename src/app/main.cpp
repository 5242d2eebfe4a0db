// switchboard: serve | migrate | token create | keys rotate | run | app validate. See docs/cli.md.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/commands.hpp"
#include "app/config.hpp"
#include "catalog/validate_cli.hpp"

using namespace switchboard;

namespace {

// The settings every command shares; each also reads its SWITCHBOARD_* variable (CLI11: flag > env).
void AddCommonOptions(CLI::App& cmd, app::RawSettings& raw) {
    cmd.add_option("--config", raw.config_file, "Config file of `key = value` lines")->envname("SWITCHBOARD_CONFIG");
    cmd.add_option("--data-dir", raw.data_dir, "Data directory (default ./data)")->envname("SWITCHBOARD_DATA_DIR");
    cmd.add_option("--database", raw.database, "sqlite:PATH or postgres://… (default sqlite:<data-dir>/switchboard.db)")
        ->envname("SWITCHBOARD_DATABASE");
    cmd.add_option("--master-key-file", raw.master_key_file, "Master key file (default <data-dir>/master.key)")
        ->envname("SWITCHBOARD_MASTER_KEY_FILE");
    cmd.add_option("--log-level", raw.log_level, "trace|debug|info|warn|error|off (default info)")
        ->envname("SWITCHBOARD_LOG_LEVEL");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"Switchboard: self-hosted automation platform"};
    cli.set_version_flag("--version", std::string("switchboard ") + SWITCHBOARD_VERSION);
    cli.require_subcommand(1);

    app::RawSettings raw;
    auto* serve = cli.add_subcommand("serve", "Start the API server");
    AddCommonOptions(*serve, raw);
    serve->add_option("--listen", raw.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)")
        ->envname("SWITCHBOARD_LISTEN");
    serve->add_option("--public-url", raw.public_url, "URL users and OAuth providers reach this server at")
        ->envname("SWITCHBOARD_PUBLIC_URL");
    serve->add_option("--apps-dir", raw.apps_dir, "Folder of operator app definitions")
        ->envname("SWITCHBOARD_APPS_DIR");
    serve
        ->add_option(
            "--oauth-clients", raw.oauth_clients,
            "JSON file of operator OAuth clients per app: {\"google\": {\"clientId\": …, \"clientSecret\": …}}")
        ->envname("SWITCHBOARD_OAUTH_CLIENTS");
    serve->add_option("--workers", raw.workers, "Execution worker threads (default 2)")->envname("SWITCHBOARD_WORKERS");
    serve->add_flag_callback(
        "--allow-private-network", [&raw] { raw.allow_private_network = "true"; },
        "Allow outbound requests to private and loopback addresses");

    auto* migrate = cli.add_subcommand("migrate", "Apply database migrations and exit");
    AddCommonOptions(*migrate, raw);

    auto* token = cli.add_subcommand("token", "API tokens");
    token->require_subcommand(1);
    auto* token_create = token->add_subcommand("create", "Create a user/team/membership if missing and a token");
    AddCommonOptions(*token_create, raw);
    std::string email, team, role = "admin";
    token_create->add_option("--email", email, "The user's email")->required();
    token_create->add_option("--team", team, "Team name")->required();
    token_create->add_option("--role", role, "admin|member|operator|monitoring (default admin)")
        ->check(CLI::IsMember({"admin", "member", "operator", "monitoring"}));

    auto* keys = cli.add_subcommand("keys", "Master keys");
    keys->require_subcommand(1);
    auto* rotate = keys->add_subcommand("rotate", "Add a new master key and re-wrap every data key (online)");
    AddCommonOptions(*rotate, raw);

    auto* user = cli.add_subcommand("user", "Users");
    user->require_subcommand(1);
    auto* user_password = user->add_subcommand("password", "Set a user's password (read from standard input)");
    AddCommonOptions(*user_password, raw);
    std::string password_email;
    user_password->add_option("--email", password_email, "The user's email")->required();

    auto* run = cli.add_subcommand("run", "Run a blueprint once and print the execution as JSON");
    AddCommonOptions(*run, raw);
    app::RunCommandArgs run_args;
    run->add_option("blueprint", run_args.file, "Blueprint file (JSON)")->required();
    run->add_option("--input", run_args.inputs, "Scenario input NAME=VALUE (repeatable)");
    run->add_option("--connection", run_args.connections, "MODULE_ID=CONNECTION_ID (repeatable)");
    run->add_option("--team", run_args.team, "Team name (default: the only team)");
    run->add_option("--data", run_args.data, "JSON payload for the trigger (e.g. a webhook's body)");
    run->add_flag_callback(
        "--allow-private-network", [&raw] { raw.allow_private_network = "true"; },
        "Allow outbound requests to private and loopback addresses");

    auto* app_cmd = cli.add_subcommand("app", "App definitions");
    app_cmd->require_subcommand(1);
    auto* validate =
        app_cmd->add_subcommand("validate", "Check app definition files; every problem with its JSON path");
    std::vector<std::string> app_files;
    validate->add_option("files", app_files, "App definition files (JSON)")->required();

    CLI11_PARSE(cli, argc, argv);
    if (*validate) return catalog::RunAppValidate(app_files, std::cout, std::cerr);

    // The flag is a callback, so its environment variable is read here (flag > env).
    if (!raw.allow_private_network) {
        if (const char* v = std::getenv("SWITCHBOARD_ALLOW_PRIVATE_NETWORK")) raw.allow_private_network = v;
    }
    auto config = app::ResolveConfig(raw);
    if (!config) return app::Fail(config.error());

    if (*serve) return app::RunServe(*config);
    if (*migrate) return app::RunMigrate(*config);
    if (*token_create) return app::RunTokenCreate(*config, email, team, *store::ParseRole(role));
    if (*rotate) return app::RunKeysRotate(*config);
    if (*run) return app::RunBlueprint(*config, run_args);
    if (*user_password) return app::RunUserPassword(*config, password_email);
    return 2;
}
