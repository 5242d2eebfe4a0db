#include "iml/timezone.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <unordered_map>

#include "iml/dates.hpp"

namespace switchboard::iml {

namespace {

constexpr std::string_view kZoneInfoDir = "/usr/share/zoneinfo/";
constexpr std::size_t kMaxTzifBytes = 256 * 1024;
constexpr std::size_t kMaxCachedZones = 1024;

// ---- POSIX TZ strings ----

class PosixReader {
  public:
    explicit PosixReader(std::string_view text) : text_(text) {}
    bool AtEnd() const { return pos_ >= text_.size(); }
    char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
    bool Consume(char c) {
        if (Peek() != c) return false;
        ++pos_;
        return true;
    }

    bool Name() {
        if (Consume('<')) {
            const std::size_t end = text_.find('>', pos_);
            if (end == std::string_view::npos || end == pos_) return false;
            pos_ = end + 1;
            return true;
        }
        const std::size_t start = pos_;
        while (!AtEnd() && ((Peek() >= 'A' && Peek() <= 'Z') || (Peek() >= 'a' && Peek() <= 'z'))) ++pos_;
        return pos_ - start >= 3;
    }

    bool Number(int& out, int max) {
        const std::size_t start = pos_;
        out = 0;
        while (!AtEnd() && Peek() >= '0' && Peek() <= '9' && pos_ - start < 4) out = out * 10 + (text_[pos_++] - '0');
        return pos_ > start && out <= max;
    }

    // [+-]hh[:mm[:ss]] in seconds; `max_hours` is 24 for offsets and 167 for transition times.
    bool Time(std::int32_t& out, int max_hours) {
        int sign = 1;
        if (Consume('-')) {
            sign = -1;
        } else {
            Consume('+');
        }
        int h = 0, m = 0, s = 0;
        if (!Number(h, max_hours)) return false;
        if (Consume(':')) {
            if (!Number(m, 59)) return false;
            if (Consume(':') && !Number(s, 59)) return false;
        }
        out = sign * (h * 3600 + m * 60 + s);
        return true;
    }

    bool Rule(PosixTzRule::Transition& t) {
        using Kind = PosixTzRule::Transition::Kind;
        if (Consume('M')) {
            t.kind = Kind::kMonthWeekDay;
            if (!Number(t.month, 12) || t.month < 1 || !Consume('.') || !Number(t.week, 5) || t.week < 1 ||
                !Consume('.') || !Number(t.weekday, 6)) {
                return false;
            }
        } else if (Consume('J')) {
            t.kind = Kind::kJulianNoLeap;
            if (!Number(t.day, 365) || t.day < 1) return false;
        } else {
            t.kind = Kind::kJulianZeroBased;
            if (!Number(t.day, 365)) return false;
        }
        t.time = 2 * 3600;
        if (Consume('/')) return Time(t.time, 167);
        return true;
    }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

std::int64_t TransitionLocalSeconds(const PosixTzRule::Transition& t, std::int64_t year) {
    using Kind = PosixTzRule::Transition::Kind;
    std::int64_t days = 0;
    switch (t.kind) {
        case Kind::kMonthWeekDay: {
            const std::int64_t first = DaysFromCivil(year, t.month, 1);
            const int first_weekday = WeekdayFromDays(first);
            int day = 1 + (t.weekday - first_weekday + 7) % 7 + (t.week - 1) * 7;
            const int month_days = DaysInMonth(year, t.month);
            while (day > month_days) day -= 7;
            days = first + day - 1;
            break;
        }
        case Kind::kJulianNoLeap: {
            int n = t.day;
            if (IsLeapYear(year) && n >= 60) ++n;
            days = DaysFromCivil(year, 1, 1) + n - 1;
            break;
        }
        case Kind::kJulianZeroBased:
            days = DaysFromCivil(year, 1, 1) + t.day;
            break;
    }
    return days * 86400 + t.time;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::uint32_t ReadBe32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::int64_t ReadBe64(const unsigned char* p) {
    return static_cast<std::int64_t>((std::uint64_t{ReadBe32(p)} << 32) | ReadBe32(p + 4));
}

bool ValidZoneName(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
    for (char c : name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                        c == '_' || c == '-' || c == '+';
        if (!ok) return false;
    }
    // No empty, "." or ".." components (the character set already excludes '.').
    return name.find("//") == std::string_view::npos;
}

struct ZoneCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<const TimeZone>> zones;
};

ZoneCache& Cache() {
    static ZoneCache cache;
    return cache;
}

}  // namespace

std::unique_ptr<PosixTzRule> PosixTzRule::Parse(std::string_view text) {
    auto rule = std::make_unique<PosixTzRule>();
    PosixReader r(text);
    std::int32_t offset = 0;
    if (!r.Name() || !r.Time(offset, 24)) return nullptr;
    rule->std_offset = -offset;  // POSIX offsets are positive west of Greenwich
    if (r.AtEnd()) return rule;
    if (!r.Name()) return nullptr;
    rule->has_dst = true;
    rule->dst_offset = rule->std_offset + 3600;
    if (r.Peek() != ',' && !r.AtEnd()) {
        if (!r.Time(offset, 24)) return nullptr;
        rule->dst_offset = -offset;
    }
    if (r.AtEnd()) {
        // POSIX leaves the default rule to the implementation; glibc uses the US one.
        rule->start = {Transition::Kind::kMonthWeekDay, 3, 2, 0, 0, 2 * 3600};
        rule->end = {Transition::Kind::kMonthWeekDay, 11, 1, 0, 0, 2 * 3600};
        return rule;
    }
    if (!r.Consume(',') || !r.Rule(rule->start) || !r.Consume(',') || !r.Rule(rule->end) || !r.AtEnd()) {
        return nullptr;
    }
    return rule;
}

std::int32_t PosixTzRule::OffsetAt(std::int64_t utc_seconds) const {
    if (!has_dst) return std_offset;
    const std::int64_t year = CivilFromDays(FloorDiv(utc_seconds + std_offset, 86400)).year;
    const std::int64_t start_utc = TransitionLocalSeconds(start, year) - std_offset;
    const std::int64_t end_utc = TransitionLocalSeconds(end, year) - dst_offset;
    bool dst = false;
    if (start_utc < end_utc) {
        dst = utc_seconds >= start_utc && utc_seconds < end_utc;
    } else {
        dst = !(utc_seconds >= end_utc && utc_seconds < start_utc);
    }
    return dst ? dst_offset : std_offset;
}

std::optional<std::int32_t> ParseUtcOffset(std::string_view text) {
    if (text == "Z" || text == "z") return 0;
    if (text.size() < 3 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
    const int sign = text[0] == '-' ? -1 : 1;
    std::string_view rest = text.substr(1);
    auto two = [](std::string_view s, int& out) {
        if (s.size() < 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return false;
        out = (s[0] - '0') * 10 + (s[1] - '0');
        return true;
    };
    int h = 0, m = 0;
    if (!two(rest, h)) return std::nullopt;
    rest.remove_prefix(2);
    if (!rest.empty() && rest.front() == ':') rest.remove_prefix(1);
    if (!rest.empty()) {
        if (!two(rest, m) || rest.size() != 2) return std::nullopt;
    } else if (text.size() > 3 && text.back() == ':') {
        return std::nullopt;
    }
    if (h > 23 || m > 59) return std::nullopt;
    return sign * (h * 3600 + m * 60);
}

const TimeZone& TimeZone::Utc() {
    static const TimeZone kUtcZone;
    return kUtcZone;
}

core::Result<std::shared_ptr<const TimeZone>> TimeZone::FromTzif(std::string name, std::string_view bytes) {
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t size = bytes.size();
    auto malformed = [&] { return core::InvalidArgument("time zone '" + name + "' has malformed data"); };
    if (size < 44 || bytes.substr(0, 4) != "TZif") return malformed();
    struct Counts {
        std::size_t isut, isstd, leap, time, type, chars;
    };
    auto read_counts = [&](std::size_t at) {
        return Counts{ReadBe32(data + at + 20), ReadBe32(data + at + 24), ReadBe32(data + at + 28),
                      ReadBe32(data + at + 32), ReadBe32(data + at + 36), ReadBe32(data + at + 40)};
    };
    auto block_size = [](const Counts& c, std::size_t time_size) {
        return c.time * time_size + c.time + c.type * 6 + c.chars + c.leap * (time_size + 4) + c.isstd + c.isut;
    };
    const char version = bytes[4];
    Counts c = read_counts(0);
    if (c.time > 100000 || c.type > 256 || c.chars > 65536 || c.leap > 100000 || c.isut > 256 || c.isstd > 256) {
        return malformed();
    }
    std::size_t at = 44;
    std::size_t time_size = 4;
    if (version >= '2') {
        at += block_size(c, 4);
        if (at + 44 > size || bytes.substr(at, 4) != "TZif") return malformed();
        c = read_counts(at);
        if (c.time > 100000 || c.type > 256 || c.chars > 65536 || c.leap > 100000 || c.isut > 256 || c.isstd > 256) {
            return malformed();
        }
        at += 44;
        time_size = 8;
    }
    if (c.type == 0 || at + block_size(c, time_size) > size) return malformed();
    const unsigned char* times = data + at;
    const unsigned char* indexes = times + c.time * time_size;
    const unsigned char* types = indexes + c.time;

    auto zone = std::make_shared<TimeZone>();
    zone->name_ = std::move(name);
    auto type_offset = [&](std::size_t i) { return static_cast<std::int32_t>(ReadBe32(types + i * 6)); };
    zone->initial_offset_ = type_offset(0);
    zone->transitions_.reserve(c.time);
    zone->offsets_after_.reserve(c.time);
    for (std::size_t i = 0; i < c.time; ++i) {
        const std::int64_t t =
            time_size == 8 ? ReadBe64(times + i * 8) : static_cast<std::int32_t>(ReadBe32(times + i * 4));
        if (indexes[i] >= c.type) return malformed();
        if (!zone->transitions_.empty() && t <= zone->transitions_.back()) return malformed();
        zone->transitions_.push_back(t);
        zone->offsets_after_.push_back(type_offset(indexes[i]));
    }
    if (version >= '2') {
        const std::size_t footer = at + block_size(c, time_size);
        if (footer < size && bytes[footer] == '\n') {
            const std::size_t end = bytes.find('\n', footer + 1);
            if (end != std::string_view::npos && end > footer + 1) {
                zone->rule_ = PosixTzRule::Parse(bytes.substr(footer + 1, end - footer - 1));
            }
        }
    }
    return std::shared_ptr<const TimeZone>(std::move(zone));
}

core::Result<std::shared_ptr<const TimeZone>> TimeZone::Find(std::string_view name) {
    static const std::shared_ptr<const TimeZone> kUtc(&Utc(), [](const TimeZone*) {});
    if (name == "UTC" || name == "utc" || name == "Etc/UTC" || name == "GMT" || name == "Z" || name == "Etc/GMT") {
        return kUtc;
    }
    if (!name.empty() && (name.front() == '+' || name.front() == '-')) {
        const auto offset = ParseUtcOffset(name);
        if (!offset) return core::InvalidArgument("invalid UTC offset '" + std::string(name) + "'");
        auto zone = std::make_shared<TimeZone>();
        zone->name_ = std::string(name);
        zone->initial_offset_ = *offset;
        return std::shared_ptr<const TimeZone>(std::move(zone));
    }
    if (!ValidZoneName(name)) return core::InvalidArgument("invalid time zone name");
    ZoneCache& cache = Cache();
    const std::string key(name);
    {
        std::lock_guard lock(cache.mutex);
        if (auto it = cache.zones.find(key); it != cache.zones.end()) return it->second;
    }
    std::ifstream file(std::string(kZoneInfoDir) + key, std::ios::binary);
    if (!file) return core::InvalidArgument("unknown time zone '" + key + "'");
    std::string bytes;
    bytes.resize(kMaxTzifBytes + 1);
    file.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(file.gcount()));
    if (bytes.size() > kMaxTzifBytes) return core::InvalidArgument("unknown time zone '" + key + "'");
    auto zone = FromTzif(key, bytes);
    if (!zone) return core::InvalidArgument("unknown time zone '" + key + "'");
    std::lock_guard lock(cache.mutex);
    if (cache.zones.size() < kMaxCachedZones) cache.zones.emplace(key, *zone);
    return *zone;
}

std::int32_t TimeZone::OffsetAt(std::int64_t utc_seconds) const {
    if (transitions_.empty()) return rule_ ? rule_->OffsetAt(utc_seconds) : initial_offset_;
    if (utc_seconds < transitions_.front()) return initial_offset_;
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
    const auto index = static_cast<std::size_t>(std::distance(transitions_.begin(), it)) - 1;
    if (index + 1 == transitions_.size() && rule_) return rule_->OffsetAt(utc_seconds);
    return offsets_after_[index];
}

std::int64_t TimeZone::LocalToUtc(std::int64_t local_seconds) const {
    const std::int32_t before = OffsetAt(local_seconds - 86400);
    const std::int32_t after = OffsetAt(local_seconds + 86400);
    const std::int64_t a = local_seconds - before;
    const std::int64_t b = local_seconds - after;
    const bool a_valid = OffsetAt(a) == before;
    const bool b_valid = OffsetAt(b) == after;
    if (a_valid && b_valid) return std::min(a, b);
    if (b_valid) return b;
    return a;  // valid, or a wall-clock time skipped by a DST change: read with the offset before the change
}

}  // namespace switchboard::iml
