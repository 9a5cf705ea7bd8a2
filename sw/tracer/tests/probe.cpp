#include "probe.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include <fmt/format.h>

namespace ns::tracer::testing {

std::map<std::string, uint64_t> symbols_of(const std::filesystem::path& program) {
  std::map<std::string, uint64_t> symbols;
  const std::string cmd = "nm " + program.string();
  std::unique_ptr<FILE, int (*)(FILE*)> f(popen(cmd.c_str(), "r"), pclose);
  char line[256];
  while (f && fgets(line, sizeof line, f.get())) {
    std::istringstream in(line);
    std::string addr, type, name;
    if (in >> addr >> type >> name) symbols[name] = std::stoull(addr, nullptr, 16);
  }
  return symbols;
}

const Probe& Probe::get() {
  static const Probe p = [] {
    Probe q;
    q.path = NS_PROBE_PATH;
    q.symbols = symbols_of(q.path);
    return q;
  }();
  return p;
}

uint64_t Probe::at(const std::string& s) const {
  const auto it = symbols.find(s);
  if (it == symbols.end()) {
    ADD_FAILURE() << "probe has no symbol " << s;
    return 0;
  }
  return it->second;
}

std::vector<uint64_t> Probe::iteration(uint64_t i) const {
  std::vector<uint64_t> pcs;
  auto add = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) pcs.push_back(at(n));
  };
  add({"probe_i0", "probe_i1", "probe_i2", "probe_i3", "probe_i4", "probe_i5", "probe_i6",
       "probe_i7"});
  if (i % 2 == 0) {
    add({"probe_i8", "probe_f0", "probe_f1", "probe_f2", "probe_f3", "probe_f4", "probe_f5",
         "probe_f5", "probe_f5", "probe_f6", "probe_f7", "probe_f8", "probe_f9", "probe_f10",
         "probe_i9"});
  } else {
    add({"probe_i10", "probe_i11", "probe_i12"});
  }
  add({"probe_i13", "probe_i14", "probe_i15"});
  return pcs;
}

std::string Probe::output(uint64_t iterations) {
  uint64_t array[64], sum = 0;
  for (int k = 0; k < 64; ++k) array[k] = k + 1;
  for (uint64_t i = 0; i < iterations; ++i) {
    array[i % 64] += i;
    sum += array[i % 64];
  }
  return fmt::format("sum {:016x}\n", sum);
}

size_t check_loop(std::span<const trace::Record> rs, size_t from, uint64_t i,
                  uint64_t iterations) {
  const Probe& p = Probe::get();
  const uint64_t array = p.at("probe_array"), buf = p.at("probe_buf");
  size_t pos = from;
  for (; pos < rs.size() && i < iterations; ++i) {
    const std::vector<uint64_t> pcs = p.iteration(i);
    uint64_t push_addr = 0, call_addr = 0;
    int movsb = 0;
    for (size_t k = 0; k < pcs.size() && pos < rs.size(); ++k, ++pos) {
      const trace::Record& r = rs[pos];
      SCOPED_TRACE(fmt::format("record {} (iteration {}, step {}, pc {:#x})", pos, i, k, r.pc));
      if (r.pc != pcs[k]) {
        ADD_FAILURE() << fmt::format("expected pc {:#x}", pcs[k]);
        return pos - from;
      }
      const uint64_t next = k + 1 < pcs.size() ? pcs[k + 1]
                            : i + 1 < iterations ? p.at("probe_i0")
                                                 : r.pc + r.inst_len;
      if (pos + 1 < rs.size()) {
        EXPECT_EQ(rs[pos + 1].pc, r.next_pc);
      }
      EXPECT_EQ(r.next_pc, next);
      const uint16_t mem = r.flags & (trace::kFlagLoad | trace::kFlagStore);
      if (r.pc == p.at("probe_i2")) {
        EXPECT_EQ(r.op(), trace::OpClass::MemRead);
        EXPECT_EQ(r.mem_addr, array + 8 * (i % 64));
        EXPECT_EQ(r.mem_size, 8);
        EXPECT_EQ(mem, trace::kFlagLoad);
        EXPECT_EQ(r.src1, (trace::RegRef{1, 13}));  // r13
        EXPECT_EQ(r.src2, (trace::RegRef{1, 0}));   // rax
        EXPECT_EQ(r.dst, (trace::RegRef{1, 2}));    // rdx
      } else if (r.pc == p.at("probe_i4")) {
        EXPECT_EQ(r.op(), trace::OpClass::MemWrite);
        EXPECT_EQ(r.mem_addr, array + 8 * (i % 64));
        EXPECT_EQ(mem, trace::kFlagStore);
      } else if (r.pc == p.at("probe_i7")) {
        EXPECT_EQ(r.flags & ~trace::kFlagWarmup, trace::kFlagBranch | trace::kFlagConditional |
                               (i % 2 ? trace::kFlagTaken : 0));
      } else if (r.pc == p.at("probe_i15")) {
        EXPECT_EQ(r.op(), trace::OpClass::BranchCond);
        EXPECT_EQ(r.has(trace::kFlagTaken), i + 1 < iterations);
      } else if (r.pc == p.at("probe_i8")) {
        EXPECT_EQ(r.op(), trace::OpClass::CallDirect);
        EXPECT_EQ(mem, trace::kFlagStore);
        EXPECT_TRUE(r.has(trace::kFlagTaken));
        call_addr = r.mem_addr;
      } else if (r.pc == p.at("probe_f0")) {
        EXPECT_EQ(r.mem_addr, call_addr - 8);
        push_addr = r.mem_addr;
      } else if (r.pc == p.at("probe_f1") || r.pc == p.at("probe_f9")) {
        EXPECT_EQ(r.mem_addr, push_addr);
        EXPECT_EQ(mem, trace::kFlagLoad);
      } else if (r.pc == p.at("probe_f5")) {
        EXPECT_EQ(r.op(), trace::OpClass::MemWrite);
        EXPECT_EQ(r.mem_addr, array + movsb);  // rep movsb: one record per byte, [rsi] first
        EXPECT_EQ(r.mem_size, 1);
        EXPECT_EQ(mem, trace::kFlagLoad | trace::kFlagStore);
        ++movsb;
      } else if (r.pc == p.at("probe_f8")) {
        EXPECT_EQ(r.mem_addr, buf);  // cmpsb reads [rdi] first
        EXPECT_EQ(mem, trace::kFlagLoad);
      } else if (r.pc == p.at("probe_f10")) {
        EXPECT_EQ(r.op(), trace::OpClass::Return);
        EXPECT_EQ(r.mem_addr, call_addr);
        EXPECT_EQ(r.next_pc, p.at("probe_i9"));
      } else if (r.pc == p.at("probe_i11")) {
        EXPECT_EQ(r.op(), trace::OpClass::BranchIndirect);
        EXPECT_TRUE(r.has(trace::kFlagTaken));
      } else {
        EXPECT_EQ(mem, 0) << "unexpected memory access";
      }
    }
  }
  return pos - from;
}

}  // namespace ns::tracer::testing
