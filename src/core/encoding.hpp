#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::core {

std::string Base64Encode(std::string_view bytes);  // standard alphabet, padded
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);  // URL-safe, unpadded
std::string HexEncode(std::string_view bytes);
// SHA-256 (libsodium) of the input, hex-encoded.
std::string Sha256Hex(std::string_view data);

}  // namespace switchboard::core
