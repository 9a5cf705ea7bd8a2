// `neuroscalar asm` and `neuroscalar disasm`: Neutrino assembly text <-> program files
// (docs/isa.md). Disassembly is canonical: assembling it gives back the same program.
#include <fmt/format.h>

#include "commands.h"
#include "ntr/isa/asm.h"

namespace ns::cli {
namespace {

void add_asm(CLI::App& app) {
  auto* cmd = app.add_subcommand("asm", "Assemble Neutrino assembly text into a program file (docs/isa.md)");
  static std::string in, out;
  cmd->add_option("FILE", in, "assembly source")->required();
  cmd->add_option("-o,--out", out, "program file to write")->required();
  cmd->callback([] {
    const auto p = ntr::isa::assemble_file(in);
    ntr::isa::save_program(p, out);
    fmt::print(stderr, "asm: {} instructions (dma {}, mac {}, ppu {}) -> {}\n", p.total_words(),
               p.stream(ntr::isa::Stream::Dma).size(), p.stream(ntr::isa::Stream::Mac).size(),
               p.stream(ntr::isa::Stream::Ppu).size(), out);
  });
}

void add_disasm(CLI::App& app) {
  auto* cmd = app.add_subcommand("disasm", "Disassemble a Neutrino program file into canonical assembly text");
  static std::string in;
  static bool indices = false;
  cmd->add_option("FILE", in, "program file (e.g. a compiled bundle's program.bin)")->required();
  cmd->add_flag("--indices", indices, "append '# stream:index' comments");
  cmd->callback([] { fmt::print("{}", ntr::isa::disassemble(ntr::isa::load_program(in), {.indices = indices})); });
}

const Registrar registrar_asm(91, add_asm);
const Registrar registrar_disasm(92, add_disasm);

}  // namespace
}  // namespace ns::cli
