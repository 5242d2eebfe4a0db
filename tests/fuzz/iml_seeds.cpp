// Writes every template of the IML expression table as one file of a libFuzzer seed corpus.
// Usage: iml_seeds <expressions.json> <output dir>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: iml_seeds <expressions.json> <output dir>\n";
        return 2;
    }
    std::ifstream in(argv[1]);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const boost::json::value table = boost::json::parse(text.str(), ec);
    if (ec || !table.is_object() || !table.as_object().contains("cases")) {
        std::cerr << "iml_seeds: cannot read " << argv[1] << "\n";
        return 1;
    }
    std::filesystem::create_directories(argv[2]);
    std::size_t n = 0;
    for (const auto& c : table.at("cases").as_array()) {
        const auto& tmpl = c.at("template").as_string();
        std::ofstream(std::filesystem::path(argv[2]) / ("seed-" + std::to_string(n++)), std::ios::binary)
            .write(tmpl.data(), static_cast<std::streamsize>(tmpl.size()));
    }
    std::cout << "iml_seeds: " << n << " seeds\n";
    return 0;
}
