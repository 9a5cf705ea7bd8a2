#include <fmt/format.h>

#include "commands.h"
#include "ns/trace/summary.h"

namespace ns::cli {
namespace {

void add(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trace-info", "Summarise an .nstrace file: records, epochs with signatures, opcode "
                    "classes, load/store/branch mix (verifies every checksum)");
  static std::string file;
  static bool json = false;
  cmd->add_option("FILE", file, "trace file")->required();
  cmd->add_flag("--json", json, "print the summary as JSON");
  cmd->callback([] {
    const trace::Reader reader(file);
    const trace::Summary s = trace::summarize(reader);
    fmt::print("{}\n", json ? s.to_json().dump(2) : s.to_text());
  });
}

const Registrar registrar(11, add);

}  // namespace
}  // namespace ns::cli
