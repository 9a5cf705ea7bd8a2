// Neutrino assembly: a readable text form of programs (docs/isa.md, "Assembly"). The
// disassembler's output is canonical: assembling it gives back the same words, and disassembling
// those gives back the same text.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ntr/isa/program.h"

namespace ntr::isa {

// Throws IsaError "origin:line: message" on any error.
Program assemble(std::string_view text, const std::string& origin = "<asm>");
// assemble() of a file's text, errors named by its path; IsaError if it cannot be read.
Program assemble_file(const std::filesystem::path& path);

struct DisasmOptions {
  bool indices = false;  // append "# stream:index" comments (ignored by the assembler)
};
// The program must decode (decode_program); throws IsaError otherwise.
std::string disassemble(const Program& p, const DisasmOptions& opt = {});
// One instruction without loop braces (a LOOP prints as "loop N body=M").
std::string format_insn(const Fields& f);

}  // namespace ntr::isa
