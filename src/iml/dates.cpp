#include "iml/dates.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "iml/timezone.hpp"

namespace switchboard::iml {

namespace {

constexpr std::int64_t kMillisPerDay = 86'400'000;
constexpr std::size_t kMaxFormatLength = 1024;

constexpr std::array<std::string_view, 12> kMonthNames = {"January",   "February", "March",    "April",
                                                          "May",       "June",     "July",     "August",
                                                          "September", "October",  "November", "December"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                           "Thursday", "Friday", "Saturday"};

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (Lower(a[i]) != Lower(b[i])) return false;
    }
    return true;
}

void AppendPadded(std::string& out, std::int64_t value, int width) {
    char buf[24];
    const bool negative = value < 0;
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
    const auto r = std::to_chars(buf, buf + sizeof buf, magnitude);
    if (negative) out.push_back('-');
    for (auto n = r.ptr - buf; n < width; ++n) out.push_back('0');
    out.append(buf, r.ptr);
}

std::string_view OrdinalSuffix(std::int64_t n) {
    const std::int64_t mod100 = n % 100;
    if (mod100 >= 11 && mod100 <= 13) return "th";
    switch (n % 10) {
        case 1:
            return "st";
        case 2:
            return "nd";
        case 3:
            return "rd";
        default:
            return "th";
    }
}

struct Fields {
    std::int64_t millis = 0;  // the instant
    std::int64_t days = 0;    // local day number since the epoch
    std::int64_t year = 1970;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0, milli = 0;
    int weekday = 4;  // 0 = Sunday
    int yday = 1;     // 1-based
    std::int32_t offset = 0;
};

Fields BreakDown(std::int64_t millis, const TimeZone& tz) {
    Fields f;
    f.millis = millis;
    f.offset = tz.OffsetAt(FloorDiv(millis, 1000));
    const std::int64_t local = millis + std::int64_t{f.offset} * 1000;
    f.days = FloorDiv(local, kMillisPerDay);
    const std::int64_t in_day = local - f.days * kMillisPerDay;
    const CivilDate date = CivilFromDays(f.days);
    f.year = date.year;
    f.month = date.month;
    f.day = date.day;
    f.hour = static_cast<int>(in_day / 3'600'000);
    f.minute = static_cast<int>(in_day / 60'000 % 60);
    f.second = static_cast<int>(in_day / 1000 % 60);
    f.milli = static_cast<int>(in_day % 1000);
    f.weekday = WeekdayFromDays(f.days);
    f.yday = static_cast<int>(f.days - DaysFromCivil(f.year, 1, 1) + 1);
    return f;
}

// ---- format tokens (moment.js) ----

enum class Tok {
    kLiteral,
    kYear4,
    kYear2,
    kYear,
    kQuarter,
    kMonthName,
    kMonthShort,
    kMonth2,
    kMonthOrdinal,
    kMonth,
    kDayOfYear3,
    kDayOfYear,
    kDay2,
    kDayOrdinal,
    kDay,
    kWeekdayName,
    kWeekdayShort,
    kWeekdayMin,
    kWeekday,
    kIsoWeekday,
    kWeek2,
    kWeek,
    kIsoWeek2,
    kIsoWeek,
    kIsoWeekYear4,
    kIsoWeekYear2,
    kWeekYear4,
    kWeekYear2,
    kHour24Pad,
    kHour24,
    kHour12Pad,
    kHour12,
    kHour1To24Pad,
    kHour1To24,
    kMinutePad,
    kMinute,
    kSecondPad,
    kSecond,
    kFraction,
    kAmPmUpper,
    kAmPmLower,
    kOffsetColon,
    kOffset,
    kUnixSeconds,
    kUnixMillis,
};

struct Token {
    Tok kind = Tok::kLiteral;
    std::string_view text;  // the literal, or the token as written
};

// The next token of a moment.js format at `pos` (advanced past it). Longer spellings win ("MMMM" over "MM").
Token NextToken(std::string_view format, std::size_t& pos) {
    const char c = format[pos];
    std::size_t run = 1;
    while (pos + run < format.size() && format[pos + run] == c && run < 4) ++run;
    const bool ordinal = run == 1 && pos + 1 < format.size() && format[pos + 1] == 'o';
    auto take = [&](Tok kind, std::size_t length) {
        Token t{kind, format.substr(pos, length)};
        pos += length;
        return t;
    };
    switch (c) {
        case '[': {
            const std::size_t close = format.find(']', pos + 1);
            if (close == std::string_view::npos) break;
            Token t{Tok::kLiteral, format.substr(pos + 1, close - pos - 1)};
            pos = close + 1;
            return t;
        }
        case 'S': {
            std::size_t end = pos;
            while (end < format.size() && format[end] == 'S') ++end;
            return take(Tok::kFraction, end - pos);
        }
        case 'Y':
            return run == 4 ? take(Tok::kYear4, 4) : run >= 2 ? take(Tok::kYear2, 2) : take(Tok::kYear, 1);
        case 'G':
            if (run == 4) return take(Tok::kIsoWeekYear4, 4);
            if (run >= 2) return take(Tok::kIsoWeekYear2, 2);
            break;
        case 'g':
            if (run == 4) return take(Tok::kWeekYear4, 4);
            if (run >= 2) return take(Tok::kWeekYear2, 2);
            break;
        case 'M':
            if (ordinal) return take(Tok::kMonthOrdinal, 2);
            return run == 4   ? take(Tok::kMonthName, 4)
                   : run == 3 ? take(Tok::kMonthShort, 3)
                   : run == 2 ? take(Tok::kMonth2, 2)
                              : take(Tok::kMonth, 1);
        case 'D':
            if (ordinal) return take(Tok::kDayOrdinal, 2);
            return run == 4   ? take(Tok::kDayOfYear3, 4)
                   : run == 3 ? take(Tok::kDayOfYear, 3)
                   : run == 2 ? take(Tok::kDay2, 2)
                              : take(Tok::kDay, 1);
        case 'd':
            return run == 4   ? take(Tok::kWeekdayName, 4)
                   : run == 3 ? take(Tok::kWeekdayShort, 3)
                   : run == 2 ? take(Tok::kWeekdayMin, 2)
                              : take(Tok::kWeekday, 1);
        case 'e':
            return take(Tok::kWeekday, 1);
        case 'E':
            return take(Tok::kIsoWeekday, 1);
        case 'w':
            return run >= 2 ? take(Tok::kWeek2, 2) : take(Tok::kWeek, 1);
        case 'W':
            return run >= 2 ? take(Tok::kIsoWeek2, 2) : take(Tok::kIsoWeek, 1);
        case 'H':
            return run >= 2 ? take(Tok::kHour24Pad, 2) : take(Tok::kHour24, 1);
        case 'h':
            return run >= 2 ? take(Tok::kHour12Pad, 2) : take(Tok::kHour12, 1);
        case 'k':
            return run >= 2 ? take(Tok::kHour1To24Pad, 2) : take(Tok::kHour1To24, 1);
        case 'm':
            return run >= 2 ? take(Tok::kMinutePad, 2) : take(Tok::kMinute, 1);
        case 's':
            return run >= 2 ? take(Tok::kSecondPad, 2) : take(Tok::kSecond, 1);
        case 'Z':
            return run >= 2 ? take(Tok::kOffset, 2) : take(Tok::kOffsetColon, 1);
        case 'Q':
            return take(Tok::kQuarter, 1);
        case 'A':
            return take(Tok::kAmPmUpper, 1);
        case 'a':
            return take(Tok::kAmPmLower, 1);
        case 'X':
            return take(Tok::kUnixSeconds, 1);
        case 'x':
            return take(Tok::kUnixMillis, 1);
        default:
            break;
    }
    return take(Tok::kLiteral, 1);
}

struct WeekOfYear {
    std::int64_t year;
    int week;
};

WeekOfYear IsoWeek(std::int64_t days, int weekday) {
    const int iso_weekday = weekday == 0 ? 7 : weekday;
    const std::int64_t thursday = days - iso_weekday + 4;
    const std::int64_t year = CivilFromDays(thursday).year;
    return {year, static_cast<int>((thursday - DaysFromCivil(year, 1, 1)) / 7 + 1)};
}

// moment's "en" locale: weeks start on Sunday and the week holding January 1st is week 1.
WeekOfYear LocaleWeek(std::int64_t days, int weekday) {
    const std::int64_t saturday = days + (6 - weekday);
    const std::int64_t year = CivilFromDays(saturday).year;
    return {year, static_cast<int>((saturday - DaysFromCivil(year, 1, 1)) / 7 + 1)};
}

void AppendOffset(std::string& out, std::int32_t offset, bool colon) {
    out.push_back(offset < 0 ? '-' : '+');
    const std::int32_t a = std::abs(offset);
    AppendPadded(out, a / 3600, 2);
    if (colon) out.push_back(':');
    AppendPadded(out, a / 60 % 60, 2);
}

// ---- parsing helpers ----

class Scanner {
  public:
    explicit Scanner(std::string_view text) : text_(text) {}
    bool AtEnd() const { return pos_ >= text_.size(); }
    char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
    std::size_t pos() const { return pos_; }
    std::string_view Rest() const { return text_.substr(pos_); }
    void Skip(std::size_t n) { pos_ += n; }
    bool Consume(char c) {
        if (Peek() != c) return false;
        ++pos_;
        return true;
    }
    void SkipSpaces() {
        while (Peek() == ' ' || Peek() == '\t') ++pos_;
    }
    // Between min and max digits.
    std::optional<std::int64_t> Digits(std::size_t min, std::size_t max) {
        std::size_t n = 0;
        std::int64_t v = 0;
        while (n < max && IsDigit(Peek())) {
            v = v * 10 + (text_[pos_++] - '0');
            ++n;
        }
        if (n < min) return std::nullopt;
        return v;
    }
    std::string_view Letters() {
        const std::size_t start = pos_;
        while (IsAlpha(Peek())) ++pos_;
        return text_.substr(start, pos_ - start);
    }

  private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

std::optional<int> MonthFromName(std::string_view name) {
    for (std::size_t i = 0; i < kMonthNames.size(); ++i) {
        if (EqualsIgnoreCase(name, kMonthNames[i]) || EqualsIgnoreCase(name, kMonthNames[i].substr(0, 3))) {
            return static_cast<int>(i) + 1;
        }
    }
    if (EqualsIgnoreCase(name, "Sept")) return 9;
    return std::nullopt;
}

bool IsWeekdayName(std::string_view name) {
    for (auto full : kWeekdayNames) {
        if (EqualsIgnoreCase(name, full) || EqualsIgnoreCase(name, full.substr(0, 3)) ||
            EqualsIgnoreCase(name, full.substr(0, 2))) {
            return true;
        }
    }
    return false;
}

// "Z", "+02:00", "+0200", "+02".
std::optional<std::int32_t> ScanOffset(Scanner& s) {
    if (s.Consume('Z') || s.Consume('z')) return 0;
    if (s.Peek() != '+' && s.Peek() != '-') return std::nullopt;
    const int sign = s.Peek() == '-' ? -1 : 1;
    s.Skip(1);
    const auto h = s.Digits(2, 2);
    if (!h || *h > 23) return std::nullopt;
    std::int64_t m = 0;
    if (s.Consume(':')) {
        const auto mm = s.Digits(2, 2);
        if (!mm) return std::nullopt;
        m = *mm;
    } else if (IsDigit(s.Peek())) {
        const auto mm = s.Digits(2, 2);
        if (!mm) return std::nullopt;
        m = *mm;
    }
    if (m > 59) return std::nullopt;
    return static_cast<std::int32_t>(sign * (*h * 3600 + m * 60));
}

bool ValidTime(std::int64_t h, std::int64_t m, std::int64_t s, std::int64_t ms) {
    if (h == 24) return m == 0 && s == 0 && ms == 0;
    return h >= 0 && h < 24 && m >= 0 && m < 60 && s >= 0 && s < 60 && ms >= 0 && ms < 1000;
}

std::optional<std::int64_t> Assemble(std::int64_t year, int month, int day, std::int64_t h, std::int64_t m,
                                     std::int64_t s, std::int64_t ms, std::optional<std::int32_t> offset,
                                     const TimeZone& tz) {
    if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || !ValidTime(h, m, s, ms)) {
        return std::nullopt;
    }
    if (year < -271821 || year > 275760) return std::nullopt;
    const std::int64_t local_seconds = DaysFromCivil(year, month, day) * 86400 + h * 3600 + m * 60 + s;
    const std::int64_t utc_seconds = offset ? local_seconds - *offset : tz.LocalToUtc(local_seconds);
    const std::int64_t millis = utc_seconds * 1000 + ms;
    if (millis < -kMaxDateMillis || millis > kMaxDateMillis) return std::nullopt;
    return millis;
}

std::int64_t FractionToMillis(std::string_view digits) {
    std::int64_t ms = 0;
    for (std::size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < digits.size() ? digits[i] - '0' : 0);
    return ms;
}

std::optional<std::int64_t> ParseIso(std::string_view text, const TimeZone& tz) {
    Scanner s(text);
    std::int64_t year = 0;
    if (s.Peek() == '+' || s.Peek() == '-') {
        const bool negative = s.Peek() == '-';
        s.Skip(1);
        const auto y = s.Digits(6, 6);
        if (!y) return std::nullopt;
        year = negative ? -*y : *y;
    } else {
        const auto y = s.Digits(4, 4);
        if (!y) return std::nullopt;
        year = *y;
    }
    int month = 1, day = 1;
    std::int64_t h = 0, m = 0, sec = 0, ms = 0;
    if (s.Consume('-')) {
        const auto mo = s.Digits(2, 2);
        if (!mo) return std::nullopt;
        month = static_cast<int>(*mo);
        if (s.Consume('-')) {
            const auto d = s.Digits(2, 2);
            if (!d) return std::nullopt;
            day = static_cast<int>(*d);
        }
    }
    if (s.Peek() == 'T' || s.Peek() == 't' || (s.Peek() == ' ' && IsDigit(s.Rest().size() > 1 ? s.Rest()[1] : 'x'))) {
        s.Skip(1);
        const auto hh = s.Digits(2, 2);
        if (!hh || !s.Consume(':')) return std::nullopt;
        const auto mm = s.Digits(2, 2);
        if (!mm) return std::nullopt;
        h = *hh;
        m = *mm;
        if (s.Consume(':')) {
            const auto ss = s.Digits(2, 2);
            if (!ss) return std::nullopt;
            sec = *ss;
            if (s.Consume('.') || s.Consume(',')) {
                const std::size_t start = s.pos();
                if (!s.Digits(1, 9)) return std::nullopt;
                while (IsDigit(s.Peek())) s.Skip(1);
                ms = FractionToMillis(text.substr(start, s.pos() - start));
            }
        }
    }
    std::optional<std::int32_t> offset;
    s.SkipSpaces();
    if (!s.AtEnd()) {
        offset = ScanOffset(s);
        if (!offset) return std::nullopt;
    }
    s.SkipSpaces();
    if (!s.AtEnd()) return std::nullopt;
    return Assemble(year, month, day, h, m, sec, ms, offset, tz);
}

// RFC 2822 / RFC 1123, the form e-mail and HTTP headers carry: "Fri, 01 Mar 2024 10:00:00 +0000".
std::optional<std::int64_t> ParseRfc2822(std::string_view text, const TimeZone& tz) {
    Scanner s(text);
    s.SkipSpaces();
    if (IsAlpha(s.Peek())) {
        if (!IsWeekdayName(s.Letters()) || !s.Consume(',')) return std::nullopt;
        s.SkipSpaces();
    }
    const auto day = s.Digits(1, 2);
    if (!day) return std::nullopt;
    s.SkipSpaces();
    const auto month = MonthFromName(s.Letters());
    if (!month) return std::nullopt;
    s.SkipSpaces();
    const auto year = s.Digits(4, 4);
    if (!year) return std::nullopt;
    s.SkipSpaces();
    std::int64_t h = 0, m = 0, sec = 0;
    if (IsDigit(s.Peek())) {
        const auto hh = s.Digits(1, 2);
        if (!hh || !s.Consume(':')) return std::nullopt;
        const auto mm = s.Digits(2, 2);
        if (!mm) return std::nullopt;
        h = *hh;
        m = *mm;
        if (s.Consume(':')) {
            const auto ss = s.Digits(2, 2);
            if (!ss) return std::nullopt;
            sec = *ss;
        }
    }
    s.SkipSpaces();
    std::optional<std::int32_t> offset;
    if (!s.AtEnd()) {
        if (IsAlpha(s.Peek())) {
            static constexpr std::pair<std::string_view, int> kZones[] = {
                {"UT", 0},   {"UTC", 0},  {"GMT", 0},  {"Z", 0},    {"EST", -5}, {"EDT", -4},
                {"CST", -6}, {"CDT", -5}, {"MST", -7}, {"MDT", -6}, {"PST", -8}, {"PDT", -7},
            };
            const std::string_view name = s.Letters();
            for (const auto& [zone, hours] : kZones) {
                if (name == zone) offset = hours * 3600;
            }
            if (!offset) return std::nullopt;
        } else {
            offset = ScanOffset(s);
            if (!offset) return std::nullopt;
        }
        s.SkipSpaces();
        if (s.Consume('(')) {  // "+0000 (UTC)"
            while (!s.AtEnd() && s.Peek() != ')') s.Skip(1);
            if (!s.Consume(')')) return std::nullopt;
        }
        s.SkipSpaces();
        if (!s.AtEnd()) return std::nullopt;
    }
    return Assemble(*year, *month, static_cast<int>(*day), h, m, sec, 0, offset, tz);
}

std::string Truncated(std::string_view text) {
    if (text.size() <= 64) return std::string(text);
    return std::string(text.substr(0, 61)) + "...";
}

}  // namespace

std::int64_t DaysFromCivil(std::int64_t year, int month, int day) {
    const std::int64_t y = year - (month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

CivilDate CivilFromDays(std::int64_t days) {
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

int WeekdayFromDays(std::int64_t days) { return static_cast<int>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6); }

bool IsLeapYear(std::int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int DaysInMonth(std::int64_t year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && IsLeapYear(year)) return 29;
    return kDays[month - 1];
}

std::optional<std::int64_t> ParseDateText(std::string_view text, const TimeZone& tz) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    if (text.empty() || text.size() > 128) return std::nullopt;
    if (auto iso = ParseIso(text, tz)) return iso;
    return ParseRfc2822(text, tz);
}

std::string FormatIsoMillis(std::int64_t millis) {
    const Fields f = BreakDown(millis, TimeZone::Utc());
    std::string out;
    out.reserve(24);
    if (f.year >= 0 && f.year <= 9999) {
        AppendPadded(out, f.year, 4);
    } else {
        out.push_back(f.year < 0 ? '-' : '+');
        AppendPadded(out, f.year < 0 ? -f.year : f.year, 6);
    }
    out.push_back('-');
    AppendPadded(out, f.month, 2);
    out.push_back('-');
    AppendPadded(out, f.day, 2);
    out.push_back('T');
    AppendPadded(out, f.hour, 2);
    out.push_back(':');
    AppendPadded(out, f.minute, 2);
    out.push_back(':');
    AppendPadded(out, f.second, 2);
    out.push_back('.');
    AppendPadded(out, f.milli, 3);
    out.push_back('Z');
    return out;
}

core::Result<std::string> FormatDate(std::int64_t millis, std::string_view format, const TimeZone& tz) {
    if (format.size() > kMaxFormatLength) return core::InvalidArgument("date format is longer than 1024 characters");
    const Fields f = BreakDown(millis, tz);
    std::string out;
    out.reserve(format.size() + 16);
    for (std::size_t pos = 0; pos < format.size();) {
        const Token t = NextToken(format, pos);
        switch (t.kind) {
            case Tok::kLiteral:
                out += t.text;
                break;
            case Tok::kYear4:
                AppendPadded(out, f.year, 4);
                break;
            case Tok::kYear2:
                AppendPadded(out, (f.year < 0 ? -f.year : f.year) % 100, 2);
                break;
            case Tok::kYear:
                AppendPadded(out, f.year, 1);
                break;
            case Tok::kQuarter:
                AppendPadded(out, (f.month - 1) / 3 + 1, 1);
                break;
            case Tok::kMonthName:
                out += kMonthNames[f.month - 1];
                break;
            case Tok::kMonthShort:
                out += kMonthNames[f.month - 1].substr(0, 3);
                break;
            case Tok::kMonth2:
                AppendPadded(out, f.month, 2);
                break;
            case Tok::kMonthOrdinal:
                AppendPadded(out, f.month, 1);
                out += OrdinalSuffix(f.month);
                break;
            case Tok::kMonth:
                AppendPadded(out, f.month, 1);
                break;
            case Tok::kDayOfYear3:
                AppendPadded(out, f.yday, 3);
                break;
            case Tok::kDayOfYear:
                AppendPadded(out, f.yday, 1);
                break;
            case Tok::kDay2:
                AppendPadded(out, f.day, 2);
                break;
            case Tok::kDayOrdinal:
                AppendPadded(out, f.day, 1);
                out += OrdinalSuffix(f.day);
                break;
            case Tok::kDay:
                AppendPadded(out, f.day, 1);
                break;
            case Tok::kWeekdayName:
                out += kWeekdayNames[f.weekday];
                break;
            case Tok::kWeekdayShort:
                out += kWeekdayNames[f.weekday].substr(0, 3);
                break;
            case Tok::kWeekdayMin:
                out += kWeekdayNames[f.weekday].substr(0, 2);
                break;
            case Tok::kWeekday:
                AppendPadded(out, f.weekday, 1);
                break;
            case Tok::kIsoWeekday:
                AppendPadded(out, f.weekday == 0 ? 7 : f.weekday, 1);
                break;
            case Tok::kWeek2:
            case Tok::kWeek:
                AppendPadded(out, LocaleWeek(f.days, f.weekday).week, t.kind == Tok::kWeek2 ? 2 : 1);
                break;
            case Tok::kIsoWeek2:
            case Tok::kIsoWeek:
                AppendPadded(out, IsoWeek(f.days, f.weekday).week, t.kind == Tok::kIsoWeek2 ? 2 : 1);
                break;
            case Tok::kIsoWeekYear4:
                AppendPadded(out, IsoWeek(f.days, f.weekday).year, 4);
                break;
            case Tok::kIsoWeekYear2:
                AppendPadded(out, IsoWeek(f.days, f.weekday).year % 100, 2);
                break;
            case Tok::kWeekYear4:
                AppendPadded(out, LocaleWeek(f.days, f.weekday).year, 4);
                break;
            case Tok::kWeekYear2:
                AppendPadded(out, LocaleWeek(f.days, f.weekday).year % 100, 2);
                break;
            case Tok::kHour24Pad:
                AppendPadded(out, f.hour, 2);
                break;
            case Tok::kHour24:
                AppendPadded(out, f.hour, 1);
                break;
            case Tok::kHour12Pad:
            case Tok::kHour12:
                AppendPadded(out, f.hour % 12 == 0 ? 12 : f.hour % 12, t.kind == Tok::kHour12Pad ? 2 : 1);
                break;
            case Tok::kHour1To24Pad:
            case Tok::kHour1To24:
                AppendPadded(out, f.hour == 0 ? 24 : f.hour, t.kind == Tok::kHour1To24Pad ? 2 : 1);
                break;
            case Tok::kMinutePad:
                AppendPadded(out, f.minute, 2);
                break;
            case Tok::kMinute:
                AppendPadded(out, f.minute, 1);
                break;
            case Tok::kSecondPad:
                AppendPadded(out, f.second, 2);
                break;
            case Tok::kSecond:
                AppendPadded(out, f.second, 1);
                break;
            case Tok::kFraction: {
                std::string ms;
                AppendPadded(ms, f.milli, 3);
                for (std::size_t i = 0; i < t.text.size(); ++i) out.push_back(i < 3 ? ms[i] : '0');
                break;
            }
            case Tok::kAmPmUpper:
                out += f.hour < 12 ? "AM" : "PM";
                break;
            case Tok::kAmPmLower:
                out += f.hour < 12 ? "am" : "pm";
                break;
            case Tok::kOffsetColon:
                AppendOffset(out, f.offset, true);
                break;
            case Tok::kOffset:
                AppendOffset(out, f.offset, false);
                break;
            case Tok::kUnixSeconds:
                AppendPadded(out, FloorDiv(f.millis, 1000), 1);
                break;
            case Tok::kUnixMillis:
                AppendPadded(out, f.millis, 1);
                break;
        }
    }
    return out;
}

core::Result<std::int64_t> ParseDateWithFormat(std::string_view text, std::string_view format, const TimeZone& tz,
                                               std::int64_t now_millis) {
    if (format.size() > kMaxFormatLength) return core::InvalidArgument("date format is longer than 1024 characters");
    auto mismatch = [&] {
        return core::InvalidArgument("text '" + Truncated(text) + "' does not match the format '" + Truncated(format) +
                                     "'");
    };
    std::optional<std::int64_t> year, month, day, yday, hour, minute, second, millis, epoch_millis;
    std::optional<std::int32_t> offset;
    std::optional<bool> pm;
    Scanner s(text);
    for (std::size_t pos = 0; pos < format.size();) {
        const Token t = NextToken(format, pos);
        if (t.kind == Tok::kLiteral) {
            for (char c : t.text) {
                if (c == ' ') {
                    s.SkipSpaces();
                } else if (!s.AtEnd() && !s.Consume(c)) {
                    return mismatch();
                }
            }
            continue;
        }
        if (s.AtEnd()) break;  // forgiving: missing trailing parts take their defaults
        switch (t.kind) {
            case Tok::kYear4:
                year = s.Digits(1, 4);
                if (!year) return mismatch();
                break;
            case Tok::kYear2:
            case Tok::kYear: {
                bool negative = t.kind == Tok::kYear && s.Consume('-');
                const auto v = t.kind == Tok::kYear2 ? s.Digits(2, 2) : s.Digits(1, 6);
                if (!v) return mismatch();
                if (t.kind == Tok::kYear2) {
                    year = *v > 68 ? 1900 + *v : 2000 + *v;
                } else {
                    year = negative ? -*v : *v;
                }
                break;
            }
            case Tok::kQuarter: {
                const auto q = s.Digits(1, 1);
                if (!q || *q < 1 || *q > 4) return mismatch();
                month = (*q - 1) * 3 + 1;
                break;
            }
            case Tok::kMonthName:
            case Tok::kMonthShort: {
                const auto m = MonthFromName(s.Letters());
                if (!m) return mismatch();
                month = *m;
                break;
            }
            case Tok::kMonth2:
            case Tok::kMonth:
            case Tok::kMonthOrdinal:
                month = s.Digits(1, 2);
                if (!month) return mismatch();
                if (t.kind == Tok::kMonthOrdinal) s.Letters();
                break;
            case Tok::kDayOfYear3:
            case Tok::kDayOfYear:
                yday = s.Digits(1, 3);
                if (!yday) return mismatch();
                break;
            case Tok::kDay2:
            case Tok::kDay:
            case Tok::kDayOrdinal:
                day = s.Digits(1, 2);
                if (!day) return mismatch();
                if (t.kind == Tok::kDayOrdinal) s.Letters();
                break;
            case Tok::kWeekdayName:
            case Tok::kWeekdayShort:
            case Tok::kWeekdayMin:
                if (!IsWeekdayName(s.Letters())) return mismatch();
                break;
            case Tok::kWeekday:
            case Tok::kIsoWeekday:
                if (!s.Digits(1, 1)) return mismatch();
                break;
            case Tok::kWeek2:
            case Tok::kWeek:
            case Tok::kIsoWeek2:
            case Tok::kIsoWeek:
            case Tok::kIsoWeekYear4:
            case Tok::kIsoWeekYear2:
            case Tok::kWeekYear4:
            case Tok::kWeekYear2:
                return core::InvalidArgument("format token '" + std::string(t.text) +
                                             "' is supported by formatDate only");
            case Tok::kHour24Pad:
            case Tok::kHour24:
            case Tok::kHour12Pad:
            case Tok::kHour12:
            case Tok::kHour1To24Pad:
            case Tok::kHour1To24:
                hour = s.Digits(1, 2);
                if (!hour) return mismatch();
                if ((t.kind == Tok::kHour1To24Pad || t.kind == Tok::kHour1To24) && *hour == 24) hour = 0;
                break;
            case Tok::kMinutePad:
            case Tok::kMinute:
                minute = s.Digits(1, 2);
                if (!minute) return mismatch();
                break;
            case Tok::kSecondPad:
            case Tok::kSecond:
                second = s.Digits(1, 2);
                if (!second) return mismatch();
                break;
            case Tok::kFraction: {
                const std::size_t start = s.pos();
                const std::size_t max = t.text.size() <= 3 ? t.text.size() : 9;
                if (!s.Digits(1, max)) return mismatch();
                millis = FractionToMillis(text.substr(start, s.pos() - start));
                break;
            }
            case Tok::kAmPmUpper:
            case Tok::kAmPmLower: {
                const std::string_view word = s.Letters();
                if (EqualsIgnoreCase(word, "am")) {
                    pm = false;
                } else if (EqualsIgnoreCase(word, "pm")) {
                    pm = true;
                } else {
                    return mismatch();
                }
                break;
            }
            case Tok::kOffsetColon:
            case Tok::kOffset:
                offset = ScanOffset(s);
                if (!offset) return mismatch();
                break;
            case Tok::kUnixSeconds:
            case Tok::kUnixMillis: {
                const bool negative = s.Consume('-');
                const auto whole = s.Digits(1, 16);
                if (!whole) return mismatch();
                std::int64_t ms = t.kind == Tok::kUnixSeconds ? *whole * 1000 : *whole;
                if (t.kind == Tok::kUnixSeconds && s.Consume('.')) {
                    const std::size_t start = s.pos();
                    if (!s.Digits(1, 9)) return mismatch();
                    ms += FractionToMillis(text.substr(start, s.pos() - start));
                }
                epoch_millis = negative ? -ms : ms;
                break;
            }
            case Tok::kLiteral:
                break;
        }
    }
    if (epoch_millis) {
        if (*epoch_millis < -kMaxDateMillis || *epoch_millis > kMaxDateMillis) return mismatch();
        return *epoch_millis;
    }
    // moment: the current date fills the year, month and day missing before the first one given.
    const Fields now = BreakDown(now_millis, tz);
    if (!year) {
        year = now.year;
        if (!month && !yday) {
            month = now.month;
            if (!day) day = now.day;
        }
    }
    if (yday) {
        if (*yday < 1 || *yday > (IsLeapYear(*year) ? 366 : 365)) return mismatch();
        const CivilDate d = CivilFromDays(DaysFromCivil(*year, 1, 1) + *yday - 1);
        month = d.month;
        day = d.day;
    }
    std::int64_t h = hour.value_or(0);
    if (pm) {
        if (h < 1 || h > 12) return mismatch();
        h = (h % 12) + (*pm ? 12 : 0);
    }
    if (month.value_or(1) > 12 || day.value_or(1) > 31) return mismatch();
    const auto result = Assemble(*year, static_cast<int>(month.value_or(1)), static_cast<int>(day.value_or(1)), h,
                                 minute.value_or(0), second.value_or(0), millis.value_or(0), offset, tz);
    if (!result) return mismatch();
    return *result;
}

std::optional<std::int64_t> AddMonths(std::int64_t millis, std::int64_t months) {
    if (months > 12 * 600000 || months < -12 * 600000) return std::nullopt;
    const std::int64_t days = FloorDiv(millis, kMillisPerDay);
    const std::int64_t in_day = millis - days * kMillisPerDay;
    const CivilDate d = CivilFromDays(days);
    const std::int64_t total = d.year * 12 + (d.month - 1) + months;
    const std::int64_t year = FloorDiv(total, 12);
    const int month = static_cast<int>(total - year * 12) + 1;
    const int day = std::min(d.day, DaysInMonth(year, month));
    const std::int64_t result = DaysFromCivil(year, month, day) * kMillisPerDay + in_day;
    if (result < -kMaxDateMillis || result > kMaxDateMillis) return std::nullopt;
    return result;
}

}  // namespace switchboard::iml
