#pragma once
#include <string>

namespace switchboard::vault {

// A credential set as the vault sealed it; stored as-is on the connection row.
struct SealedData {
    std::string key_id;       // id of the master key that wraps the data key
    std::string wrapped_key;  // base64: the connection's data key, sealed under the master key
    std::string ciphertext;   // base64: the credential set, sealed under the data key
};

}  // namespace switchboard::vault
