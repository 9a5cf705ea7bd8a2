#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "commands.h"

namespace ns::cli {
namespace {
std::vector<std::pair<int, AddCommand>>& registry() {
  static std::vector<std::pair<int, AddCommand>> r;
  return r;
}
}  // namespace

Registrar::Registrar(int order, AddCommand add) { registry().emplace_back(order, add); }

}  // namespace ns::cli

int main(int argc, char** argv) {
  CLI::App app{
      "neuroscalar: trace real programs, label them on candidate CPU designs, predict their\n"
      "performance with the NeuroScalar model, and compile/simulate/synthesise Neutrino."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "neuroscalar 0.1");
  auto commands = ns::cli::registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, add] : commands) add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "neuroscalar: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
