#include "core/random.hpp"

#include <sodium.h>

#include <stdexcept>

#include "core/encoding.hpp"

namespace switchboard::core {

std::string Random::Bytes(std::size_t n) {
    std::string out(n, '\0');
    Fill(reinterpret_cast<unsigned char*>(out.data()), n);
    return out;
}

std::string Random::Token(std::size_t n) { return Base64UrlEncode(Bytes(n)); }

SodiumRandom::SodiumRandom() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

void SodiumRandom::Fill(unsigned char* out, std::size_t n) { randombytes_buf(out, n); }

void SeededRandom::Fill(unsigned char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        out[i] = static_cast<unsigned char>(z ^ (z >> 31));
    }
}

}  // namespace switchboard::core
