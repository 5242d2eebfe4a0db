// Scheduling: Make's scheduling object and cron, the next run in a time zone (across DST), start/end bounds.
#include "engine/schedule.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "iml/dates.hpp"
#include "iml/timezone.hpp"

namespace switchboard::engine {
namespace {

namespace json = boost::json;

std::int64_t Ms(std::string_view iso) {
    auto ms = iml::ParseDateText(iso, iml::TimeZone::Utc());
    EXPECT_TRUE(ms.has_value()) << iso;
    return ms.value_or(0);
}

std::string Iso(std::optional<std::int64_t> ms) { return ms ? iml::FormatIsoMillis(*ms) : "none"; }

Schedule Parse(const char* text) {
    auto s = ParseSchedule(json::parse(text));
    EXPECT_TRUE(s.has_value()) << text << ": " << (s.has_value() ? "" : s.error().detail);
    return s.has_value() ? *s : Schedule{};
}

// The next `n` runs after `from`, each searched strictly after the previous one.
std::vector<std::string> Runs(const char* schedule, std::string_view from, int n) {
    const Schedule s = Parse(schedule);
    std::vector<std::string> out;
    std::optional<std::int64_t> at = Ms(from);
    for (int i = 0; i < n && at; ++i) {
        at = NextRun(s, *at);
        out.push_back(Iso(at));
    }
    return out;
}

using V = std::vector<std::string>;

TEST(Schedule, IntervalWithoutStartCountsFromTheGivenTime) {
    EXPECT_EQ(Runs(R"({"type": "indefinitely", "interval": 900})", "2026-03-01T10:07:00Z", 2),
              (V{"2026-03-01T10:22:00.000Z", "2026-03-01T10:37:00.000Z"}));
}

TEST(Schedule, IntervalWithStartRunsOnItsGrid) {
    const Schedule s = Parse(R"({"type": "indefinitely", "interval": 900, "start": "2026-03-01T10:00:00Z"})");
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T09:00:00Z"))), "2026-03-01T10:00:00.000Z");  // the start itself
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T10:20:00Z"))), "2026-03-01T10:30:00.000Z");
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T10:15:00Z"))), "2026-03-01T10:30:00.000Z");  // strictly after
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T10:00:00Z"))), "2026-03-01T10:15:00.000Z");
}

TEST(Schedule, DailyAcrossSpringForwardInPrague) {
    // 2026-03-29 02:00 CET the clocks jump to 03:00 CEST: 02:30 does not exist that night and runs at 03:30 CEST.
    EXPECT_EQ(Runs(R"({"type": "daily", "time": "02:30", "timezone": "Europe/Prague"})", "2026-03-27T00:00:00Z", 4),
              (V{"2026-03-27T01:30:00.000Z", "2026-03-28T01:30:00.000Z", "2026-03-29T01:30:00.000Z",
                 "2026-03-30T00:30:00.000Z"}));
    // A time outside the jump keeps its wall-clock time: 08:00 CET, then 08:00 CEST.
    EXPECT_EQ(Runs(R"({"type": "daily", "time": "08:00", "timezone": "Europe/Prague"})", "2026-03-28T00:00:00Z", 2),
              (V{"2026-03-28T07:00:00.000Z", "2026-03-29T06:00:00.000Z"}));
}

TEST(Schedule, DailyAcrossFallBackInPragueRunsOnce) {
    // 2026-10-25 03:00 CEST the clocks go back to 02:00 CET: 02:30 happens twice and runs at the first one only.
    EXPECT_EQ(Runs(R"({"type": "daily", "time": "02:30", "timezone": "Europe/Prague"})", "2026-10-24T00:00:00Z", 3),
              (V{"2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"}));
}

TEST(Schedule, DailyWithFixedOffsetZone) {
    EXPECT_EQ(Runs(R"({"type": "daily", "time": "09:15", "timezone": "-05:00"})", "2026-03-01T00:00:00Z", 1),
              (V{"2026-03-01T14:15:00.000Z"}));
}

TEST(Schedule, Weekly) {
    // 2026-03-04 is a Wednesday: Friday, Monday, Friday.
    EXPECT_EQ(Runs(R"({"type": "weekly", "days": [1, 5], "time": "08:30"})", "2026-03-04T12:00:00Z", 3),
              (V{"2026-03-06T08:30:00.000Z", "2026-03-09T08:30:00.000Z", "2026-03-13T08:30:00.000Z"}));
    // 7 is Sunday, as 0 is.
    EXPECT_EQ(Runs(R"({"type": "weekly", "days": [7], "time": "10:00"})", "2026-03-07T00:00:00Z", 2),
              (V{"2026-03-08T10:00:00.000Z", "2026-03-15T10:00:00.000Z"}));
    // Mondays 09:00 in Prague, before and after the DST change.
    EXPECT_EQ(Runs(R"({"type": "weekly", "days": [1], "time": "09:00", "timezone": "Europe/Prague"})",
                   "2026-03-20T00:00:00Z", 2),
              (V{"2026-03-23T08:00:00.000Z", "2026-03-30T07:00:00.000Z"}));
}

TEST(Schedule, MonthlyDatesPastAShortMonthsEndRunOnItsLastDay) {
    EXPECT_EQ(Runs(R"({"type": "monthly", "dates": [31], "time": "09:00"})", "2026-01-31T10:00:00Z", 4),
              (V{"2026-02-28T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-04-30T09:00:00.000Z",
                 "2026-05-31T09:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "monthly", "dates": [31], "time": "09:00"})", "2028-02-01T00:00:00Z", 1),
              (V{"2028-02-29T09:00:00.000Z"}));  // leap year
    EXPECT_EQ(Runs(R"({"type": "monthly", "dates": [15, 31], "time": "09:00"})", "2026-04-01T00:00:00Z", 4),
              (V{"2026-04-15T09:00:00.000Z", "2026-04-30T09:00:00.000Z", "2026-05-15T09:00:00.000Z",
                 "2026-05-31T09:00:00.000Z"}));
    // 30 and 31 both fall on Feb 28: one run that day.
    EXPECT_EQ(Runs(R"({"type": "monthly", "dates": [31, 30], "time": "09:00"})", "2026-02-01T00:00:00Z", 3),
              (V{"2026-02-28T09:00:00.000Z", "2026-03-30T09:00:00.000Z", "2026-03-31T09:00:00.000Z"}));
}

TEST(Schedule, CronStepsListsRangesAndNames) {
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "*/15 * * * *"})", "2026-03-01T10:07:30Z", 4),
              (V{"2026-03-01T10:15:00.000Z", "2026-03-01T10:30:00.000Z", "2026-03-01T10:45:00.000Z",
                 "2026-03-01T11:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "5-10/5 9,17 * * *"})", "2026-03-01T09:00:00Z", 4),
              (V{"2026-03-01T09:05:00.000Z", "2026-03-01T09:10:00.000Z", "2026-03-01T17:05:00.000Z",
                 "2026-03-01T17:10:00.000Z"}));
    // Weekdays only; 2026-03-06 is a Friday.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 9 * * MON-FRI"})", "2026-03-06T10:00:00Z", 2),
              (V{"2026-03-09T09:00:00.000Z", "2026-03-10T09:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 0 1,15 * *"})", "2026-03-02T00:00:00Z", 2),
              (V{"2026-03-15T00:00:00.000Z", "2026-04-01T00:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "30 8 1 JAN,jul *"})", "2026-02-01T00:00:00Z", 2),
              (V{"2026-07-01T08:30:00.000Z", "2027-01-01T08:30:00.000Z"}));
    // 7 is Sunday; 2026-03-07 is a Saturday.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 0 * * 7"})", "2026-03-07T12:00:00Z", 1),
              (V{"2026-03-08T00:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 0 * * sun"})", "2026-03-07T12:00:00Z", 1),
              (V{"2026-03-08T00:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "@daily"})", "2026-03-07T12:00:00Z", 1),
              (V{"2026-03-08T00:00:00.000Z"}));
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "@hourly"})", "2026-03-07T12:00:00Z", 1),
              (V{"2026-03-07T13:00:00.000Z"}));
}

TEST(Schedule, CronVixieRuleForTheTwoDayFields) {
    // Both restricted: the 10th OR any Friday (Feb 2026: Fri 6, Tue 10, Fri 13).
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 12 10 * FRI"})", "2026-02-01T00:00:00Z", 3),
              (V{"2026-02-06T12:00:00.000Z", "2026-02-10T12:00:00.000Z", "2026-02-13T12:00:00.000Z"}));
    // A day field starting with '*' counts as unrestricted (Vixie), so the two combine with AND: odd days that
    // are Fridays.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 12 */2 * FRI"})", "2026-02-01T00:00:00Z", 3),
              (V{"2026-02-13T12:00:00.000Z", "2026-02-27T12:00:00.000Z", "2026-03-13T12:00:00.000Z"}));
    // Only the day of week restricted.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 12 * * FRI"})", "2026-02-01T00:00:00Z", 2),
              (V{"2026-02-06T12:00:00.000Z", "2026-02-13T12:00:00.000Z"}));
}

TEST(Schedule, CronInPragueAcrossDst) {
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 9 * * *", "timezone": "Europe/Prague"})", "2026-03-28T00:00:00Z", 2),
              (V{"2026-03-28T08:00:00.000Z", "2026-03-29T07:00:00.000Z"}));
    // Autumn: the repeated hour runs at its first occurrence only (02:30 CEST), then 03:00 CET.
    EXPECT_EQ(
        Runs(R"({"type": "cron", "cron": "*/30 * * * *", "timezone": "Europe/Prague"})", "2026-10-25T00:10:00Z", 2),
        (V{"2026-10-25T00:30:00.000Z", "2026-10-25T02:00:00.000Z"}));
}

TEST(Schedule, CronThatRarelyOrNeverMatches) {
    // Feb 29: 2100 is not a leap year, so after 2096 the next is 2104.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 0 29 2 *"})", "2097-03-01T00:00:00Z", 1),
              (V{"2104-02-29T00:00:00.000Z"}));
    // Feb 31 never comes: bounded search, no run.
    EXPECT_EQ(Runs(R"({"type": "cron", "cron": "0 0 31 2 *"})", "2026-01-01T00:00:00Z", 1), (V{"none"}));
}

TEST(Schedule, StartAndEndBoundTheRuns) {
    EXPECT_EQ(Runs(R"({"type": "daily", "time": "10:00", "start": "2026-03-10T00:00:00Z",
                       "end": "2026-03-12T10:00:00Z"})",
                   "2026-03-01T00:00:00Z", 4),
              (V{"2026-03-10T10:00:00.000Z", "2026-03-11T10:00:00.000Z", "2026-03-12T10:00:00.000Z", "none"}));
    // Dates without an offset are in the schedule's zone.
    const Schedule s =
        Parse(R"({"type": "daily", "time": "00:00", "timezone": "Europe/Prague", "start": "2026-03-10"})");
    ASSERT_TRUE(s.start.has_value());
    EXPECT_EQ(Iso(s.start), "2026-03-09T23:00:00.000Z");
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T00:00:00Z"))), "2026-03-09T23:00:00.000Z");  // a run at the start counts
}

TEST(Schedule, Once) {
    const Schedule s = Parse(R"({"type": "once", "date": "2026-03-01T08:00:00Z"})");
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-02-01T00:00:00Z"))), "2026-03-01T08:00:00.000Z");
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-01T08:00:00Z"))), "none");  // strictly after
    EXPECT_EQ(Iso(NextRun(s, Ms("2026-03-02T00:00:00Z"))), "none");  // in the past
    const Schedule local = Parse(R"({"type": "once", "date": "2026-12-01T08:00", "timezone": "Europe/Prague"})");
    EXPECT_EQ(Iso(local.once_at), "2026-12-01T07:00:00.000Z");
    const Schedule before_start =
        Parse(R"({"type": "once", "date": "2026-03-01T08:00:00Z", "start": "2026-04-01T00:00:00Z"})");
    EXPECT_EQ(Iso(NextRun(before_start, Ms("2026-01-01T00:00:00Z"))), "none");
}

TEST(Schedule, OnDemandAndImmediatelyNeverRunByThemselves) {
    for (const char* text : {R"({"type": "on-demand"})", R"({"type": "immediately"})"}) {
        const Schedule s = Parse(text);
        EXPECT_FALSE(IsScheduled(s));
        EXPECT_EQ(NextRun(s, Ms("2026-01-01T00:00:00Z")), std::nullopt);
    }
    for (const char* text : {R"({"type": "indefinitely", "interval": 60})", R"({"type": "daily", "time": "00:00"})",
                             R"({"type": "cron", "cron": "* * * * *"})", R"({"type": "once", "date": "2026-01-01"})",
                             R"({"type": "weekly", "days": [0], "time": "00:00"})",
                             R"({"type": "monthly", "dates": [1], "time": "00:00"})"}) {
        EXPECT_TRUE(IsScheduled(Parse(text))) << text;
    }
}

TEST(Schedule, ErrorsNameTheField) {
    const std::pair<const char*, const char*> cases[] = {
        {R"([])", "scheduling: must be an object"},
        {R"({})", "scheduling.type: is missing"},
        {R"({"type": "yearly"})", "scheduling.type: unknown type 'yearly'"},
        {R"({"type": "indefinitely", "interval": 59})", "scheduling.interval: must be at least 60 seconds"},
        {R"({"type": "indefinitely", "interval": "900"})", "scheduling.interval: must be a number of seconds"},
        {R"({"type": "indefinitely"})", "scheduling.interval: must be a number of seconds"},
        {R"({"type": "once"})", "scheduling.date: is missing"},
        {R"({"type": "once", "date": "later"})", "scheduling.date: must be an ISO 8601 date"},
        {R"({"type": "daily"})", "scheduling.time: must be a time of day"},
        {R"({"type": "daily", "time": "25:00"})", "scheduling.time: must be a time of day"},
        {R"({"type": "daily", "time": "8:5"})", "scheduling.time: must be a time of day"},
        {R"({"type": "daily", "time": "08:30:00"})", "scheduling.time: must be a time of day"},
        {R"({"type": "weekly", "time": "08:30"})", "scheduling.days: must be a non-empty array"},
        {R"({"type": "weekly", "days": [], "time": "08:30"})", "scheduling.days: must be a non-empty array"},
        {R"({"type": "weekly", "days": [8], "time": "08:30"})", "scheduling.days: must be a non-empty array"},
        {R"({"type": "monthly", "dates": [0], "time": "08:30"})", "scheduling.dates: must be a non-empty array"},
        {R"({"type": "monthly", "dates": [32], "time": "08:30"})", "scheduling.dates: must be a non-empty array"},
        {R"({"type": "daily", "time": "08:30", "timezone": "Mars/Base"})",
         "scheduling.timezone: unknown time zone 'Mars/Base'"},
        {R"({"type": "daily", "time": "08:30", "timezone": 1})", "scheduling.timezone: must be an IANA name"},
        {R"({"type": "daily", "time": "08:30", "start": "soon"})", "scheduling.start: must be an ISO 8601 date"},
        {R"({"type": "daily", "time": "08:30", "start": "2026-03-02", "end": "2026-03-01"})",
         "scheduling.end: is before start"},
        {R"({"type": "cron"})", "scheduling.cron: must be a cron expression"},
        {R"({"type": "cron", "cron": "* * * *"})", "scheduling.cron: must have 5 fields"},
        {R"({"type": "cron", "cron": "0 * * * * *"})", "scheduling.cron: must have 5 fields"},
        {R"({"type": "cron", "cron": "60 * * * *"})", "scheduling.cron: minute field '60': '60' is not a valid value"},
        {R"({"type": "cron", "cron": "* 24 * * *"})", "scheduling.cron: hour field '24'"},
        {R"({"type": "cron", "cron": "* * 0 * *"})", "scheduling.cron: day of month field '0'"},
        {R"({"type": "cron", "cron": "* * * FOO *"})", "scheduling.cron: month field 'FOO'"},
        {R"({"type": "cron", "cron": "* * * * 8"})", "scheduling.cron: day of week field '8'"},
        {R"({"type": "cron", "cron": "5-1 * * * *"})", "scheduling.cron: minute field '5-1': the range '5-1' runs"},
        {R"({"type": "cron", "cron": "*/0 * * * *"})", "scheduling.cron: minute field '*/0': the step"},
        {R"({"type": "cron", "cron": "1,,2 * * * *"})", "scheduling.cron: minute field '1,,2': empty list item"},
        {R"({"type": "cron", "cron": "@reboot"})", "scheduling.cron: unknown macro"},
    };
    for (const auto& [text, error] : cases) {
        SCOPED_TRACE(text);
        auto r = ParseSchedule(json::parse(text));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code, core::Errc::kInvalidArgument);
        EXPECT_EQ(r.error().detail.rfind(error, 0), 0u) << r.error().detail;
    }
}

TEST(Schedule, WritesBackWhatItRead) {
    const Schedule weekly = Parse(R"({"type": "weekly", "days": [5, 1, 7, 0], "time": "8:30", "timezone":
        "Europe/Prague", "start": "2026-03-10", "restrict": [{"days": [1]}]})");
    EXPECT_EQ(json::value(ScheduleToJson(weekly)),
              json::parse(R"({"type": "weekly", "time": "08:30", "days": [0, 1, 5], "timezone": "Europe/Prague",
                              "start": "2026-03-09T23:00:00.000Z"})"));
    for (const char* text :
         {R"({"type": "on-demand"})", R"({"type": "immediately"})", R"({"type": "indefinitely", "interval": 900})",
          R"({"type": "once", "date": "2026-12-01T08:00:00Z", "end": "2027-01-01T00:00:00Z"})",
          R"({"type": "daily", "time": "23:59", "timezone": "+02:00"})",
          R"({"type": "monthly", "dates": [31, 1], "time": "00:00"})",
          R"({"type": "cron", "cron": "*/5 9-17 * * MON-FRI", "timezone": "America/New_York"})"}) {
        SCOPED_TRACE(text);
        const Schedule s = Parse(text);
        const json::object written = ScheduleToJson(s);
        auto again = ParseSchedule(written);
        ASSERT_TRUE(again.has_value()) << again.error().detail;
        EXPECT_EQ(ScheduleToJson(*again), written);
        EXPECT_EQ(NextRun(*again, Ms("2026-06-01T00:00:00Z")), NextRun(s, Ms("2026-06-01T00:00:00Z")));
    }
}

TEST(Schedule, AcceptsJsonText) {
    auto s = ParseSchedule(json::value(R"({"type": "indefinitely", "interval": 120})"));
    ASSERT_TRUE(s.has_value()) << s.error().detail;
    EXPECT_EQ(s->interval_seconds, 120);
    auto bad = ParseSchedule(json::value("{"));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().detail.rfind("scheduling: not valid JSON", 0), 0u);
}

TEST(Schedule, FarOutOfRangeTimesHaveNoRun) {
    const Schedule s = Parse(R"({"type": "cron", "cron": "* * * * *"})");
    EXPECT_EQ(NextRun(s, std::numeric_limits<std::int64_t>::max()), std::nullopt);
    const Schedule interval = Parse(R"({"type": "indefinitely", "interval": 60})");
    EXPECT_EQ(NextRun(interval, std::numeric_limits<std::int64_t>::max()), std::nullopt);
    EXPECT_TRUE(NextRun(s, std::numeric_limits<std::int64_t>::min()).has_value());
}

}  // namespace
}  // namespace switchboard::engine
