#pragma once
// Dates for the IML date functions. A date travels through templates as an ISO 8601 text in UTC with
// milliseconds ("2024-03-01T09:30:00.000Z"); inside, it is milliseconds since the Unix epoch. Formats use
// Make's (moment.js) tokens: YYYY-MM-DD HH:mm:ss, Do, MMMM, dddd, Z, X, x, [literal], ...
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace switchboard::iml {

class TimeZone;

// The range of a JavaScript Date: ±100,000,000 days around the epoch.
inline constexpr std::int64_t kMaxDateMillis = 8'640'000'000'000'000;

struct CivilDate {
    std::int64_t year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
};

std::int64_t DaysFromCivil(std::int64_t year, int month, int day);
CivilDate CivilFromDays(std::int64_t days);
int WeekdayFromDays(std::int64_t days);  // 0 = Sunday
bool IsLeapYear(std::int64_t year);
int DaysInMonth(std::int64_t year, int month);

// ISO 8601 ("2024-03-01", "2024-03-01T10:00", "2024-03-01 10:00:30.5+02:00") or RFC 2822 ("Fri, 01 Mar 2024
// 10:00:00 +0000") text as epoch milliseconds. Text without an offset is wall-clock time in `tz`.
std::optional<std::int64_t> ParseDateText(std::string_view text, const TimeZone& tz);
// "2024-03-01T09:30:00.000Z" (years outside 0..9999 as ±YYYYYY, as JavaScript does).
std::string FormatIsoMillis(std::int64_t millis);

// Formats with moment.js tokens in `tz`. kInvalidArgument only for a format that is too long.
core::Result<std::string> FormatDate(std::int64_t millis, std::string_view format, const TimeZone& tz);
// Parses `text` laid out as `format` (moment.js tokens, moment's forgiving mode: text after the last token is
// ignored). Year, month and day missing from the front of the format default to today's (`now_millis` in
// `tz`), as moment does. kInvalidArgument when the text does not match.
core::Result<std::int64_t> ParseDateWithFormat(std::string_view text, std::string_view format, const TimeZone& tz,
                                               std::int64_t now_millis);

// Calendar month arithmetic in UTC; the day is clamped to the target month's length (Jan 31 + 1 = Feb 29).
std::optional<std::int64_t> AddMonths(std::int64_t millis, std::int64_t months);

}  // namespace switchboard::iml
