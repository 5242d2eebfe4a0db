#pragma once
// Injectable randomness. Production uses the OS CSPRNG through libsodium; tests may pass a seeded one.
#include <cstdint>
#include <string>

namespace switchboard::core {

class Random {
  public:
    virtual ~Random() = default;
    virtual void Fill(unsigned char* out, std::size_t n) = 0;
    std::string Bytes(std::size_t n);
    // n random bytes as unpadded URL-safe base64.
    std::string Token(std::size_t n);
};

class SodiumRandom final : public Random {
  public:
    SodiumRandom();
    void Fill(unsigned char* out, std::size_t n) override;
};

// Deterministic (splitmix64) for tests only: never use for keys in production.
class SeededRandom final : public Random {
  public:
    explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
    void Fill(unsigned char* out, std::size_t n) override;

  private:
    std::uint64_t state_;
};

}  // namespace switchboard::core
