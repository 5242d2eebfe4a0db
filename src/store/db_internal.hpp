#pragma once
// Helpers shared by the two Db backends; not part of the store's public interface.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

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

// PostgreSQL (postgres_db.cpp). The libpq connection string of a database URL as OpenDb takes it ("postgres://…",
// "postgresql://…", or "postgres:"/"postgresql:" followed by key=value pairs); nullopt when it is not PostgreSQL's.
std::optional<std::string> PostgresConninfo(std::string_view url);
using ConnParams = std::vector<std::pair<std::string, std::string>>;  // libpq keyword/value pairs
// The pairs a libpq connection string sets (kInvalidArgument with libpq's reason when it cannot be parsed).
core::Result<ConnParams> ParseConninfo(const std::string& conninfo);
// Null-terminated keyword and value arrays over `params` (which must outlive them), for PQconnectdbParams and
// PQconnectStartParams.
struct LibpqParams {
    explicit LibpqParams(const ConnParams& params);
    std::vector<const char*> keywords;
    std::vector<const char*> values;
};

inline constexpr std::string_view kNestedUseMessage =
    "Db called inside its own Transaction on the same thread; run the statement through the Tx instead";

}  // namespace switchboard::store
