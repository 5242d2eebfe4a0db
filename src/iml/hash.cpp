#include "iml/hash.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>

namespace switchboard::iml {

namespace {

std::uint32_t RotateLeft(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

// Appends the 0x80 terminator, zero padding and the bit length (little- or big-endian) to whole 64-byte blocks.
std::string Pad(std::string_view data, bool big_endian) {
    std::string padded(data);
    padded.push_back(static_cast<char>(0x80));
    while (padded.size() % 64 != 56) padded.push_back('\0');
    const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
    for (int i = 0; i < 8; ++i) {
        const int shift = big_endian ? (7 - i) * 8 : i * 8;
        padded.push_back(static_cast<char>((bits >> shift) & 0xFF));
    }
    return padded;
}

std::string Md5(std::string_view data) {
    static constexpr std::array<std::uint32_t, 64> kK = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
    static constexpr std::array<int, 16> kShift = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
    std::uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const std::string padded = Pad(data, false);
    for (std::size_t chunk = 0; chunk < padded.size(); chunk += 64) {
        std::uint32_t m[16];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const unsigned char*>(padded.data() + chunk + i * 4);
            m[i] = std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
                   (std::uint32_t{p[3]} << 24);
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t f = 0;
            int g = 0;
            if (i < 16) {
                f = (b & c) | (~b & d);
                g = i;
            } else if (i < 32) {
                f = (d & b) | (~d & c);
                g = (5 * i + 1) % 16;
            } else if (i < 48) {
                f = b ^ c ^ d;
                g = (3 * i + 5) % 16;
            } else {
                f = c ^ (b | ~d);
                g = (7 * i) % 16;
            }
            f = f + a + kK[i] + m[g];
            a = d;
            d = c;
            c = b;
            b = b + RotateLeft(f, kShift[(i / 16) * 4 + i % 4]);
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
    }
    std::string out;
    for (std::uint32_t word : h) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((word >> (i * 8)) & 0xFF));
    }
    return out;
}

std::string Sha1(std::string_view data) {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const std::string padded = Pad(data, true);
    for (std::size_t chunk = 0; chunk < padded.size(); chunk += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const unsigned char*>(padded.data() + chunk + i * 4);
            w[i] = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f = 0, k = 0;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            const std::uint32_t temp = RotateLeft(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = RotateLeft(b, 30);
            b = a;
            a = temp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::string out;
    for (std::uint32_t word : h) {
        for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((word >> (i * 8)) & 0xFF));
    }
    return out;
}

void EnsureSodium() {
    static const bool kReady = sodium_init() >= 0;
    (void)kReady;
}

std::size_t BlockSize(HashAlgorithm algorithm) { return algorithm == HashAlgorithm::kSha512 ? 128 : 64; }

}  // namespace

std::string Digest(HashAlgorithm algorithm, std::string_view data) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    switch (algorithm) {
        case HashAlgorithm::kMd5:
            return Md5(data);
        case HashAlgorithm::kSha1:
            return Sha1(data);
        case HashAlgorithm::kSha256: {
            EnsureSodium();
            unsigned char out[crypto_hash_sha256_BYTES];
            crypto_hash_sha256(out, bytes, data.size());
            return std::string(reinterpret_cast<const char*>(out), sizeof out);
        }
        case HashAlgorithm::kSha512: {
            EnsureSodium();
            unsigned char out[crypto_hash_sha512_BYTES];
            crypto_hash_sha512(out, bytes, data.size());
            return std::string(reinterpret_cast<const char*>(out), sizeof out);
        }
    }
    return {};
}

std::string Hmac(HashAlgorithm algorithm, std::string_view key, std::string_view data) {
    const std::size_t block = BlockSize(algorithm);
    std::string k = key.size() > block ? Digest(algorithm, key) : std::string(key);
    k.resize(block, '\0');
    std::string inner(block, '\0');
    std::string outer(block, '\0');
    for (std::size_t i = 0; i < block; ++i) {
        inner[i] = static_cast<char>(k[i] ^ 0x36);
        outer[i] = static_cast<char>(k[i] ^ 0x5c);
    }
    inner.append(data);
    outer += Digest(algorithm, inner);
    return Digest(algorithm, outer);
}

}  // namespace switchboard::iml
