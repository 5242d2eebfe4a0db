# Warnings are errors for our own code; third-party headers come in as system includes.
# -Wno-restrict: GCC 12 reports false positives for `"literal" + std::string&&` at -O3 (GCC bug 105329).
add_library(sb_warnings INTERFACE)
target_compile_options(sb_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Werror
                                             -Wno-restrict)
