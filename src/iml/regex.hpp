#pragma once
// The regular expressions replace() and split() accept ("/\d+/g"): JavaScript syntax without lookaround and
// backreferences, run by a Pike VM, so matching time is linear in the text (times the pattern size) and a
// hostile pattern cannot backtrack exponentially or recurse. Case-insensitive matching uses the simple case
// mapping of utf8.hpp; \w, \d, \b are ASCII, as in JavaScript.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace switchboard::iml {

struct RegexProgram;

class Regex {
  public:
    // kInvalidArgument for a syntax error, an unsupported construct or flag, or a pattern too large to run.
    static core::Result<Regex> Compile(std::string_view pattern, std::string_view flags);
    // "/pattern/flags" → {pattern, flags} when `text` has that form: a non-empty pattern and flags from "gimsuy".
    static std::optional<std::pair<std::string_view, std::string_view>> SplitLiteral(std::string_view text);

    bool global() const;
    std::size_t group_count() const;  // capturing groups, not counting the whole match

    // Byte offsets: slots[2k], slots[2k+1] bound group k (0 = the whole match); -1 when the group did not take
    // part in the match.
    struct Match {
        std::vector<std::ptrdiff_t> slots;
    };
    // The leftmost match starting at or after byte `from`. Every VM step spends one unit of `steps`;
    // kInvalidArgument when they run out.
    core::Result<std::optional<Match>> Search(std::string_view text, std::size_t from, std::uint64_t& steps) const;

  private:
    std::shared_ptr<const RegexProgram> program_;
};

}  // namespace switchboard::iml
