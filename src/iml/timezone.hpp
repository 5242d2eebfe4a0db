#pragma once
// Time zones for formatDate/parseDate: "UTC", fixed offsets ("+02:00", "-0530") and IANA names read from the
// system's compiled tz database (/usr/share/zoneinfo, TZif v2+ with its POSIX-rule footer). Loaded zones are
// immutable and cached for the life of the process; lookups are thread-safe.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace switchboard::iml {

// A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"): the part of a zone past its last listed transition.
struct PosixTzRule {
    struct Transition {
        enum class Kind { kMonthWeekDay, kJulianNoLeap, kJulianZeroBased } kind = Kind::kMonthWeekDay;
        int month = 0, week = 0, weekday = 0, day = 0;
        std::int32_t time = 2 * 3600;  // seconds after local midnight
    };
    std::int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    std::int32_t dst_offset = 0;
    Transition start, end;

    static std::unique_ptr<PosixTzRule> Parse(std::string_view text);
    std::int32_t OffsetAt(std::int64_t utc_seconds) const;
};

class TimeZone {
  public:
    // kInvalidArgument when the name is malformed or no such zone exists.
    static core::Result<std::shared_ptr<const TimeZone>> Find(std::string_view name);
    static const TimeZone& Utc();
    // The zone described by raw TZif bytes (exposed for tests); kInvalidArgument when they are malformed.
    static core::Result<std::shared_ptr<const TimeZone>> FromTzif(std::string name, std::string_view bytes);

    TimeZone() = default;  // UTC

    const std::string& name() const { return name_; }
    // Seconds east of UTC in effect at the given instant.
    std::int32_t OffsetAt(std::int64_t utc_seconds) const;
    // The UTC instant of a local wall-clock time (the earlier one when a DST change repeats it).
    std::int64_t LocalToUtc(std::int64_t local_seconds) const;

  private:
    std::string name_ = "UTC";
    std::vector<std::int64_t> transitions_;    // UTC seconds, ascending
    std::vector<std::int32_t> offsets_after_;  // offset in effect from transitions_[i]
    std::int32_t initial_offset_ = 0;
    std::unique_ptr<PosixTzRule> rule_;  // after the last transition; may be null
};

// "+02:00", "-0530", "+05", "Z" → seconds east of UTC.
std::optional<std::int32_t> ParseUtcOffset(std::string_view text);

}  // namespace switchboard::iml
