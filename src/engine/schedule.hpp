#pragma once
// When a scheduled scenario runs: Make's scheduling object, plus cron.
//
//   {"type": "on-demand"}                         only "Run once" / the API
//   {"type": "immediately"}                       instant (webhook) scenarios
//   {"type": "indefinitely", "interval": 900}     every N seconds (≥ 60)
//   {"type": "once", "date": "2026-12-01T08:00:00Z"}
//   {"type": "daily", "time": "08:30"}            every day at a time
//   {"type": "weekly", "days": [1, 5], "time": "08:30"}   days 0 = Sunday … 6 = Saturday (7 = Sunday too)
//   {"type": "monthly", "dates": [1, 15], "time": "08:30"}
//   {"type": "cron", "cron": "*/5 * * * *"}       5 fields: minute hour day-of-month month day-of-week
//                                                  (lists, ranges, steps, names like MON/JAN; Vixie's OR rule
//                                                  when both day fields are restricted)
// Optional on all: "timezone" (IANA name or ±HH:MM, default UTC), "start" and "end" (ISO dates) bounding the runs.
// Times are wall-clock times in the zone: one skipped by a DST change runs as much later as the jump, a repeated
// one runs once (its first occurrence). Monthly dates past a short month's end run on its last day (31 → Apr 30).
// Intervals run on the grid start + k·interval when there is a start, else `interval` after the given time.
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace switchboard::engine {

struct Schedule {
    enum class Type { kOnDemand, kImmediately, kInterval, kOnce, kDaily, kWeekly, kMonthly, kCron };
    Type type = Type::kOnDemand;
    std::int64_t interval_seconds = 0;
    std::int64_t once_at = 0;  // ms
    int minute_of_day = 0;     // daily/weekly/monthly
    std::vector<int> days;     // weekly: 0..6
    std::vector<int> dates;    // monthly: 1..31
    std::string cron;
    std::string timezone = "UTC";
    std::optional<std::int64_t> start;
    std::optional<std::int64_t> end;
    // Parsed cron fields (bit sets), filled by ParseSchedule.
    std::uint64_t cron_minutes = 0, cron_hours = 0, cron_dom = 0, cron_months = 0, cron_dow = 0;
    bool cron_dom_star = true, cron_dow_star = true;
};

// kInvalidArgument naming the field: "scheduling.interval: must be at least 60 seconds".
core::Result<Schedule> ParseSchedule(const boost::json::value& v);
boost::json::object ScheduleToJson(const Schedule& s);

// The first run strictly after `after_ms`; nullopt when there is none (on-demand, immediately, a past once, past
// the end). Bounded work (a cron that never matches, e.g. Feb 31, gives nullopt).
std::optional<std::int64_t> NextRun(const Schedule& s, std::int64_t after_ms);

// True for the types the scheduler starts by itself (interval, once, daily, weekly, monthly, cron).
bool IsScheduled(const Schedule& s);

}  // namespace switchboard::engine
