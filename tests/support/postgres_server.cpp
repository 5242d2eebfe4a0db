#include "support/postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace switchboard::testing {

namespace {

namespace fs = std::filesystem;

constexpr const char* kInstallHint =
    "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. "
    "The storage tests run against a real PostgreSQL server: install it (Debian: apt-get install postgresql).";

// The bin directory of the highest installed major version, or "" when none is installed.
std::string FindBinDir() {
    std::error_code ec;
    int best_version = -1;
    std::string best;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); })) {
            continue;
        }
        const fs::path bin = entry.path() / "bin";
        if (!fs::exists(bin / "initdb", ec) || !fs::exists(bin / "pg_ctl", ec)) continue;
        const int version = std::stoi(name);
        if (version > best_version) {
            best_version = version;
            best = bin.string();
        }
    }
    return best;
}

struct CommandResult {
    int exit_code = -1;
    std::string output;
};

// Runs argv (as the 'postgres' user when `as_postgres`), output captured to `log_path`, working directory `cwd`
// (PostgreSQL tools complain when they cannot read their working directory).
CommandResult Run(std::vector<std::string> argv, bool as_postgres, const std::string& cwd,
                  const std::string& log_path) {
    if (as_postgres) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);

    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        const int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd >= 0) {
            dup2(null_fd, STDIN_FILENO);
            close(null_fd);
        }
        if (chdir(cwd.c_str()) != 0) _exit(126);
        execvp(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error("waitpid failed");
    }
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.output = ReadFile(log_path);
    return result;
}

std::string Join(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

int FreeLoopbackPort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        throw std::runtime_error("cannot bind a free port on 127.0.0.1");
    }
    close(fd);
    return ntohs(addr.sin_port);
}

// Runs one statement on the server's maintenance database; throws with the server's message on failure.
void RunAdminStatement(int port, const std::string& sql) {
    const std::string uri = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
    PGconn* conn = PQconnectdb(uri.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("cannot connect to the test PostgreSQL server: " + message);
    }
    PGresult* res = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    const std::string message = PQerrorMessage(conn);
    PQclear(res);
    PQfinish(conn);
    if (!ok) throw std::runtime_error("test PostgreSQL server: " + sql + ": " + message);
}

std::mutex& CounterMutex() {
    static std::mutex m;
    return m;
}

}  // namespace

PostgresServer& PostgresServer::Shared() {
    // Started on first use; the static's destructor (run at exit) stops the server and removes its folder.
    static PostgresServer server;
    return server;
}

PostgresServer::PostgresServer() {
    const std::string bin = FindBinDir();
    if (bin.empty()) throw std::runtime_error(kInstallHint);

    const bool as_postgres = geteuid() == 0;
    // As root, the server runs as 'postgres', which must be able to reach its folder: /tmp always allows that.
    const std::string base = as_postgres ? std::string("/tmp") : fs::temp_directory_path().string();
    std::string tmpl = base + "/switchboard-pg-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + base);
    root_ = tmpl;
    data_dir_ = root_ + "/data";
    const std::string log = root_ + "/server.log";
    const std::string command_log = root_ + "/command.log";

    bool started = false;
    try {
        if (as_postgres) {
            const passwd* pw = getpwnam("postgres");
            if (pw == nullptr) {
                throw std::runtime_error(
                    "running as root, the test PostgreSQL server needs a 'postgres' system user (install postgresql)");
            }
            if (chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("chown " + root_ + " failed");
        }

        const std::vector<std::string> initdb = {bin + "/initdb", "-D",        data_dir_, "-A",   "trust",     "-U",
                                                 "postgres",      "--no-sync", "-E",      "UTF8", "--locale=C"};
        auto init = Run(initdb, as_postgres, root_, command_log);
        if (init.exit_code != 0) {
            throw std::runtime_error("initdb failed (" + Join(initdb) + "):\n" + init.output);
        }

        std::string last_error;
        for (int attempt = 0; attempt < 5 && !started; ++attempt) {
            port_ = FreeLoopbackPort();
            const std::string options = "-k '" + root_ + "' -h 127.0.0.1 -p " + std::to_string(port_) +
                                        " -c fsync=off -c listen_addresses=127.0.0.1";
            const std::vector<std::string> start = {
                bin + "/pg_ctl", "-D", data_dir_, "-l", log, "-w", "-t", "60", "-o", options, "start"};
            auto result = Run(start, as_postgres, root_, command_log);
            if (result.exit_code == 0) {
                started = true;
            } else {
                last_error =
                    "pg_ctl start failed (" + Join(start) + "):\n" + result.output + "\nserver log:\n" + ReadFile(log);
                // A port taken between our probe and the server's bind: try another one.
                Run({bin + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "stop"}, as_postgres, root_, command_log);
            }
        }
        if (!started) throw std::runtime_error(last_error);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(root_, ec);
        throw;
    }
}

PostgresServer::~PostgresServer() {
    const std::string bin = FindBinDir();
    if (!bin.empty()) {
        try {
            Run({bin + "/pg_ctl", "-D", data_dir_, "-m", "immediate", "stop"}, geteuid() == 0, root_,
                root_ + "/command.log");
        } catch (const std::exception&) {
            // Nothing sensible to do at exit; the folder is removed below either way.
        }
    }
    std::error_code ec;
    fs::remove_all(root_, ec);
}

std::string PostgresServer::CreateDatabase(const std::string& name_prefix) {
    std::string prefix;
    for (char c : name_prefix) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '_') prefix += static_cast<char>(std::tolower(u));
    }
    if (prefix.empty() || std::isdigit(static_cast<unsigned char>(prefix[0]))) prefix = "t" + prefix;
    prefix = prefix.substr(0, 40);
    int n = 0;
    {
        std::lock_guard<std::mutex> lock(CounterMutex());
        n = ++counter_;
    }
    const std::string name = prefix + "_" + std::to_string(n);
    RunAdminStatement(port_, "CREATE DATABASE \"" + name + "\"");
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

void PostgresServer::Checkpoint() { RunAdminStatement(port_, "CHECKPOINT"); }

PostgresServer::PasswordLogin PostgresServer::CreatePasswordLogin(const std::string& name_prefix) {
    PasswordLogin login;
    const std::string db = CreateDatabase(name_prefix);
    login.database = db.substr(db.rfind('/') + 1);
    login.role = login.database + "_role";
    // Letters and digits only, so the literal below needs no quoting.
    static constexpr char kAlphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::random_device random;
    for (int i = 0; i < 24; ++i) login.password += kAlphabet[random() % (sizeof kAlphabet - 1)];
    RunAdminStatement(port_, "CREATE ROLE \"" + login.role + "\" LOGIN PASSWORD '" + login.password + "'");
    RunAdminStatement(port_, "ALTER DATABASE \"" + login.database + "\" OWNER TO \"" + login.role + "\"");
    {
        // pg_hba.conf is read top-down: this line precedes initdb's trust lines.
        std::lock_guard<std::mutex> lock(CounterMutex());
        const std::string hba = data_dir_ + "/pg_hba.conf";
        const std::string rules = ReadFile(hba);
        std::ofstream out(hba, std::ios::trunc);
        out << "host all " << login.role << " 127.0.0.1/32 scram-sha-256\n" << rules;
    }
    RunAdminStatement(port_, "SELECT pg_reload_conf()");
    // The reload is asynchronous: wait until a wrong password is refused.
    const std::string wrong =
        "postgresql://" + login.role + ":wrong@127.0.0.1:" + std::to_string(port_) + "/" + login.database;
    for (int i = 0; i < 100; ++i) {
        PGconn* conn = PQconnectdb(wrong.c_str());
        const bool refused = PQstatus(conn) != CONNECTION_OK;
        PQfinish(conn);
        if (refused) return login;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("test PostgreSQL server: pg_hba.conf reload did not take effect");
}

}  // namespace switchboard::testing
