#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "ntr/isa/asm.h"
#include "ntr/isa/isa.h"
#include "ntr/isa/program.h"

using namespace ntr::isa;

namespace {

// A random legal instance of an instruction (rejection sampling against the constraints).
Fields random_fields(const InsnDesc& d, std::mt19937_64& rng) {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Fields f;
    f.op = d.opcode;
    for (int i = 0; i < d.nfields; ++i) {
      const FieldDesc& fd = d.fields[i];
      int64_t v = 0;
      if (fd.type == FieldType::Enum) {
        const EnumDesc& e = kEnums[fd.enum_index];
        v = rng() % 2 ? 0 : e.members[rng() % static_cast<uint64_t>(e.count)].value;
      } else {
        // Mostly zero or extremes for fields that constraints tie to zero, else uniform.
        const uint64_t span = static_cast<uint64_t>(fd.max - fd.min) + 1;
        const int pick = static_cast<int>(rng() % 4);
        v = pick == 0 ? fd.min : pick == 1 ? fd.max : fd.min + static_cast<int64_t>(rng() % span);
        if (rng() % 2 == 0) v = fd.type == FieldType::Sint ? 0 : fd.offset;  // stored code 0
        v = std::clamp(v, fd.min, fd.max);
      }
      f.v[static_cast<std::size_t>(i)] = v;
    }
    std::string_view why;
    if (check_constraints(f, &why)) return f;
  }
  ADD_FAILURE() << "no legal instance of " << d.name;
  return {};
}

Stream a_stream(const InsnDesc& d) {
  for (int s = 0; s < kStreams; ++s)
    if (allowed_in(d, static_cast<Stream>(s))) return static_cast<Stream>(s);
  return Stream::Dma;
}

}  // namespace

TEST(IsaTest, EveryInstructionRoundTripsThroughEncodeAndDecode) {
  std::mt19937_64 rng(7);
  for (const auto& d : kInsns) {
    for (int k = 0; k < 300; ++k) {
      const Fields f = random_fields(d, rng);
      const Word w = encode(f);
      EXPECT_EQ(w.get(0, kOpcodeBits), static_cast<uint64_t>(d.opcode));
      std::string why;
      const auto back = decode(w, a_stream(d), &why);
      ASSERT_TRUE(back.has_value()) << d.name << ": " << why;
      EXPECT_EQ(*back, f) << d.name;
      // And through the text form.
      EXPECT_EQ(encode(*back), w);
    }
  }
}

TEST(IsaTest, TypedStructsMatchGenericFields) {
  Mvm m;
  m.x_ar = 3;
  m.x_off = 100;
  m.w_ar = 5;
  m.w_off = 256;
  m.rows = 256;
  m.bank = 1;
  m.clr = true;
  m.sync.wait = 4;
  m.sync.sig = {7, 9, -1};
  const Word w = encode(m);
  std::string why;
  const auto f = decode(w, Stream::Mac, &why);
  ASSERT_TRUE(f) << why;
  EXPECT_EQ(as_mvm(*f), m);
  EXPECT_EQ(f->v[fld::kMvmRows], 256);
  EXPECT_EQ(w.get(kMvmFields[fld::kMvmRows].lsb, 8), 255u);  // stored as rows - 1
  EXPECT_EQ(busy_cycles(*f, AccelConfig{.mac_latency = 2}), 256);
}

TEST(IsaTest, RejectsReservedOpcodes) {
  std::set<int> used;
  for (const auto& d : kInsns) used.insert(static_cast<int>(d.opcode));
  for (int op = 0; op < (1 << kOpcodeBits); ++op) {
    Word w;
    w.set(0, kOpcodeBits, static_cast<uint64_t>(op));
    std::string why;
    const auto f = decode(w, Stream::Mac, &why);
    if (used.count(op)) continue;
    EXPECT_FALSE(f) << op;
    EXPECT_NE(why.find("reserved opcode"), std::string::npos) << why;
  }
}

TEST(IsaTest, RejectsReservedBitsInEveryInstruction) {
  for (const auto& d : kInsns) {
    for (int bit = kOpcodeBits; bit < kWordBits; ++bit) {
      const bool used = bit < 64 ? (d.used_lo >> bit) & 1 : (d.used_hi >> (bit - 64)) & 1;
      if (used) continue;
      Word w;
      w.set(0, kOpcodeBits, static_cast<uint64_t>(d.opcode));
      // Start from a legal word (LOOP needs count and body >= 1).
      if (d.opcode == Opcode::Loop) {
        Fields f;
        f.op = Opcode::Loop;
        f.v[fld::kLoopCount] = 1;
        f.v[fld::kLoopBody] = 1;
        w = encode(f);
      }
      w.set(bit, 1, 1);
      std::string why;
      EXPECT_FALSE(decode(w, a_stream(d), &why)) << d.name << " bit " << bit;
      EXPECT_NE(why.find("reserved bit " + std::to_string(bit)), std::string::npos) << why;
    }
  }
}

TEST(IsaTest, RejectsOutOfRangeFieldsAndFailedConstraints) {
  std::string why;
  // Enum value 3 of PPU d_space is reserved.
  Ppu p;
  p.n = 16;
  Word w = encode(p);
  w.set(kPpuFields[fld::kPpuDSpace].lsb, 2, 3);
  EXPECT_FALSE(decode(w, Stream::Ppu, &why));
  EXPECT_NE(why.find("d_space"), std::string::npos) << why;
  // LOOP count 0 is below its minimum.
  Fields f;
  f.op = Opcode::Loop;
  f.v[fld::kLoopCount] = 0;
  f.v[fld::kLoopBody] = 1;
  EXPECT_THROW(encode(f), IsaError);
  Word lw;
  lw.set(0, kOpcodeBits, static_cast<uint64_t>(Opcode::Loop));
  lw.set(kLoopFields[fld::kLoopBody].lsb, 12, 1);
  EXPECT_FALSE(decode(lw, Stream::Dma, &why));
  EXPECT_NE(why.find("count"), std::string::npos) << why;
  // A DMA store into the LWB breaks a constraint.
  Dma d;
  d.dir = Dir::St;
  d.l_space = Lspace::Lwb;
  EXPECT_THROW(encode(d), IsaError);
  // relu without ROW requantisation.
  Ppu q;
  q.relu = true;
  EXPECT_THROW(encode(q), IsaError);
  // Writing a0.
  Seti s;
  s.ar = 0;
  EXPECT_THROW(encode(s), IsaError);
  // A wait semaphore without wait_en is not canonical.
  Word m = encode(Mvm{});
  m.set(kMvmFields[fld::kMvmWaitSem].lsb, 5, 3);
  EXPECT_FALSE(decode(m, Stream::Mac, &why));
  EXPECT_NE(why.find("wait"), std::string::npos) << why;
}

TEST(IsaTest, RejectsInstructionsInTheWrongStream) {
  std::string why;
  EXPECT_FALSE(decode(encode(Mvm{}), Stream::Ppu, &why));
  EXPECT_NE(why.find("not allowed in the ppu stream"), std::string::npos) << why;
  EXPECT_TRUE(decode(encode(Nop{}), Stream::Ppu, &why));
}

TEST(IsaTest, CostsFollowTheYaml) {
  AccelConfig c;
  c.mac_latency = 2;
  c.ppu_lanes = 16;
  c.ppu_latency = 4;
  c.dma_latency = 4;
  c.dma_gwb_bytes_per_cycle = 256;
  c.dma_gib_bytes_per_cycle = 64;
  c.dma_lib_bytes_per_cycle = 64;
  c.dma_cb_bytes_per_cycle = 48;
  Mvm m;
  m.rows = 13;
  m.wide = true;
  EXPECT_EQ(busy_cycles(to_fields(m), c), 26);
  EXPECT_EQ(tail_cycles(to_fields(m), c), 2);
  Ppu p;
  p.n = 256;
  EXPECT_EQ(busy_cycles(to_fields(p), c), 16 + 4);
  p.n = 17;
  EXPECT_EQ(busy_cycles(to_fields(p), c), 2 + 4);
  Psel s;
  s.n = 5;
  s.a_space = Asrc::Vs;
  EXPECT_EQ(busy_cycles(to_fields(s), c), 1 + 4);
  Dma d;  // 256 LWB rows of 256 bytes
  d.len = 256;
  d.row_bytes = 256;
  EXPECT_EQ(busy_cycles(to_fields(d), c), 4 + 256);
  EXPECT_EQ(busy_cycles(to_fields(d), c, 8), 4 + 8 * 256);
  d.l_space = Lspace::Cb;
  d.row_bytes = 1;
  d.len = 100;  // 1200 bytes at 48 B/cycle
  EXPECT_EQ(busy_cycles(to_fields(d), c), 4 + 25);
  d.l_space = Lspace::Lib;
  d.g_space = Gspace::Gib;
  d.len = 13;
  EXPECT_EQ(busy_cycles(to_fields(d), c), 4 + 1);
  EXPECT_EQ(busy_cycles(to_fields(Sync{}), c), 1);
}

TEST(IsaTest, ProgramFilesRejectIllegalWordsWithTheirOffset) {
  Program p = assemble(".stream dma\n nop\n halt\n.stream mac\n mvm x=0 w=0 rows=1 bank=0\n halt\n"
                       ".stream ppu\n halt\n");
  EXPECT_EQ(deserialize(serialize(p), "ok.bin"), p);
  // Set reserved bit 60 of the mvm (mac stream, instruction 0: after the 40-byte header and the
  // two dma words).
  p.stream(Stream::Mac)[0].set(60, 1, 1);
  auto error_of = [](const std::vector<uint8_t>& b) {
    try {
      deserialize(b, "bad.bin");
    } catch (const IsaError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string e = error_of(serialize(p));
  EXPECT_NE(e.find("bad.bin: mac stream, instruction 0 (byte offset 0x48): illegal instruction: MVM: reserved bit 60 is set"),
            std::string::npos)
      << e;
  // Truncated, corrupt and foreign files.
  auto good = serialize(assemble(".stream dma\n halt\n.stream mac\n halt\n.stream ppu\n halt\n"));
  EXPECT_NE(error_of({good.begin(), good.begin() + 20}).find("truncated program file"), std::string::npos);
  auto corrupt = good;
  corrupt.back() ^= 1;
  EXPECT_NE(error_of(corrupt).find("checksum mismatch"), std::string::npos);
  auto foreign = good;
  foreign[0] = 'X';
  EXPECT_NE(error_of(foreign).find("bad magic"), std::string::npos);
  auto version = good;
  version[12] = 99;
  EXPECT_NE(error_of(version).find("ISA version 99"), std::string::npos);
  auto shorter = good;
  shorter.pop_back();
  EXPECT_NE(error_of(shorter).find("header announces"), std::string::npos);
  // A stream that does not end with halt, a loop past the end.
  Program nohalt;
  nohalt.stream(Stream::Dma).push_back(encode(Nop{}));
  nohalt.stream(Stream::Mac).push_back(encode(Halt{}));
  nohalt.stream(Stream::Ppu).push_back(encode(Halt{}));
  EXPECT_NE(error_of(serialize(nohalt)).find("dma stream does not end with halt"), std::string::npos);
  Program loop = nohalt;
  Loop l;
  l.count = 2;
  l.body = 5;
  loop.stream(Stream::Dma) = {encode(l), encode(Halt{})};
  EXPECT_NE(error_of(serialize(loop)).find("loop body of 5 runs past the end"), std::string::npos);
}
