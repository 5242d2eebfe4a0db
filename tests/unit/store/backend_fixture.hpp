#pragma once
// The storage suites run every case against both backends: SQLite in a fresh temp dir and PostgreSQL in a fresh
// database on the shared test server (which fails the test, not skips it, when PostgreSQL is not installed).
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/db.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

namespace switchboard::store::testing {

inline std::string Describe(const core::Error& e) {
    return std::string(core::ErrcName(e.code)) + ": " + e.message + (e.detail.empty() ? "" : " (" + e.detail + ")");
}

// Unwraps a result or aborts the test with the error's code and detail.
template <class T>
T Must(core::Result<T> r) {
    if (!r) throw std::runtime_error("unexpected error: " + Describe(r.error()));
    return std::move(*r);
}
inline void Must(const core::Result<void>& r) {
    if (!r) throw std::runtime_error("unexpected error: " + Describe(r.error()));
}

template <class T>
::testing::AssertionResult IsError(const core::Result<T>& r, core::Errc code) {
    if (r.has_value()) return ::testing::AssertionFailure() << "succeeded, expected " << core::ErrcName(code);
    if (r.error().code != code) {
        return ::testing::AssertionFailure()
               << "failed with " << Describe(r.error()) << ", expected " << core::ErrcName(code);
    }
    return ::testing::AssertionSuccess();
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class BackendTest : public ::testing::TestWithParam<Backend> {
  protected:
    void SetUp() override {
        if (GetParam() == Backend::kSqlite) {
            url_ = "sqlite:" + dir_.file("switchboard.db");
        } else {
            url_ = switchboard::testing::PostgresServer::Shared().CreateDatabase("store");
        }
    }

    // A new Db on this test's database (several may be open at once, like several processes).
    std::unique_ptr<Db> Open(int pool_size = 4) { return Must(OpenDb(url_, pool_size)); }

    switchboard::testing::TempDir dir_;
    std::string url_;
    core::ManualClock clock_;
};

}  // namespace switchboard::store::testing
