// A Neutrino program: three instruction streams (dma, mac, ppu) of 128-bit words, and its file
// format (docs/isa.md, "Program files"). Loading decodes and checks every word, so a program that
// loads is made of legal instructions with well-nested loops.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "ntr/isa/isa.h"

namespace ntr::isa {

struct Program {
  std::array<std::vector<Word>, kStreams> words;

  std::vector<Word>& stream(Stream s) { return words[static_cast<std::size_t>(s)]; }
  const std::vector<Word>& stream(Stream s) const { return words[static_cast<std::size_t>(s)]; }
  std::size_t total_words() const;
  friend bool operator==(const Program&, const Program&) = default;
};

using DecodedProgram = std::array<std::vector<Fields>, kStreams>;

// Decodes every word and checks the structure (loops nested and inside their stream, nesting
// depth within kLoopDepth, every stream ending in HALT). Throws IsaError naming `origin`, the
// stream, the instruction index and its byte offset in the file.
DecodedProgram decode_program(const Program& p, const std::string& origin);

inline constexpr char kProgramMagic[8] = {'N', 'T', 'R', 'P', 'R', 'O', 'G', '\0'};
inline constexpr uint32_t kProgramFormatVersion = 1;
inline constexpr std::size_t kProgramHeaderBytes = 40;
// Byte offset in the file of word `index` of stream `s`.
std::size_t word_file_offset(const Program& p, Stream s, std::size_t index);

std::vector<uint8_t> serialize(const Program& p);
// Checks magic, versions, sizes and CRC, then decodes everything (decode_program).
Program deserialize(std::span<const uint8_t> bytes, const std::string& origin);
void save_program(const Program& p, const std::filesystem::path& path);
Program load_program(const std::filesystem::path& path);

}  // namespace ntr::isa
