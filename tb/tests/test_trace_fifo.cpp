// The trace FIFO (rtl/ntr_trace_fifo.sv) fed with the records of a real program's trace (traced
// here with the project's QEMU tracer) by a retire-port model that retires 0..5 records a cycle
// into random slots and obeys the stall, while the memory side accepts with random back-pressure.
// The memory image must equal the input, nothing may be lost, and the stall cycles must be those
// of the FIFO's documented occupancy rule (docs/rtl.md, "Trace FIFO").
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <verilated.h>

#include "Vntr_trace_fifo.h"
#include "Vntr_trace_fifo_packed.h"
#include "ns/trace/trace.h"
#include "ns/tracer/tracer.h"

namespace {

namespace fs = std::filesystem;
constexpr int kWidth = 5;
constexpr int kEntries = 512;
constexpr int kCap = kWidth * kEntries;

// The records of one epoch of a real program (sha256sum of a generated file), traced once.
const std::vector<ns::trace::Record>& real_records() {
  static const std::vector<ns::trace::Record> records = [] {
    const fs::path dir = fs::temp_directory_path() / ("ntr_fifo_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
      std::ofstream f(dir / "input.bin", std::ios::binary);
      std::mt19937 rng(7);
      for (int i = 0; i < 200000; ++i) f.put(static_cast<char>(rng()));
    }
    ns::tracer::Program p;
    p.argv = {"sha256sum", (dir / "input.bin").string()};
    p.stdout_path = (dir / "out.txt").string();
    ns::tracer::QemuOptions o;
    o.sampling.skip = 20000;
    o.sampling.epoch = 12000;
    o.sampling.epochs = 1;
    ns::tracer::trace_program(p, o, dir / "t.nstrace");
    const ns::trace::Reader r(dir / "t.nstrace");
    auto v = r.read_epoch(0, false);
    fs::remove_all(dir);
    return v;
  }();
  return records;
}

// The 23-byte packed subset: the model's six features (pc, mem_addr, opclass, src1, src2, dst).
std::vector<uint8_t> pack23(const ns::trace::Record& r) {
  std::vector<uint8_t> b(23);
  std::memcpy(&b[0], &r.pc, 8);
  std::memcpy(&b[8], &r.mem_addr, 8);
  b[16] = r.opclass;
  std::memcpy(&b[17], &r.src1, 2);
  std::memcpy(&b[19], &r.src2, 2);
  std::memcpy(&b[21], &r.dst, 2);
  return b;
}

std::vector<uint8_t> full40(const ns::trace::Record& r) {
  std::vector<uint8_t> b(sizeof(r));
  std::memcpy(b.data(), &r, sizeof(r));
  return b;
}

// The FIFO's occupancy rule, cycle by cycle: stall when fewer than Width slots are free; one
// bank read a cycle into a two-record output buffer.
struct OccupancyModel {
  int cnt = 0, ob = 0, inflight = 0;
  bool stall(bool stall_en) const { return stall_en && kCap - cnt < kWidth; }
  void cycle(int accepted, bool ready) {
    const int pop = (ob > 0 && ready) ? 1 : 0;
    const int after = ob - pop;
    const int rd = (cnt > 0 && after + inflight < 2) ? 1 : 0;
    cnt += accepted - rd;
    ob = after + inflight;
    inflight = rd;
  }
};

template <class V>
class Fifo {
 public:
  explicit Fifo(int rec_bytes) : rec_bytes_(rec_bytes), m_(std::make_unique<V>(&ctx_, "fifo")) {
    ctx_.fatalOnError(false);
    m_->clk_i = 0;
    m_->rst_ni = 0;
    m_->eval();
    clock();
    m_->rst_ni = 1;
    clock();
  }
  ~Fifo() { m_->final(); }

  void clock() {
    m_->clk_i = 1;
    m_->eval();
    m_->clk_i = 0;
    m_->eval();
    if (ctx_.gotError()) throw std::runtime_error("RTL assertion failed");
  }
  void csr_write(uint8_t a, uint32_t v) {
    m_->csr_req_i = 1;
    m_->csr_we_i = 1;
    m_->csr_addr_i = a;
    m_->csr_wdata_i = v;
    idle_clock();
    m_->csr_req_i = 0;
    m_->csr_we_i = 0;
  }
  uint32_t csr_read(uint8_t a) {
    m_->csr_req_i = 1;
    m_->csr_we_i = 0;
    m_->csr_addr_i = a;
    idle_clock();
    m_->csr_req_i = 0;
    return m_->csr_rdata_o;
  }
  uint64_t csr_read64(uint8_t a) { return csr_read(a) | uint64_t{csr_read(static_cast<uint8_t>(a + 4))} << 32; }

  // A cycle with no retirement and the memory side ready (drains, records what it writes).
  void idle_clock() {
    m_->ret_valid_i = 0;
    m_->mem_ready_i = 1;
    m_->eval();
    take();
    clock();
  }

  bool stall() const { return m_->stall_o; }
  V& ports() { return *m_; }
  void set_record(int slot, const std::vector<uint8_t>& bytes) {
    for (int i = 0; i < rec_bytes_; ++i) set_byte(slot * rec_bytes_ + i, bytes[static_cast<size_t>(i)]);
  }
  // Memory writes seen so far: address -> record bytes.
  std::map<uint64_t, std::vector<uint8_t>> memory;
  uint64_t writes = 0;

  // Before the rising edge: a write happens if valid and ready.
  void take() {
    if (m_->mem_valid_o && m_->mem_ready_i) {
      std::vector<uint8_t> rec(static_cast<size_t>(rec_bytes_));
      for (int i = 0; i < rec_bytes_; ++i) rec[static_cast<size_t>(i)] = static_cast<uint8_t>(m_->mem_data_o[i / 4] >> (8 * (i % 4)));
      memory[m_->mem_addr_o] = rec;
      ++writes;
    }
  }

 private:
  void set_byte(int i, uint8_t v) {
    auto& w = m_->ret_rec_i[i / 4];
    const int sh = 8 * (i % 4);
    w = (w & ~(0xffu << sh)) | (uint32_t{v} << sh);
  }
  int rec_bytes_;
  VerilatedContext ctx_;
  std::unique_ptr<V> m_;
};

constexpr uint8_t kCtrl = 0x00, kPid = 0x04, kEpochLen = 0x08, kStatus = 0x0C, kBufBase = 0x10,
                  kBufRecords = 0x18, kIrqEn = 0x1C, kRecords = 0x20, kStalls = 0x28, kDropped = 0x30,
                  kDrained = 0x38, kEpochs = 0x40, kOccupancy = 0x44, kCapacity = 0x48, kRecordBytes = 0x4C;
constexpr uint32_t kEnable = 1, kPidMatch = 2, kStallEn = 4, kOneShot = 8, kClear = 1u << 31;

struct Drive {
  double ready = 0.5;      // probability the memory side accepts in a cycle
  int max_group = kWidth;  // records retired per cycle: uniform 0..max_group
  bool obey_stall = true;
  bool stall_en = true;
  uint32_t seed = 1;
  uint32_t pid = 42, cur_pid = 42;
  uint32_t epoch_len = 0;
  uint32_t buf_records = 0;
  uint32_t extra_ctrl = 0;
};

struct Outcome {
  uint64_t cycles = 0, stalls_seen = 0, stalls_model = 0, retired = 0;
  bool stall_mismatch = false;
  std::vector<std::vector<uint8_t>> accepted;  // records the FIFO took, in order
};

// Retires `recs` through the FIFO under `d` and drains everything.
template <class V>
Outcome run(Fifo<V>& f, const std::vector<std::vector<uint8_t>>& recs, const Drive& d) {
  constexpr uint64_t kBase = 0x10000;
  f.csr_write(kCtrl, kClear);
  f.csr_write(kBufBase, static_cast<uint32_t>(kBase));
  f.csr_write(kBufBase + 4, 0);
  f.csr_write(kBufRecords, d.buf_records);
  f.csr_write(kEpochLen, d.epoch_len);
  f.csr_write(kPid, d.pid);
  f.csr_write(kIrqEn, 1);
  f.memory.clear();
  f.writes = 0;
  f.csr_write(kCtrl, kEnable | (d.stall_en ? kStallEn : 0) | d.extra_ctrl);
  std::mt19937 rng(d.seed);
  std::uniform_real_distribution<double> u(0, 1);
  OccupancyModel om;
  Outcome out;
  size_t next = 0;
  std::vector<size_t> group;  // the records of the group waiting to retire
  auto& p = f.ports();
  // Until everything retired has drained (by the occupancy rule, checked against the RTL after).
  while (next < recs.size() || !group.empty() || om.cnt + om.ob + om.inflight > 0) {
    if (group.empty() && next < recs.size()) {
      const int k = static_cast<int>(rng() % static_cast<uint32_t>(d.max_group + 1));
      for (int i = 0; i < k && next < recs.size(); ++i) group.push_back(next++);
    }
    p.eval();
    const bool st = f.stall();
    const bool st_model = om.stall(d.stall_en);
    out.stall_mismatch |= st != st_model;
    out.stalls_seen += st;
    out.stalls_model += st_model;
    // Retire the group into random slots, in order, unless stalled.
    p.ret_valid_i = 0;
    p.ret_pid_i = d.cur_pid;
    int retired = 0;
    if (!group.empty() && !(st && d.obey_stall)) {
      std::vector<int> slots(kWidth);
      for (int i = 0; i < kWidth; ++i) slots[static_cast<size_t>(i)] = i;
      std::shuffle(slots.begin(), slots.end(), rng);
      slots.resize(group.size());
      std::sort(slots.begin(), slots.end());
      for (size_t i = 0; i < group.size(); ++i) {
        f.set_record(slots[i], recs[group[i]]);
        p.ret_valid_i |= 1u << slots[i];
      }
      retired = static_cast<int>(group.size());
      for (size_t i : group) out.accepted.push_back(recs[i]);
      group.clear();
    }
    p.mem_ready_i = u(rng) < d.ready;
    p.eval();
    f.take();
    const bool ready = p.mem_ready_i;
    f.clock();
    out.retired += static_cast<uint64_t>(retired);
    om.cycle(st ? 0 : retired, ready);
    ++out.cycles;
    if (out.cycles > 50 * recs.size() + 10000) throw std::runtime_error("trace FIFO did not drain");
  }
  for (int i = 0; i < 4; ++i) f.idle_clock();
  EXPECT_EQ(f.csr_read(kOccupancy), 0u);
  return out;
}

std::vector<std::vector<uint8_t>> as_full(const std::vector<ns::trace::Record>& rs) {
  std::vector<std::vector<uint8_t>> v;
  for (const auto& r : rs) v.push_back(full40(r));
  return v;
}

template <class V>
void expect_image(Fifo<V>& f, const std::vector<std::vector<uint8_t>>& want, int rec_bytes, uint64_t ring = 0) {
  ASSERT_EQ(f.writes, want.size());
  for (size_t n = 0; n < want.size(); ++n) {
    if (ring && n + ring < want.size()) continue;  // overwritten by a later record
    const uint64_t addr = 0x10000 + (ring ? n % ring : n) * static_cast<uint64_t>(rec_bytes);
    auto it = f.memory.find(addr);
    ASSERT_NE(it, f.memory.end()) << "record " << n << " missing";
    ASSERT_EQ(it->second, want[n]) << "record " << n;
  }
}

}  // namespace

TEST(TraceFifoTest, DescribesItself) {
  Fifo<Vntr_trace_fifo> f(40);
  EXPECT_EQ(f.csr_read(kCapacity), 2560u);
  EXPECT_EQ(f.csr_read(kRecordBytes), 40u);
  EXPECT_EQ(f.csr_read(kStatus), 4u);  // empty, not capturing
}

TEST(TraceFifoTest, DrainsRealRecordsUnderBackPressureWithoutLoss) {
  const auto& rs = real_records();
  ASSERT_EQ(rs.size(), 12000u);
  const auto recs = as_full(rs);
  Fifo<Vntr_trace_fifo> f(40);
  for (const double ready : {0.25, 0.6, 1.0}) {
    Drive d;
    d.ready = ready;
    d.seed = static_cast<uint32_t>(ready * 100);
    d.epoch_len = 3000;
    const Outcome o = run(f, recs, d);
    expect_image(f, recs, 40);
    EXPECT_FALSE(o.stall_mismatch) << "ready " << ready;
    EXPECT_EQ(f.csr_read64(kRecords), recs.size());
    EXPECT_EQ(f.csr_read64(kDrained), recs.size());
    EXPECT_EQ(f.csr_read64(kDropped), 0u);
    EXPECT_EQ(f.csr_read64(kStalls), o.stalls_model);
    EXPECT_EQ(f.csr_read(kEpochs), 4u);
    EXPECT_EQ(f.csr_read(kStatus) & 2u, 2u);  // epoch done
    EXPECT_TRUE(f.ports().irq_o);
    std::printf("trace FIFO, %zu real records, drain ready %.2f: %llu cycles, %llu stall cycles (%.1f%%)\n", recs.size(),
                ready, static_cast<unsigned long long>(o.cycles), static_cast<unsigned long long>(o.stalls_model),
                100.0 * static_cast<double>(o.stalls_model) / static_cast<double>(o.cycles));
    // A drain slower than the average retire rate (2.5 records/cycle) must stall the front end.
    if (ready < 1.0) {
      EXPECT_GT(o.stalls_model, 0u);
    }
  }
}

TEST(TraceFifoTest, NeverStallsWhenTheDrainKeepsUp) {
  const auto recs = as_full(real_records());
  Fifo<Vntr_trace_fifo> f(40);
  Drive d;
  d.ready = 1.0;
  d.max_group = 1;
  const Outcome o = run(f, recs, d);
  expect_image(f, recs, 40);
  EXPECT_EQ(o.stalls_model, 0u);
  EXPECT_EQ(f.csr_read64(kStalls), 0u);
}

TEST(TraceFifoTest, CountsWhatItDropsWhenStallingIsOff) {
  const auto recs = as_full(real_records());
  Fifo<Vntr_trace_fifo> f(40);
  Drive d;
  d.ready = 0.2;
  d.stall_en = false;
  d.obey_stall = false;
  run(f, recs, d);
  const uint64_t captured = f.csr_read64(kRecords), dropped = f.csr_read64(kDropped);
  EXPECT_EQ(captured + dropped, recs.size());
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(f.writes, captured);
  EXPECT_EQ(f.csr_read64(kStalls), 0u);
}

TEST(TraceFifoTest, CapturesOnlyTheMatchingProcess) {
  const auto recs = as_full(real_records());
  const std::vector<std::vector<uint8_t>> some(recs.begin(), recs.begin() + 500);
  Fifo<Vntr_trace_fifo> f(40);
  Drive d;
  d.extra_ctrl = kPidMatch;
  d.pid = 7;
  d.cur_pid = 8;
  run(f, some, d);
  EXPECT_EQ(f.writes, 0u);
  EXPECT_EQ(f.csr_read64(kRecords), 0u);
  d.cur_pid = 7;
  run(f, some, d);
  expect_image(f, some, 40);
}

TEST(TraceFifoTest, OneShotStopsAfterAnEpochAndTheRingWraps) {
  const auto recs = as_full(real_records());
  Fifo<Vntr_trace_fifo> f(40);
  Drive d;
  d.extra_ctrl = kOneShot;
  d.epoch_len = 1000;
  d.buf_records = 300;
  d.ready = 0.7;
  run(f, recs, d);
  EXPECT_EQ(f.csr_read64(kRecords), 1000u);
  EXPECT_EQ(f.csr_read(kEpochs), 1u);
  EXPECT_EQ(f.csr_read(kStatus) & 1u, 0u);  // capture has stopped
  const std::vector<std::vector<uint8_t>> first(recs.begin(), recs.begin() + 1000);
  expect_image(f, first, 40, 300);
}

TEST(TraceFifoTest, PackedRecordsOfTheSixFeatures) {
  std::vector<std::vector<uint8_t>> recs;
  for (const auto& r : real_records()) recs.push_back(pack23(r));
  Fifo<Vntr_trace_fifo_packed> f(23);
  EXPECT_EQ(f.csr_read(kRecordBytes), 23u);
  Drive d;
  d.ready = 0.5;
  const Outcome o = run(f, recs, d);
  expect_image(f, recs, 23);
  EXPECT_EQ(f.csr_read64(kStalls), o.stalls_model);
  EXPECT_EQ(f.csr_read64(kDropped), 0u);
}
