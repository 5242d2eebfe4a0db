#pragma once
// Strong ids: a TeamId cannot be passed where a ConnectionId is expected.
#include <compare>
#include <cstdint>
#include <functional>

namespace switchboard::core {

template <class Tag>
class StrongId {
  public:
    constexpr StrongId() = default;
    constexpr explicit StrongId(std::int64_t v) : value_(v) {}
    constexpr std::int64_t value() const { return value_; }
    constexpr bool valid() const { return value_ > 0; }
    constexpr auto operator<=>(const StrongId&) const = default;

  private:
    std::int64_t value_ = 0;
};

using TeamId = StrongId<struct TeamTag>;
using UserId = StrongId<struct UserTag>;
using ConnectionId = StrongId<struct ConnectionTag>;
using TokenId = StrongId<struct TokenTag>;

}  // namespace switchboard::core

template <class Tag>
struct std::hash<switchboard::core::StrongId<Tag>> {
    std::size_t operator()(const switchboard::core::StrongId<Tag>& id) const noexcept {
        return std::hash<std::int64_t>{}(id.value());
    }
};
