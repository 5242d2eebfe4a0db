// The vault's envelope encryption (XChaCha20-Poly1305): sealing happens when a connection is created or edited,
// opening on every use of a connection by a run (ResolveForRun opens the credential set per run today).
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "bench_runtime.hpp"
#include "connections/credential_store.hpp"
#include "vault/vault.hpp"

namespace {

namespace json = boost::json;
using switchboard::core::Secret;
using switchboard::vault::Binding;
using switchboard::vault::Vault;

// The workload's credential set (http-apikey), and an OAuth 2 one (client + access and refresh tokens), which is
// the larger typical case.
Secret CredentialSet(int which) {
    if (which == 0) {
        return Secret(switchboard::connections::CredentialJson(
            json::object{{"apiKey", "test-key-123"}, {"apiKeyIn", "header"}, {"apiKeyName", "X-Api-Key"}}, {}));
    }
    return Secret(switchboard::connections::CredentialJson(
        json::object{{"clientId", "1234567890-abcdefghijklmnop.apps.example.com"},
                     {"clientSecret", "GOCSPX-abcdefghijklmnopqrstuvwxyz12"},
                     {"scope", json::array{"openid", "email", "https://www.example.com/auth/drive.readonly"}}},
        json::object{{"accessToken", std::string(180, 'a')},
                     {"refreshToken", std::string(103, 'r')},
                     {"expires", "2030-01-01T00:00:00.000Z"},
                     {"tokenType", "Bearer"},
                     {"scope", "openid email https://www.example.com/auth/drive.readonly"}}));
}

// The vault `serve` uses: the master key file of the benchmark runtime's data directory.
Vault& TheVault() { return *switchboard::bench::BenchRuntime::Get().rt().vault; }

const Binding kBinding{switchboard::core::TeamId(1), switchboard::core::ConnectionId(42), 3};

void BM_VaultSeal(benchmark::State& state) {
    const Secret plaintext = CredentialSet(static_cast<int>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(TheVault().Seal(kBinding, plaintext));
    state.SetLabel(state.range(0) == 0 ? "http-apikey set" : "oauth2 set");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plaintext.size()));
}
BENCHMARK(BM_VaultSeal)->Arg(0)->Arg(1);

void BM_VaultOpen(benchmark::State& state) {
    const Secret plaintext = CredentialSet(static_cast<int>(state.range(0)));
    const auto sealed = TheVault().Seal(kBinding, plaintext);
    if (!sealed) switchboard::bench::Die("seal: " + sealed.error().detail);
    for (auto _ : state) benchmark::DoNotOptimize(TheVault().Open(kBinding, *sealed));
    state.SetLabel(state.range(0) == 0 ? "http-apikey set" : "oauth2 set");
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * plaintext.size()));
}
BENCHMARK(BM_VaultOpen)->Arg(0)->Arg(1);

// Opening plus parsing into the {parameters, data} objects: what ResolveForRun does after reading the row.
void BM_VaultOpenAndParseCredentialSet(benchmark::State& state) {
    const auto sealed = TheVault().Seal(kBinding, CredentialSet(0));
    if (!sealed) switchboard::bench::Die("seal: " + sealed.error().detail);
    for (auto _ : state) {
        auto opened = TheVault().Open(kBinding, *sealed);
        benchmark::DoNotOptimize(switchboard::connections::ParseCredentialSet(*opened));
    }
}
BENCHMARK(BM_VaultOpenAndParseCredentialSet);

}  // namespace
