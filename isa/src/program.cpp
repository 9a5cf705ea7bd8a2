#include "ntr/isa/program.h"

#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <zlib.h>

#include "read_file.h"

namespace ntr::isa {

namespace {

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint32_t get32(std::span<const uint8_t> b, std::size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[at + static_cast<std::size_t>(i)]) << (8 * i);
  return v;
}
uint64_t get64(std::span<const uint8_t> b, std::size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[at + static_cast<std::size_t>(i)]) << (8 * i);
  return v;
}

}  // namespace

std::size_t Program::total_words() const {
  std::size_t n = 0;
  for (const auto& s : words) n += s.size();
  return n;
}

std::size_t word_file_offset(const Program& p, Stream s, std::size_t index) {
  std::size_t off = kProgramHeaderBytes;
  for (int i = 0; i < static_cast<int>(s); ++i) off += 16 * p.words[static_cast<std::size_t>(i)].size();
  return off + 16 * index;
}

DecodedProgram decode_program(const Program& p, const std::string& origin) {
  DecodedProgram out;
  for (int si = 0; si < kStreams; ++si) {
    const Stream s = static_cast<Stream>(si);
    const auto& ws = p.stream(s);
    auto where = [&](std::size_t i) {
      return fmt::format("{}: {} stream, instruction {} (byte offset 0x{:x})", origin,
                         stream_name(s), i, word_file_offset(p, s, i));
    };
    if (ws.empty()) throw IsaError(fmt::format("{}: {} stream is empty", origin, stream_name(s)));
    std::vector<std::size_t> loop_ends;  // open loops' last instruction
    for (std::size_t i = 0; i < ws.size(); ++i) {
      std::string why;
      auto f = decode(ws[i], s, &why);
      if (!f) throw IsaError(fmt::format("{}: illegal instruction: {}", where(i), why));
      while (!loop_ends.empty() && loop_ends.back() < i) loop_ends.pop_back();
      if (f->op == Opcode::Loop) {
        const auto body = static_cast<std::size_t>(f->v[fld::kLoopBody]);
        const std::size_t end = i + body;
        if (end >= ws.size())
          throw IsaError(fmt::format("{}: loop body of {} runs past the end of the stream", where(i), body));
        if (!loop_ends.empty() && end > loop_ends.back())
          throw IsaError(fmt::format("{}: loop body ends after its enclosing loop", where(i)));
        loop_ends.push_back(end);
        if (loop_ends.size() > static_cast<std::size_t>(kLoopDepth))
          throw IsaError(fmt::format("{}: loops nested deeper than {}", where(i), kLoopDepth));
      }
      out[static_cast<std::size_t>(si)].push_back(*f);
    }
    if (out[static_cast<std::size_t>(si)].back().op != Opcode::Halt)
      throw IsaError(fmt::format("{}: {} stream does not end with halt", origin, stream_name(s)));
  }
  return out;
}

std::vector<uint8_t> serialize(const Program& p) {
  std::vector<uint8_t> payload;
  payload.reserve(16 * p.total_words());
  for (const auto& s : p.words)
    for (const Word& w : s) {
      put64(payload, w.lo);
      put64(payload, w.hi);
    }
  std::vector<uint8_t> b(kProgramMagic, kProgramMagic + 8);
  put32(b, kProgramFormatVersion);
  put32(b, kIsaVersion);
  put32(b, kStreams);
  for (const auto& s : p.words) put32(b, static_cast<uint32_t>(s.size()));
  put32(b, static_cast<uint32_t>(crc32(0, payload.data(), static_cast<uInt>(payload.size()))));
  put32(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Program deserialize(std::span<const uint8_t> b, const std::string& origin) {
  if (b.size() < kProgramHeaderBytes)
    throw IsaError(fmt::format("{}: truncated program file ({} bytes, header needs {})", origin,
                               b.size(), kProgramHeaderBytes));
  if (std::memcmp(b.data(), kProgramMagic, 8) != 0)
    throw IsaError(fmt::format("{}: not a Neutrino program (bad magic)", origin));
  if (get32(b, 8) != kProgramFormatVersion)
    throw IsaError(fmt::format("{}: program format version {} (this build reads {})", origin,
                               get32(b, 8), kProgramFormatVersion));
  if (get32(b, 12) != kIsaVersion)
    throw IsaError(fmt::format("{}: ISA version {} (this build implements {})", origin,
                               get32(b, 12), kIsaVersion));
  if (get32(b, 16) != kStreams)
    throw IsaError(fmt::format("{}: {} streams (expected {})", origin, get32(b, 16), kStreams));
  Program p;
  std::size_t words = 0;
  for (int i = 0; i < kStreams; ++i) words += get32(b, 20 + 4 * static_cast<std::size_t>(i));
  if (b.size() != kProgramHeaderBytes + 16 * words)
    throw IsaError(fmt::format("{}: file has {} bytes, header announces {}", origin, b.size(),
                               kProgramHeaderBytes + 16 * words));
  const auto payload = b.subspan(kProgramHeaderBytes);
  const uint32_t crc = static_cast<uint32_t>(crc32(0, payload.data(), static_cast<uInt>(payload.size())));
  if (crc != get32(b, 32))
    throw IsaError(fmt::format("{}: checksum mismatch (corrupt program file)", origin));
  std::size_t at = kProgramHeaderBytes;
  for (int i = 0; i < kStreams; ++i) {
    const uint32_t n = get32(b, 20 + 4 * static_cast<std::size_t>(i));
    auto& ws = p.words[static_cast<std::size_t>(i)];
    for (uint32_t k = 0; k < n; ++k, at += 16) ws.push_back(Word{get64(b, at), get64(b, at + 8)});
  }
  decode_program(p, origin);
  return p;
}

void save_program(const Program& p, const std::filesystem::path& path) {
  const auto bytes = serialize(p);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw IsaError(fmt::format("{}: cannot write program", path.string()));
}

Program load_program(const std::filesystem::path& path) {
  const std::string text = detail::read_file(path, "program");
  return deserialize({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, path.string());
}

}  // namespace ntr::isa
