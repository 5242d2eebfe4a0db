#include "vault/vault.hpp"

#include <sodium.h>

#include "core/encoding.hpp"

namespace switchboard::vault {

using core::Result;
using core::Secret;

namespace {

constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::string DataAd(const Binding& b) {
    return "switchboard/v1/data|team=" + std::to_string(b.team.value()) +
           "|connection=" + std::to_string(b.connection.value()) + "|version=" + std::to_string(b.version);
}

std::string KeyAd(const Binding& b, const std::string& key_id) {
    return "switchboard/v1/key|team=" + std::to_string(b.team.value()) +
           "|connection=" + std::to_string(b.connection.value()) + "|version=" + std::to_string(b.version) +
           "|kid=" + key_id;
}

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// nonce || ciphertext+tag, base64.
std::string Encrypt(core::Random& random, std::string_view plaintext, const std::string& ad, const Secret& key) {
    std::string out(kNonce + plaintext.size() + kTag, '\0');
    auto* buf = reinterpret_cast<unsigned char*>(out.data());
    random.Fill(buf, kNonce);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + kNonce, &clen, U(plaintext), plaintext.size(), U(ad), ad.size(),
                                               nullptr, buf, U(key.Reveal()));
    out.resize(kNonce + clen);
    return core::Base64Encode(out);
}

Result<Secret> Decrypt(std::string_view b64, const std::string& ad, const Secret& key) {
    auto raw = core::Base64Decode(b64);
    if (!raw || raw->size() < kNonce + kTag) return core::InvalidArgument("sealed data is malformed");
    std::string plain(raw->size() - kNonce - kTag, '\0');
    unsigned long long plen = 0;
    const auto* buf = U(*raw);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr,
                                                   buf + kNonce, raw->size() - kNonce, U(ad), ad.size(), buf,
                                                   U(key.Reveal())) != 0) {
        return core::Error::Make(core::Errc::kPermissionDenied, "Cannot open credentials",
                                 "sealed data cannot be opened (wrong key, or data moved or tampered with)");
    }
    plain.resize(plen);
    return Secret(std::move(plain));
}

}  // namespace

std::string Vault::WrapKey(const Binding& binding, const std::string& key_id, const Secret& kek, const Secret& dek) {
    return Encrypt(random_, dek.Reveal(), KeyAd(binding, key_id), kek);
}

Result<Secret> Vault::UnwrapKey(const Binding& binding, const SealedData& sealed) {
    auto kek = ring_.Get(sealed.key_id);
    if (!kek) return kek.error();
    return Decrypt(sealed.wrapped_key, KeyAd(binding, sealed.key_id), *kek);
}

Result<SealedData> Vault::Seal(const Binding& binding, const Secret& plaintext) {
    Secret dek(random_.Bytes(kKeyBytes));
    auto [key_id, kek] = ring_.Active();
    SealedData out;
    out.key_id = key_id;
    out.wrapped_key = WrapKey(binding, key_id, kek, dek);
    out.ciphertext = Encrypt(random_, plaintext.Reveal(), DataAd(binding), dek);
    return out;
}

Result<Secret> Vault::Open(const Binding& binding, const SealedData& sealed) {
    auto dek = UnwrapKey(binding, sealed);
    if (!dek) return dek.error();
    if (dek->size() != kKeyBytes) return core::InvalidArgument("data key has the wrong size");
    return Decrypt(sealed.ciphertext, DataAd(binding), *dek);
}

Result<SealedData> Vault::Rewrap(const Binding& binding, const SealedData& sealed) {
    auto [key_id, kek] = ring_.Active();
    if (sealed.key_id == key_id) return sealed;
    auto dek = UnwrapKey(binding, sealed);
    if (!dek) return dek.error();
    SealedData out = sealed;
    out.key_id = key_id;
    out.wrapped_key = WrapKey(binding, key_id, kek, *dek);
    return out;
}

}  // namespace switchboard::vault
