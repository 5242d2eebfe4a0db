#include "core/clock.hpp"

#include <ctime>
#include <string>

namespace switchboard::core {

std::string FormatIso8601(std::int64_t millis) {
    std::time_t secs = static_cast<std::time_t>(millis / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(millis % 1000));
    return out;
}

}  // namespace switchboard::core
