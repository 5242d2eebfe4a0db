#pragma once
// Secret: a credential value that cannot be logged or serialised by accident.
// - No operator<<, no fmt formatter, no boost::json conversion: printing one is a compile error.
// - The bytes are wiped (sodium_memzero) on destruction and before reassignment.
// - Equality is constant-time.
// The only way to the bytes is Reveal(), which call sites use to hand them to a cipher, a hash or the wire.
#include <cstddef>
#include <string>
#include <string_view>

namespace switchboard::core {

class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    Secret(const Secret& other) : value_(other.value_) {}
    Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.Wipe(); }
    Secret& operator=(const Secret& other);
    Secret& operator=(Secret&& other) noexcept;
    ~Secret() { Wipe(); }

    std::string_view Reveal() const { return value_; }
    bool empty() const { return value_.empty(); }
    std::size_t size() const { return value_.size(); }

    // Constant time in the length of the longer value.
    bool Equals(const Secret& other) const { return Equals(other.value_); }
    bool Equals(std::string_view other) const;
    friend bool operator==(const Secret& a, const Secret& b) { return a.Equals(b); }

  private:
    void Wipe() noexcept;
    std::string value_;
};

}  // namespace switchboard::core
