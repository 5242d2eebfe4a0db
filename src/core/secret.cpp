#include "core/secret.hpp"

#include <sodium.h>

namespace switchboard::core {

void Secret::Wipe() noexcept {
    if (!value_.empty()) sodium_memzero(value_.data(), value_.size());
    value_.clear();
}

Secret& Secret::operator=(const Secret& other) {
    if (this != &other) {
        Wipe();
        value_ = other.value_;
    }
    return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        Wipe();
        value_ = std::move(other.value_);
        other.Wipe();
    }
    return *this;
}

bool Secret::Equals(std::string_view other) const {
    // Compare over the longer length so the time does not reveal where the values differ.
    const std::size_t n = std::max(value_.size(), other.size());
    unsigned char diff = static_cast<unsigned char>(value_.size() != other.size());
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char a = i < value_.size() ? static_cast<unsigned char>(value_[i]) : 0;
        const unsigned char b = i < other.size() ? static_cast<unsigned char>(other[i]) : 0;
        diff |= static_cast<unsigned char>(a ^ b);
    }
    return diff == 0;
}

}  // namespace switchboard::core
