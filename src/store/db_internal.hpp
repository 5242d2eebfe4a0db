#pragma once
// Helpers shared by the two Db backends; not part of the store's public interface.
#include <string>
#include <string_view>

namespace switchboard::store {

class Db;

// Shortest text that parses back to the same double; NaN/Infinity spelled as PostgreSQL spells them.
std::string FormatDouble(double v);

// The highest $N placeholder in `sql` outside string literals, quoted identifiers and comments (0 when none).
int HighestPlaceholder(std::string_view sql);

// Marks the current thread as running inside a transaction of `db` for the guard's lifetime, so that a nested
// call on the same Db (which would deadlock on SQLite and escape the transaction on PostgreSQL) fails fast.
class TransactionScope {
  public:
    explicit TransactionScope(const Db* db);
    ~TransactionScope();
    TransactionScope(const TransactionScope&) = delete;
    TransactionScope& operator=(const TransactionScope&) = delete;
    // True when the current thread is inside a transaction of `db`.
    static bool Active(const Db* db);

  private:
    const Db* previous_;
};

inline constexpr std::string_view kNestedUseMessage =
    "Db called inside its own Transaction on the same thread; run the statement through the Tx instead";

}  // namespace switchboard::store
