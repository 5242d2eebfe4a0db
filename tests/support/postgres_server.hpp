#pragma once
// A real PostgreSQL server for tests: initdb into a temp folder, a free port on 127.0.0.1, started with
// pg_ctl and stopped (and the folder removed) on destruction. When the process runs as root, initdb and
// postgres run as the 'postgres' system user (PostgreSQL refuses to run as root).
//
// One server per test binary is enough: use PostgresServer::Shared(), which starts on first use and stops
// at exit. Each test creates its own database with CreateDatabase() to stay independent.
#include <memory>
#include <string>

namespace switchboard::testing {

class PostgresServer {
  public:
    static PostgresServer& Shared();
    ~PostgresServer();

    int port() const { return port_; }
    // A new, empty database; returns its libpq URI ("postgresql://postgres@127.0.0.1:PORT/NAME").
    std::string CreateDatabase(const std::string& name_prefix = "t");
    // A login role whose password the server really checks (scram-sha-256 from 127.0.0.1; the server's other
    // logins stay trust), owning a new, empty database of its own.
    struct PasswordLogin {
        std::string role;
        std::string password;
        std::string database;
    };
    PasswordLogin CreatePasswordLogin(const std::string& name_prefix = "app");
    // The data directory (tests scan the table files for leaked secrets).
    const std::string& data_dir() const { return data_dir_; }
    // Forces a checkpoint so table bytes are on disk.
    void Checkpoint();

  private:
    PostgresServer();
    std::string root_;
    std::string data_dir_;
    int port_ = 0;
    int counter_ = 0;
};

}  // namespace switchboard::testing
