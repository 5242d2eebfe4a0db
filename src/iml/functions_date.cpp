// Date functions: now, timestamp, formatDate, parseDate, addSeconds, addMinutes, addHours, addDays,
// addMonths, addYears.
#include <cmath>

#include "iml/dates.hpp"
#include "iml/function_impls.hpp"
#include "iml/function_util.hpp"
#include "iml/timezone.hpp"

namespace switchboard::iml::fn {

namespace {

// The zone named by an optional argument, else the context's.
core::Result<std::shared_ptr<const TimeZone>> ZoneArg(Call& c, std::size_t index) {
    if (Missing(c, index)) return c.eval.DefaultZone();
    const TextArg name(c.args[index]);
    if (name.view().empty()) return c.eval.DefaultZone();
    return TimeZone::Find(name.view());
}

// A date argument as epoch milliseconds: ISO 8601 / RFC 2822 text, or a number of milliseconds.
core::Result<std::int64_t> DateArg(const Operand& o, const TimeZone& zone) {
    const json::value& v = o.get();
    if (IsNumber(v)) {
        const double ms = *ToNumber(v);
        if (!(std::fabs(ms) <= static_cast<double>(kMaxDateMillis))) {
            return core::InvalidArgument("date out of range: " + Quote(v));
        }
        return static_cast<std::int64_t>(std::floor(ms));
    }
    if (v.is_string()) {
        if (auto ms = ParseDateText(v.get_string(), zone)) return *ms;
    }
    return core::InvalidArgument("invalid date " + Quote(v));
}

bool NoDate(const Call& c) {
    const json::value& v = c.args[0].get();
    return v.is_null() || (v.is_string() && v.get_string().empty());
}

core::Result<Operand> AddUnits(Call& c, double unit_millis) {
    if (NoDate(c)) return Null();
    auto date = DateArg(c.args[0], TimeZone::Utc());
    if (!date) return date.error();
    auto amount = NumberArg(c.args[1]);
    if (!amount) return amount.error();
    const double result = static_cast<double>(*date) + std::round(*amount * unit_millis);
    if (!(std::fabs(result) <= static_cast<double>(kMaxDateMillis))) return core::InvalidArgument("date out of range");
    return Text(FormatIsoMillis(static_cast<std::int64_t>(result)));
}

core::Result<Operand> AddCalendarMonths(Call& c, std::int64_t months_per_unit) {
    if (NoDate(c)) return Null();
    auto date = DateArg(c.args[0], TimeZone::Utc());
    if (!date) return date.error();
    auto amount = IntegerArg(c.args[1]);
    if (!amount) return amount.error();
    if (std::llabs(*amount) > 10'000'000) return core::InvalidArgument("date out of range");
    const auto result = AddMonths(*date, *amount * months_per_unit);
    if (!result) return core::InvalidArgument("date out of range");
    return Text(FormatIsoMillis(*result));
}

}  // namespace

core::Result<Operand> Now(Call& c) {
    auto now = c.eval.NowMillis();
    if (!now) return now.error();
    return Text(FormatIsoMillis(*now));
}

core::Result<Operand> Timestamp(Call& c) {
    auto now = c.eval.NowMillis();
    if (!now) return now.error();
    return Integer(*now >= 0 ? *now / 1000 : -((-*now + 999) / 1000));
}

core::Result<Operand> FormatDateFn(Call& c) {
    if (NoDate(c)) return Null();
    auto zone = ZoneArg(c, 2);
    if (!zone) return zone.error();
    auto date = DateArg(c.args[0], **zone);
    if (!date) return date.error();
    auto format = FormatDate(*date, TextArg(c.args[1]).view(), **zone);
    if (!format) return format.error();
    return Text(*format);
}

core::Result<Operand> ParseDate(Call& c) {
    if (NoDate(c)) return Null();
    auto zone = ZoneArg(c, 2);
    if (!zone) return zone.error();
    if (Missing(c, 1) || IsNumber(c.args[0].get())) {
        auto date = DateArg(c.args[0], **zone);
        if (!date) return date.error();
        return Text(FormatIsoMillis(*date));
    }
    auto now = c.eval.NowMillis();
    if (!now) return now.error();
    auto date = ParseDateWithFormat(TextArg(c.args[0]).view(), TextArg(c.args[1]).view(), **zone, *now);
    if (!date) return date.error();
    return Text(FormatIsoMillis(*date));
}

core::Result<Operand> AddSeconds(Call& c) { return AddUnits(c, 1000.0); }
core::Result<Operand> AddMinutes(Call& c) { return AddUnits(c, 60'000.0); }
core::Result<Operand> AddHours(Call& c) { return AddUnits(c, 3'600'000.0); }
core::Result<Operand> AddDays(Call& c) { return AddUnits(c, 86'400'000.0); }
core::Result<Operand> AddMonthsFn(Call& c) { return AddCalendarMonths(c, 1); }
core::Result<Operand> AddYears(Call& c) { return AddCalendarMonths(c, 12); }

}  // namespace switchboard::iml::fn
