#include "engine/schedule.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <memory>
#include <string_view>

#include "iml/dates.hpp"
#include "iml/timezone.hpp"

namespace switchboard::engine {

namespace json = boost::json;

namespace {

constexpr std::int64_t kMinIntervalSeconds = 60;
constexpr std::int64_t kMaxIntervalSeconds = 10LL * 366 * 86400;
constexpr std::int64_t kDayMs = 86'400'000;
// How far ahead NextRun looks for a calendar match: ten years covers every Feb 29 (2096 → 2104 is eight).
constexpr std::int64_t kSearchDays = 10 * 366;
// Runs happen between years 0 and 9999; instants outside have no next run.
constexpr std::int64_t kEarliestMs = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
constexpr std::int64_t kLatestMs = 253'402'300'799'999;    // 9999-12-31T23:59:59.999Z
constexpr std::size_t kMaxCronLength = 256;

struct TypeName {
    Schedule::Type type;
    std::string_view name;
};
constexpr TypeName kTypeNames[] = {
    {Schedule::Type::kOnDemand, "on-demand"},    {Schedule::Type::kImmediately, "immediately"},
    {Schedule::Type::kInterval, "indefinitely"}, {Schedule::Type::kOnce, "once"},
    {Schedule::Type::kDaily, "daily"},           {Schedule::Type::kWeekly, "weekly"},
    {Schedule::Type::kMonthly, "monthly"},       {Schedule::Type::kCron, "cron"},
};

core::Error At(std::string_view field, std::string_view what) {
    return core::InvalidArgument("scheduling." + std::string(field) + ": " + std::string(what));
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::optional<std::int64_t> AsInteger(const json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(v.get_uint64());
    }
    return std::nullopt;
}

std::optional<int> ParseInt(std::string_view s) {
    if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    int n = 0;
    std::from_chars(s.data(), s.data() + s.size(), n);
    return n;
}

// "08:30" or "8:30" → minutes after midnight.
std::optional<int> ParseTimeOfDay(std::string_view s) {
    const auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() - colon - 1 != 2) return std::nullopt;
    auto h = ParseInt(s.substr(0, colon));
    auto m = ParseInt(s.substr(colon + 1));
    if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
    return *h * 60 + *m;
}

std::string FormatTimeOfDay(int minute_of_day) {
    std::string out;
    const int h = minute_of_day / 60, m = minute_of_day % 60;
    out += static_cast<char>('0' + h / 10);
    out += static_cast<char>('0' + h % 10);
    out += ':';
    out += static_cast<char>('0' + m / 10);
    out += static_cast<char>('0' + m % 10);
    return out;
}

// ISO 8601 text (wall-clock time in `tz` when it has no offset) or milliseconds since 1970.
core::Result<std::int64_t> ParseInstant(const json::value& v, std::string_view field, const iml::TimeZone& tz) {
    std::optional<std::int64_t> ms;
    if (v.is_string()) {
        ms = iml::ParseDateText(v.get_string(), tz);
    } else {
        ms = AsInteger(v);
    }
    if (!ms) return At(field, "must be an ISO 8601 date, e.g. 2026-12-01T08:00:00Z");
    if (*ms < kEarliestMs || *ms > kLatestMs) return At(field, "must be between the years 0 and 9999");
    return *ms;
}

// ---- cron ----

constexpr std::string_view kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct CronField {
    std::string_view name;
    int min, max;
    const std::string_view* names;  // value min + i for names[i]
    std::size_t name_count;
};

constexpr CronField kMinuteField{"minute", 0, 59, nullptr, 0};
constexpr CronField kHourField{"hour", 0, 23, nullptr, 0};
constexpr CronField kDomField{"day of month", 1, 31, nullptr, 0};
constexpr CronField kMonthField{"month", 1, 12, kMonthNames, 12};
constexpr CronField kDowField{"day of week", 0, 7, kDayNames, 7};  // 7 is Sunday too

std::optional<int> CronValue(std::string_view s, const CronField& f) {
    if (auto n = ParseInt(s)) {
        if (*n < f.min || *n > f.max) return std::nullopt;
        return *n;
    }
    if (s.size() != 3) return std::nullopt;
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::size_t i = 0; i < f.name_count; ++i) {
        if (f.names[i] == lower) return f.min + static_cast<int>(i);
    }
    return std::nullopt;
}

// One field ("*/15", "1-5", "MON-FRI", "0,30", "10-50/10") into a bit set; `star` is Vixie's flag: the field
// starts with '*', which decides how the two day fields combine.
core::Result<void> ParseCronField(std::string_view text, const CronField& f, std::uint64_t& bits, bool& star) {
    auto fail = [&](std::string_view what) {
        return At("cron", std::string(f.name) + " field '" + std::string(text) + "': " + std::string(what));
    };
    bits = 0;
    star = !text.empty() && text.front() == '*';
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = std::min(text.find(',', pos), text.size());
        const std::string_view item = text.substr(pos, comma - pos);
        pos = comma + 1;
        if (item.empty()) return fail("empty list item");
        const auto slash = item.find('/');
        const std::string_view range = item.substr(0, slash);
        int lo = 0, hi = 0, step = 1;
        if (slash != std::string_view::npos) {
            auto s = ParseInt(item.substr(slash + 1));
            if (!s || *s < 1 || *s > f.max) return fail("the step must be a number from 1 to " + std::to_string(f.max));
            step = *s;
        }
        if (range == "*") {
            lo = f.min;
            hi = f.max == 7 ? 6 : f.max;  // "*" in day of week is 0-6 (7 would repeat Sunday)
        } else if (const auto dash = range.find('-'); dash != std::string_view::npos) {
            auto a = CronValue(range.substr(0, dash), f);
            auto b = CronValue(range.substr(dash + 1), f);
            if (!a || !b) return fail("'" + std::string(range) + "' is not a range of valid values");
            if (*a > *b) return fail("the range '" + std::string(range) + "' runs backwards");
            lo = *a;
            hi = *b;
        } else {
            auto a = CronValue(range, f);
            if (!a) return fail("'" + std::string(range) + "' is not a valid value");
            lo = *a;
            hi = slash != std::string_view::npos ? (f.max == 7 ? 6 : f.max) : *a;  // "5/10" is "5-max/10"
        }
        for (int v = lo; v <= hi; v += step) {
            const int bit = (f.max == 7 && v == 7) ? 0 : v;
            bits |= std::uint64_t{1} << bit;
        }
        if (comma == text.size()) break;
    }
    return {};
}

std::string_view CronMacro(std::string_view text) {
    if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
    if (text == "@monthly") return "0 0 1 * *";
    if (text == "@weekly") return "0 0 * * 0";
    if (text == "@daily" || text == "@midnight") return "0 0 * * *";
    if (text == "@hourly") return "0 * * * *";
    return {};
}

core::Result<void> ParseCron(std::string_view text, Schedule& s) {
    if (text.size() > kMaxCronLength) return At("cron", "longer than 256 characters");
    if (!text.empty() && text.front() == '@') {
        text = CronMacro(text);
        if (text.empty()) return At("cron", "unknown macro (use @yearly, @monthly, @weekly, @daily or @hourly)");
    }
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
        const std::size_t start = pos;
        while (pos < text.size() && !std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
        if (pos > start) fields.push_back(text.substr(start, pos - start));
    }
    if (fields.size() != 5) {
        return At("cron", "must have 5 fields (minute hour day-of-month month day-of-week), found " +
                              std::to_string(fields.size()));
    }
    bool ignored = false;
    if (auto r = ParseCronField(fields[0], kMinuteField, s.cron_minutes, ignored); !r) return r.error();
    if (auto r = ParseCronField(fields[1], kHourField, s.cron_hours, ignored); !r) return r.error();
    if (auto r = ParseCronField(fields[2], kDomField, s.cron_dom, s.cron_dom_star); !r) return r.error();
    if (auto r = ParseCronField(fields[3], kMonthField, s.cron_months, ignored); !r) return r.error();
    if (auto r = ParseCronField(fields[4], kDowField, s.cron_dow, s.cron_dow_star); !r) return r.error();
    return {};
}

bool Bit(std::uint64_t bits, int i) { return ((bits >> i) & 1U) != 0; }

// Whether a local calendar day is one the schedule runs on.
bool DayMatches(const Schedule& s, const iml::CivilDate& date, int weekday) {
    switch (s.type) {
        case Schedule::Type::kDaily:
            return true;
        case Schedule::Type::kWeekly:
            return std::find(s.days.begin(), s.days.end(), weekday) != s.days.end();
        case Schedule::Type::kMonthly: {
            if (std::find(s.dates.begin(), s.dates.end(), date.day) != s.dates.end()) return true;
            // Dates past the end of a short month run on its last day (31 → Apr 30, Feb 28/29).
            const int last = iml::DaysInMonth(date.year, date.month);
            return date.day == last && std::any_of(s.dates.begin(), s.dates.end(), [&](int d) { return d > last; });
        }
        case Schedule::Type::kCron: {
            if (!Bit(s.cron_months, date.month)) return false;
            const bool dom = Bit(s.cron_dom, date.day);
            const bool dow = Bit(s.cron_dow, weekday);
            // Vixie cron: when both day fields are restricted, a day matching either runs.
            if (s.cron_dom_star || s.cron_dow_star) return dom && dow;
            return dom || dow;
        }
        default:
            return false;
    }
}

// The earliest run on local day `day` strictly after `after_ms`, in UTC milliseconds.
std::optional<std::int64_t> EarliestOnDay(const Schedule& s, const iml::TimeZone& tz, std::int64_t day,
                                          std::int64_t after_ms) {
    const iml::CivilDate date = iml::CivilFromDays(day);
    if (!DayMatches(s, date, iml::WeekdayFromDays(day))) return std::nullopt;
    std::optional<std::int64_t> best;
    auto consider = [&](int minute_of_day) {
        // A wall-clock time a DST change skips is read with the offset before the change (02:30 on the
        // spring-forward night in Prague runs at 03:30 CEST); a repeated one runs at its first occurrence.
        const std::int64_t utc_ms = tz.LocalToUtc(day * 86400 + minute_of_day * 60) * 1000;
        if (utc_ms > after_ms && (!best || utc_ms < *best)) best = utc_ms;
    };
    if (s.type == Schedule::Type::kCron) {
        for (int h = 0; h < 24; ++h) {
            if (!Bit(s.cron_hours, h)) continue;
            for (int m = 0; m < 60; ++m) {
                if (Bit(s.cron_minutes, m)) consider(h * 60 + m);
            }
        }
    } else {
        consider(s.minute_of_day);
    }
    return best;
}

std::optional<std::int64_t> NextCalendarRun(const Schedule& s, std::int64_t after_ms) {
    auto zone = iml::TimeZone::Find(s.timezone);
    if (!zone) return std::nullopt;  // validated by ParseSchedule; only a vanished tz database gets here
    const iml::TimeZone& tz = **zone;
    const std::int64_t after_s = FloorDiv(after_ms, 1000);
    // Start a day early: DST changes move local days against UTC by hours.
    const std::int64_t first_day = FloorDiv(after_s + tz.OffsetAt(after_s), 86400) - 1;
    for (std::int64_t day = first_day; day <= first_day + kSearchDays; ++day) {
        auto run = EarliestOnDay(s, tz, day, after_ms);
        if (!run) continue;
        // Local order and UTC order can differ around a DST change; the next day decides ties of that kind.
        if (auto next = EarliestOnDay(s, tz, day + 1, after_ms); next && *next < *run) run = next;
        return run;
    }
    return std::nullopt;
}

core::Result<std::vector<int>> ParseIntList(const json::value* v, std::string_view field, int min, int max) {
    if (v == nullptr || !v->is_array() || v->get_array().empty()) {
        return At(field,
                  "must be a non-empty array of numbers from " + std::to_string(min) + " to " + std::to_string(max));
    }
    std::vector<int> out;
    for (const auto& item : v->get_array()) {
        auto n = AsInteger(item);
        if (!n || *n < min || *n > max) {
            return At(field, "must be a non-empty array of numbers from " + std::to_string(min) + " to " +
                                 std::to_string(max));
        }
        out.push_back(static_cast<int>(*n));
    }
    return out;
}

void SortUnique(std::vector<int>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

core::Result<int> ReadTime(const json::object& o) {
    const auto* t = o.if_contains("time");
    if (t == nullptr || !t->is_string()) return At("time", "must be a time of day as HH:MM");
    auto m = ParseTimeOfDay(t->get_string());
    if (!m) return At("time", "must be a time of day as HH:MM (00:00 to 23:59)");
    return *m;
}

core::Result<Schedule> ParseScheduleObject(const json::value& v) {
    if (!v.is_object()) return core::InvalidArgument("scheduling: must be an object");
    const auto& o = v.get_object();
    Schedule s;
    const auto* type = o.if_contains("type");
    if (type == nullptr || !type->is_string()) return At("type", "is missing");
    const auto it = std::find_if(std::begin(kTypeNames), std::end(kTypeNames),
                                 [&](const TypeName& t) { return t.name == type->get_string(); });
    if (it == std::end(kTypeNames)) {
        return At("type", "unknown type '" + std::string(type->get_string()) +
                              "' (on-demand, immediately, indefinitely, once, daily, weekly, monthly or cron)");
    }
    s.type = it->type;

    std::shared_ptr<const iml::TimeZone> found_zone;  // keeps a looked-up zone alive while dates are read
    const iml::TimeZone* zone = &iml::TimeZone::Utc();
    if (const auto* tz = o.if_contains("timezone"); tz != nullptr && !tz->is_null()) {
        if (!tz->is_string() || tz->get_string().empty()) return At("timezone", "must be an IANA name or ±HH:MM");
        auto found = iml::TimeZone::Find(tz->get_string());
        if (!found) return At("timezone", "unknown time zone '" + std::string(tz->get_string()) + "'");
        found_zone = *found;
        zone = found_zone.get();
        s.timezone = tz->get_string();
    }
    for (std::string_view field : {"start", "end"}) {
        const auto* value = o.if_contains(field);
        if (value == nullptr || value->is_null()) continue;
        auto ms = ParseInstant(*value, field, *zone);
        if (!ms) return ms.error();
        (field == "start" ? s.start : s.end) = *ms;
    }
    if (s.start && s.end && *s.end < *s.start) return At("end", "is before start");

    switch (s.type) {
        case Schedule::Type::kOnDemand:
        case Schedule::Type::kImmediately:
            break;
        case Schedule::Type::kInterval: {
            const auto* interval = o.if_contains("interval");
            auto n = interval != nullptr ? AsInteger(*interval) : std::nullopt;
            if (!n) return At("interval", "must be a number of seconds");
            if (*n < kMinIntervalSeconds) return At("interval", "must be at least 60 seconds");
            if (*n > kMaxIntervalSeconds) return At("interval", "must be at most ten years");
            s.interval_seconds = *n;
            break;
        }
        case Schedule::Type::kOnce: {
            const auto* date = o.if_contains("date");
            if (date == nullptr || date->is_null()) return At("date", "is missing");
            auto ms = ParseInstant(*date, "date", *zone);
            if (!ms) return ms.error();
            s.once_at = *ms;
            break;
        }
        case Schedule::Type::kDaily:
        case Schedule::Type::kWeekly:
        case Schedule::Type::kMonthly: {
            auto minute = ReadTime(o);
            if (!minute) return minute.error();
            s.minute_of_day = *minute;
            if (s.type == Schedule::Type::kWeekly) {
                auto days = ParseIntList(o.if_contains("days"), "days", 0, 7);
                if (!days) return days.error();
                s.days = std::move(*days);
                for (int& d : s.days) d %= 7;
                SortUnique(s.days);
            } else if (s.type == Schedule::Type::kMonthly) {
                auto dates = ParseIntList(o.if_contains("dates"), "dates", 1, 31);
                if (!dates) return dates.error();
                s.dates = std::move(*dates);
                SortUnique(s.dates);
            }
            break;
        }
        case Schedule::Type::kCron: {
            const auto* cron = o.if_contains("cron");
            if (cron == nullptr || !cron->is_string()) return At("cron", "must be a cron expression");
            s.cron = cron->get_string();
            if (auto r = ParseCron(s.cron, s); !r) return r.error();
            break;
        }
    }
    return s;
}

}  // namespace

core::Result<Schedule> ParseSchedule(const json::value& v) {
    if (v.is_string()) {
        if (v.get_string().size() > 64 * 1024) return core::InvalidArgument("scheduling: larger than 64 KB");
        std::error_code ec;
        json::value parsed = json::parse(v.get_string(), ec);
        if (ec) return core::InvalidArgument("scheduling: not valid JSON: " + ec.message());
        return ParseScheduleObject(parsed);
    }
    return ParseScheduleObject(v);
}

json::object ScheduleToJson(const Schedule& s) {
    json::object o;
    for (const auto& t : kTypeNames) {
        if (t.type == s.type) o["type"] = t.name;
    }
    switch (s.type) {
        case Schedule::Type::kOnDemand:
        case Schedule::Type::kImmediately:
            break;
        case Schedule::Type::kInterval:
            o["interval"] = s.interval_seconds;
            break;
        case Schedule::Type::kOnce:
            o["date"] = iml::FormatIsoMillis(s.once_at);
            break;
        case Schedule::Type::kDaily:
        case Schedule::Type::kWeekly:
        case Schedule::Type::kMonthly: {
            o["time"] = FormatTimeOfDay(s.minute_of_day);
            if (s.type == Schedule::Type::kWeekly) o["days"] = json::value_from(s.days);
            if (s.type == Schedule::Type::kMonthly) o["dates"] = json::value_from(s.dates);
            break;
        }
        case Schedule::Type::kCron:
            o["cron"] = s.cron;
            break;
    }
    o["timezone"] = s.timezone;
    if (s.start) o["start"] = iml::FormatIsoMillis(*s.start);
    if (s.end) o["end"] = iml::FormatIsoMillis(*s.end);
    return o;
}

std::optional<std::int64_t> NextRun(const Schedule& s, std::int64_t after_ms) {
    if (!IsScheduled(s) || after_ms > kLatestMs) return std::nullopt;
    // Runs happen at or after start: search from just before it.
    std::int64_t from = std::max(after_ms, kEarliestMs);
    if (s.start && *s.start - 1 > from) from = *s.start - 1;
    std::optional<std::int64_t> next;
    switch (s.type) {
        case Schedule::Type::kInterval: {
            const std::int64_t step = s.interval_seconds * 1000;
            if (step <= 0) return std::nullopt;
            if (s.start) {
                // Runs on the grid start + k·interval, so a late caller does not shift later runs.
                next = *s.start + (FloorDiv(from - *s.start, step) + 1) * step;
            } else {
                next = from + step;
            }
            break;
        }
        case Schedule::Type::kOnce:
            if (s.once_at > from) next = s.once_at;
            break;
        default:
            next = NextCalendarRun(s, from);
            break;
    }
    if (!next || *next > kLatestMs || (s.end && *next > *s.end)) return std::nullopt;
    return next;
}

bool IsScheduled(const Schedule& s) {
    switch (s.type) {
        case Schedule::Type::kInterval:
        case Schedule::Type::kOnce:
        case Schedule::Type::kDaily:
        case Schedule::Type::kWeekly:
        case Schedule::Type::kMonthly:
        case Schedule::Type::kCron:
            return true;
        default:
            return false;
    }
}

}  // namespace switchboard::engine
