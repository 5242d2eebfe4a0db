// Google Benchmark micro-benchmarks of the IML template language: parsing, and rendering the kind of mapper
// a scenario module or an app definition renders for every bundle.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "iml/template.hpp"

namespace {

namespace json = boost::json;
using switchboard::iml::Context;
using switchboard::iml::Template;
using switchboard::iml::ValueTemplate;

const json::value kMapper = json::parse(R"({
    "email": "{{1.from.address}}",
    "subject": "{{lower(1.subject)}}",
    "n": "{{1.count + 1}}",
    "when": "{{formatDate(1.date; \"YYYY-MM-DD\")}}",
    "tag": "{{if(1.vip; \"vip\"; \"std\")}}"
})");

const json::object& Root() {
    static const json::object root = json::parse(R"({
        "1": {"from": {"address": "ann@example.com", "name": "Ann"}, "subject": "Quarterly Report Q3",
              "count": 41, "date": "2024-03-01T09:30:00.000Z", "vip": true,
              "items": [{"id": 1, "name": "apple"}, {"id": 2, "name": "banana"}]},
        "parameters": {"apiKey": "k-123", "username": "user", "password": "secret"},
        "connection": {"accessToken": "tok-abcdef"}
    })")
                                         .as_object();
    return root;
}

struct Fixture {
    switchboard::core::ManualClock clock{1'700'000'000'000};
    switchboard::core::SeededRandom random{1};
    Context ctx;
    Fixture() {
        ctx.root = &Root();
        ctx.clock = &clock;
        ctx.random = &random;
    }
};

void BM_ParseSimplePath(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(Template::Parse("Bearer {{connection.accessToken}}"));
}
BENCHMARK(BM_ParseSimplePath);

void BM_ParseFunctionCall(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(Template::Parse("{{formatDate(addDays(1.date; 7); \"YYYY-MM-DD HH:mm\"; \"UTC\")}}"));
    }
}
BENCHMARK(BM_ParseFunctionCall);

void BM_CompileMapper(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(ValueTemplate::Compile(kMapper));
}
BENCHMARK(BM_CompileMapper);

void BM_RenderMapper(benchmark::State& state) {
    Fixture f;
    const ValueTemplate mapper = *ValueTemplate::Compile(kMapper);
    for (auto _ : state) benchmark::DoNotOptimize(mapper.Render(f.ctx));
}
BENCHMARK(BM_RenderMapper);

void BM_RenderPath(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{1.from.address}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderPath);

void BM_RenderTextWithPath(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("Bearer {{connection.accessToken}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderTextWithPath);

void BM_RenderArithmetic(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{1.count * 2 + 1 > 50 & 1.vip}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderArithmetic);

void BM_RenderFormatDate(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{formatDate(1.date; \"YYYY-MM-DD\")}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderFormatDate);

void BM_RenderFormatDateZone(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{formatDate(1.date; \"YYYY-MM-DD HH:mm Z\"; \"Europe/Prague\")}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderFormatDateZone);

void BM_RenderBasicAuth(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("Basic {{base64(parameters.username + ':' + parameters.password)}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderBasicAuth);

void BM_RenderRegexReplace(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{replace(1.subject; /\\s+/g; \"-\")}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderRegexReplace);

void BM_RenderArrayPipeline(benchmark::State& state) {
    Fixture f;
    const Template t = *Template::Parse("{{join(sort(map(1.items; \"name\"); \"desc\"); \", \")}}");
    for (auto _ : state) benchmark::DoNotOptimize(t.Render(f.ctx));
}
BENCHMARK(BM_RenderArrayPipeline);

}  // namespace

BENCHMARK_MAIN();
