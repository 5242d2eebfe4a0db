#pragma once
// The composition root's objects: opened database (migrated), key ring, vault and services.
#include <memory>

#include "accounts/account_service.hpp"
#include "app/config.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "store/store.hpp"
#include "vault/key_ring.hpp"
#include "vault/vault.hpp"

namespace switchboard::app {

struct Runtime {
    core::SystemClock clock;
    core::SodiumRandom random;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<vault::KeyRing> keys;
    std::unique_ptr<vault::Vault> vault;
    std::unique_ptr<accounts::AccountService> accounts;
};

enum class KeyPolicy {
    kNone,          // the command needs no master key (migrate)
    kLoad,          // the key must exist
    kLoadOrCreate,  // first start: create the key file, but only while the database holds no data
};

// Creates the data directory (0700) for SQLite, opens and migrates the database, loads the master key
// according to policy and checks it against the key ids the database uses. Errors name what to do.
core::Result<std::unique_ptr<Runtime>> OpenRuntime(const Config& config, KeyPolicy policy);

}  // namespace switchboard::app
