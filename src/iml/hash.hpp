#pragma once
// Message digests and HMAC for md5()/sha1()/sha256()/sha512(). SHA-2 comes from libsodium; MD5 and SHA-1
// (which libsodium lacks) are implemented here and only ever used for these non-security-critical template
// functions.
#include <string>
#include <string_view>

namespace switchboard::iml {

enum class HashAlgorithm { kMd5, kSha1, kSha256, kSha512 };

// Raw digest bytes.
std::string Digest(HashAlgorithm algorithm, std::string_view data);
// RFC 2104 HMAC, raw bytes.
std::string Hmac(HashAlgorithm algorithm, std::string_view key, std::string_view data);

}  // namespace switchboard::iml
