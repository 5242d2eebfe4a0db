// libFuzzer target for the IML template language: every input is parsed as a template and, when it parses,
// rendered (typed and as text) against a small context; inputs that are JSON are also compiled and rendered
// as a ValueTemplate spec. Nothing may crash, leak, hang or exceed the limits. Built and run by
// scripts/fuzz-iml.sh.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "iml/template.hpp"

namespace {

namespace json = boost::json;
using switchboard::iml::Context;

const json::object& Root() {
    static const json::object root = json::parse(R"({
        "1": {"subject": "Hello World", "count": 41, "price": 19.99, "vip": true, "date": "2024-03-01T09:30:00Z",
              "from": {"address": "ann@example.com"}, "items": [{"id": 1, "name": "a", "tags": ["x"]}, {"id": 2}],
              "Customer Name": "ACME", "empty": "", "nothing": null, "numbers": [5, 3, 8, 1],
              "html": "<p>Hi <b>there</b></p>", "big": 18446744073709551615, "neg": -9223372036854775808},
        "parameters": {"apiKey": "k", "scopes": ["a", "b"]},
        "connection": {"accessToken": "t", "expires": "2023-11-14T22:20:00Z"},
        "body": {"expires_in": 3600, "nested": [[[1]]]}
    })")
                                         .as_object();
    return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    switchboard::core::ManualClock clock(1'700'000'000'000);
    switchboard::core::SeededRandom random(size);
    Context ctx;
    ctx.root = &Root();
    ctx.clock = &clock;
    ctx.random = &random;
    ctx.timezone = size % 2 == 0 ? "UTC" : "Europe/Prague";
    ctx.limits.max_output_bytes = 1 << 20;
    ctx.limits.max_steps = 2'000'000;

    if (auto t = switchboard::iml::Template::Parse(text)) {
        (void)t->Render(ctx);
        (void)t->RenderText(ctx);
    }
    boost::system::error_code ec;
    const json::value spec = json::parse(text, ec);
    if (!ec) (void)switchboard::iml::RenderValue(spec, ctx);
    return 0;
}
