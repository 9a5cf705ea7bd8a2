// Subcommands of the `neuroscalar` front door. Each part adds its commands in its own
// cmd_<name>.cpp with a static Registrar; main() needs no edit. A command reports a user error by
// throwing (any std::exception): main prints "neuroscalar: error: <what>" and exits with 1.
#pragma once

#include <CLI/CLI.hpp>

namespace ns::cli {

using AddCommand = void (*)(CLI::App& app);

// Registers a subcommand; `order` sorts the help listing (pipeline order: trace 10, label 20,
// model 30-39, compile 40, sim 50, ppa 60, tools 90).
struct Registrar {
  Registrar(int order, AddCommand add);
};

}  // namespace ns::cli
