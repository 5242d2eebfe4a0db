#pragma once
// Envelope encryption of credential sets (libsodium XChaCha20-Poly1305 IETF).
//
// Seal: a fresh 32-byte data key encrypts the plaintext; the active master key wraps the data key. Both
// ciphertexts are bound by associated data to (team id, connection id, version), and the wrap also to the key
// id, so a ciphertext copied onto another row, another team or another version fails to open.
// Rewrap: opens the data key with its old master key and wraps it under the active one; the data
// ciphertext is untouched (rotation never needs the plaintext).
#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"
#include "core/secret.hpp"
#include "vault/key_ring.hpp"
#include "vault/sealed_data.hpp"

namespace switchboard::vault {

struct Binding {
    core::TeamId team;
    core::ConnectionId connection;
    std::int64_t version = 0;
};

class Vault {
  public:
    Vault(KeyRing& ring, core::Random& random) : ring_(ring), random_(random) {}

    core::Result<SealedData> Seal(const Binding& binding, const core::Secret& plaintext);
    // kNotFound when the master key id is not in the ring; kPermissionDenied ("cannot be opened") when
    // authentication fails (wrong key, tampered or moved ciphertext); kInvalidArgument for malformed fields.
    core::Result<core::Secret> Open(const Binding& binding, const SealedData& sealed);
    // Re-wraps the data key under the active master key. Unchanged (same key id) when already active.
    core::Result<SealedData> Rewrap(const Binding& binding, const SealedData& sealed);

    KeyRing& ring() { return ring_; }

  private:
    core::Result<core::Secret> UnwrapKey(const Binding& binding, const SealedData& sealed);
    std::string WrapKey(const Binding& binding, const std::string& key_id, const core::Secret& kek,
                        const core::Secret& dek);

    KeyRing& ring_;
    core::Random& random_;
};

}  // namespace switchboard::vault
