#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ntr/isa/asm.h"

using namespace ntr::isa;

namespace {

const char* kSample = R"(
# A hand-written program touching every instruction.
.equ ROWS 256
.stream dma
  seti a3 4096                        ; global weight offset
  tile a4 base=0 stride=163840
  signal s1
  dma ld g=gwb:a3+256 l=lwb:0 len=ROWS row_bytes=256 wait=s2 sig=s3
  dma ld g=gib:a4 l=lib:a1+16 len=13 sig=s4,s5,s6
  dma st g=gib:a4+1024 l=lib:512 len=20 sig1=s7
  dma ld g=gwb:0 l=cb:0 len=100
  sync sig=s9
  halt
.stream mac
  loop 4 {
    wait s3
    mvm x=a1+16 w=a2+256 rows=ROWS bank=1 clr wide wait=s4 sig=s5,s6
    loop 2 {
      addi a1 -256 mod=512
    }
  }
  loop count=2 body=1
  nop
  halt
.stream ppu
  ppu n=256 a=acc:a5+256 d=vs:1024 cb=12 rq=row relu sat1=s16 act=sig mul b=vs:512 add oshift=8 sat2=s8 wait=s1 sig=s2
  ppu n=16 a=zero:0 d=lib8:a2+3
  ppu n=8 a=vs:0 d=vs:8 rq=shift rshift=3 sat1=s16 act=tanh
  psel n=5 a=vs:0 b=vs:16 d=lib32:a2+100
  halt
)";

}  // namespace

TEST(AsmTest, AssemblesEveryInstructionKind) {
  const Program p = assemble(kSample, "sample.s");
  EXPECT_EQ(p.stream(Stream::Dma).size(), 9u);
  EXPECT_EQ(p.stream(Stream::Mac).size(), 8u);
  EXPECT_EQ(p.stream(Stream::Ppu).size(), 5u);
  const DecodedProgram d = decode_program(p, "sample");
  const Mvm m = as_mvm(d[1][2]);
  EXPECT_EQ(m.x_ar, 1);
  EXPECT_EQ(m.x_off, 16);
  EXPECT_EQ(m.w_ar, 2);
  EXPECT_EQ(m.w_off, 256);
  EXPECT_EQ(m.rows, 256);
  EXPECT_EQ(m.bank, 1);
  EXPECT_TRUE(m.clr);
  EXPECT_TRUE(m.wide);
  EXPECT_EQ(m.sync.wait, 4);
  EXPECT_EQ(m.sync.sig, (std::array<int, 3>{5, 6, -1}));
  EXPECT_EQ(d[1][0].op, Opcode::Loop);
  EXPECT_EQ(d[1][0].v[fld::kLoopCount], 4);
  EXPECT_EQ(d[1][0].v[fld::kLoopBody], 4);
  EXPECT_EQ(d[1][3].v[fld::kLoopBody], 1);
  const Ppu q = as_ppu(d[2][0]);
  EXPECT_EQ(q.a_space, Asrc::Acc);
  EXPECT_EQ(q.a_ar, 5);
  EXPECT_EQ(q.a_off, 256);
  EXPECT_EQ(q.cb_off, 12);
  EXPECT_TRUE(q.relu && q.mul && q.add);
  EXPECT_EQ(q.oshift, 8);
  EXPECT_EQ(q.sat2, Sat2::S8);
  const Dma st = as_dma(d[0][5]);
  EXPECT_EQ(st.dir, Dir::St);
  EXPECT_EQ(st.sync.sig, (std::array<int, 3>{-1, 7, -1}));
}

TEST(AsmTest, DisassemblyIsCanonicalAndRoundTripsExactly) {
  const Program p = assemble(kSample, "sample.s");
  const std::string text = disassemble(p);
  const Program q = assemble(text, "canonical.s");
  EXPECT_EQ(q, p);
  EXPECT_EQ(disassemble(q), text);
  // Index comments are ignored by the assembler.
  EXPECT_EQ(assemble(disassemble(p, {.indices = true})), p);
  EXPECT_NE(text.find("mvm x=a1+16 w=a2+256 rows=256 bank=1 clr wide wait=s4 sig=s5,s6"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("dma st g=gib:a4+1024 l=lib:512 len=20 sig1=s7"), std::string::npos) << text;
}

TEST(AsmTest, RandomProgramsRoundTrip) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    Program p;
    for (int s = 0; s < kStreams; ++s) {
      const Stream st = static_cast<Stream>(s);
      std::vector<const InsnDesc*> allowed;
      for (const auto& d : kInsns)
        if (allowed_in(d, st) && d.opcode != Opcode::Loop && d.opcode != Opcode::Halt)
          allowed.push_back(&d);
      auto& ws = p.stream(st);
      const int n = 5 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        const InsnDesc& d = *allowed[rng() % allowed.size()];
        for (;;) {
          Fields f;
          f.op = d.opcode;
          for (int k = 0; k < d.nfields; ++k) {
            const FieldDesc& fd = d.fields[k];
            int64_t v = fd.type == FieldType::Sint ? 0 : fd.offset;
            if (rng() % 2) {
              if (fd.type == FieldType::Enum)
                v = kEnums[fd.enum_index].members[rng() % static_cast<uint64_t>(kEnums[fd.enum_index].count)].value;
              else
                v = fd.min + static_cast<int64_t>(rng() % static_cast<uint64_t>(fd.max - fd.min + 1));
            }
            f.v[static_cast<std::size_t>(k)] = std::clamp(v, fd.min, fd.max);
          }
          std::string_view why;
          if (!check_constraints(f, &why)) continue;
          ws.push_back(encode(f));
          break;
        }
      }
      // A loop around the last two instructions.
      Fields loop;
      loop.op = Opcode::Loop;
      loop.v[fld::kLoopCount] = 3;
      loop.v[fld::kLoopBody] = 2;
      ws.insert(ws.end() - 2, encode(loop));
      ws.push_back(encode(Halt{}));
    }
    const std::string text = disassemble(p);
    EXPECT_EQ(assemble(text, "random.s"), p) << text;
  }
}

TEST(AsmTest, RejectsBadAssemblyWithTheLineNumber) {
  auto error_of = [](const std::string& text) {
    try {
      assemble(text, "bad.s");
    } catch (const IsaError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(".stream mac\n  mvmm x=0\n"), "bad.s:2: unknown mnemonic 'mvmm'");
  EXPECT_EQ(error_of("halt\n"), "bad.s:1: instruction before any .stream directive");
  EXPECT_EQ(error_of(".stream mac\n\n  dma ld g=gwb:0 l=lib:0 len=1\n"),
            "bad.s:3: dma is not allowed in the mac stream");
  EXPECT_EQ(error_of(".stream mac\n  mvm x=0 w=0 rows=257 bank=0\n  halt\n"),
            "bad.s:2: MVM: field rows = 257 is outside [1, 256]");
  EXPECT_EQ(error_of(".stream mac\n  mvm x=0 w=0 rows=1 bank=0 colour=3\n"),
            "bad.s:2: mvm has no field 'colour'");
  EXPECT_EQ(error_of(".stream ppu\n  ppu n=4 a=acc:0 d=lib9:0\n"),
            "bad.s:2: d_space: 'lib9' is not one of vs, lib8, lib32");
  EXPECT_EQ(error_of(".stream dma\n  dma st g=gwb:0 l=lwb:0 len=4\n"),
            "bad.s:2: DMA: stores go from the LIB only");
  EXPECT_EQ(error_of(".stream dma\n  loop 3 {\n  nop\n"), "bad.s:3: loop opened at line 2 is not closed");
  EXPECT_EQ(error_of(".stream dma\n  }\n"), "bad.s:2: '}' without an open loop");
  EXPECT_EQ(error_of(".stream dma\n  seti a1\n"), "bad.s:2: seti needs operand 'imm'");
  EXPECT_EQ(error_of(".stream dma\n  wait q3\n"),
            "bad.s:2: sem: 'q3' is not a semaphore (sN)");
  EXPECT_EQ(error_of(".stream dma\n  nop\n.stream mac\n  halt\n.stream ppu\n  halt\n"),
            "bad.s: dma stream does not end with halt");
  EXPECT_EQ(error_of(".stream mac\n  mvm x=0 w=0 rows=1 bank=0 sig=s1,s2,s3,s4\n"),
            "bad.s:2: at most three signals");
}

TEST(AsmTest, AssemblesAFileAndNamesAMissingOne) {
  const auto dir = std::filesystem::temp_directory_path() / "ntr_asm_file_test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "ok.s") << kSample;
    std::ofstream(dir / "bad.s") << ".stream mac\n  mvmm x=0\n";
  }
  EXPECT_EQ(disassemble(assemble_file(dir / "ok.s")), disassemble(assemble(kSample)));
  try {
    assemble_file(dir / "bad.s");
    ADD_FAILURE() << "no error";
  } catch (const IsaError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "bad.s").string() + ":2: unknown mnemonic 'mvmm'");
  }
  try {
    assemble_file(dir / "missing.s");
    ADD_FAILURE() << "no error";
  } catch (const IsaError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "missing.s").string() + ": cannot open assembly source");
  }
  std::filesystem::remove_all(dir);
}
