// The generated SystemVerilog legality function (ntr_isa_pkg::insn_legal) agrees with the C++
// decoder on every opcode and on many random and mutated words, in every stream.
#include <gtest/gtest.h>

#include <random>

#include "Vntr_isa_legal_probe.h"
#include "ntr/isa/isa.h"

using namespace ntr::isa;

namespace {

bool sv_legal(Vntr_isa_legal_probe& m, Word w, Stream s) {
  m.word_i[0] = static_cast<uint32_t>(w.lo);
  m.word_i[1] = static_cast<uint32_t>(w.lo >> 32);
  m.word_i[2] = static_cast<uint32_t>(w.hi);
  m.word_i[3] = static_cast<uint32_t>(w.hi >> 32);
  m.stream_i = static_cast<uint8_t>(s);
  m.eval();
  return m.legal_o;
}

}  // namespace

TEST(SvLegalTest, GeneratedSvAgreesWithTheCppDecoder) {
  Vntr_isa_legal_probe m;
  std::mt19937_64 rng(5);
  int64_t legal = 0, checked = 0;
  auto check = [&](Word w) {
    for (int s = 0; s < kStreams; ++s) {
      std::string why;
      const bool cpp = decode(w, static_cast<Stream>(s), &why).has_value();
      ASSERT_EQ(sv_legal(m, w, static_cast<Stream>(s)), cpp)
          << std::hex << w.hi << ":" << w.lo << " stream " << s << " (C++: " << why << ")";
      legal += cpp;
      ++checked;
    }
  };
  for (const auto& d : kInsns) {
    // A legal word of this instruction (fields at their lowest values), then single-bit flips.
    Fields f;
    f.op = d.opcode;
    for (int i = 0; i < d.nfields; ++i) f.v[static_cast<std::size_t>(i)] = d.fields[i].type == FieldType::Sint ? 0 : d.fields[i].min;
    std::string_view why;
    if (!check_constraints(f, &why)) continue;
    const Word base = encode(f);
    check(base);
    for (int bit = 0; bit < kWordBits; ++bit) {
      Word w = base;
      w.set(bit, 1, w.get(bit, 1) ^ 1);
      check(w);
    }
    for (int k = 0; k < 2000; ++k) {  // random field contents with this opcode
      Word w{rng(), rng()};
      w.set(0, kOpcodeBits, static_cast<uint64_t>(d.opcode));
      w.lo &= base.lo | rng();  // clear some bits so legal words come up
      w.hi &= rng() & rng();
      check(w);
    }
  }
  for (int k = 0; k < 20000; ++k) check(Word{rng(), rng()});
  EXPECT_GT(legal, 300);  // legal words compared (368 with this seed): every opcode, in its streams
  EXPECT_GT(checked, 100000);
}
