#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "ns/trace/summary.h"
#include "ns/trace/trace.h"

namespace fs = std::filesystem;
using namespace ns::trace;

namespace {

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ns_trace_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Record make_record(uint64_t i, bool warm) {
  Record r;
  r.pc = 0x400000 + 4 * i;
  r.next_pc = r.pc + 4;
  r.inst_len = 4;
  r.opclass = static_cast<uint8_t>(i % 3 == 0 ? OpClass::MemRead : OpClass::IntAlu);
  if (i % 3 == 0) {
    r.flags |= kFlagLoad;
    r.mem_addr = 0x7fff0000 + 8 * i;
    r.mem_size = 8;
  }
  if (i % 7 == 0) {
    r.opclass = static_cast<uint8_t>(OpClass::BranchCond);
    r.flags = kFlagBranch | kFlagConditional | (i % 2 ? kFlagTaken : 0);
    r.mem_addr = 0;
    r.mem_size = 0;
  }
  r.src1 = {1, static_cast<uint8_t>(i % 16)};
  r.dst = {1, static_cast<uint8_t>((i + 1) % 16)};
  if (warm) r.flags |= kFlagWarmup;
  return r;
}

// Writes `epochs` epochs of `n` records, each preceded by `warm` warm-up records.
std::vector<std::vector<Record>> write_trace(const fs::path& p, int epochs, int n, int warm) {
  TraceMeta meta;
  meta.program = "/bin/test";
  meta.args = {"-x", "input file"};
  meta.epoch_length = static_cast<uint64_t>(n);
  meta.warmup = static_cast<uint64_t>(warm);
  Writer w(p, meta);
  std::vector<std::vector<Record>> all;
  uint64_t i = 0;
  for (int e = 0; e < epochs; ++e) {
    w.begin_epoch(1000 * static_cast<uint64_t>(e) + static_cast<uint64_t>(warm));
    std::vector<Record> ep;
    for (int k = 0; k < warm; ++k) ep.push_back(make_record(i++, true));
    for (int k = 0; k < n; ++k) ep.push_back(make_record(i++, false));
    w.append(ep);
    w.end_epoch();
    all.push_back(ep);
  }
  w.close();
  return all;
}

std::vector<char> slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}
void spit(const fs::path& p, const std::vector<char>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

void expect_refused(const fs::path& p, const std::string& fragment) {
  try {
    Reader r(p);
    for (size_t k = 0; k < r.epochs().size(); ++k) r.read_epoch(k);
    FAIL() << "trace was accepted, expected an error containing '" << fragment << "'";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
  }
}

}  // namespace

TEST_F(TraceTest, RecordLayoutIsFortyBytes) { EXPECT_EQ(sizeof(Record), 40u); }

TEST_F(TraceTest, RoundTripsRecordsEpochsAndMetadata) {
  const fs::path p = dir_ / "t.nstrace";
  const auto written = write_trace(p, 3, 10000, 500);  // several chunks per epoch
  Reader r(p);
  ASSERT_EQ(r.epochs().size(), 3u);
  EXPECT_EQ(r.total_records(), 3u * 10500u);
  EXPECT_EQ(r.header().warmup_records, 1500u);
  EXPECT_EQ(r.metadata()["program"], "/bin/test");
  EXPECT_EQ(r.metadata()["args"][1], "input file");
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(r.epochs()[k].records, 10000u);
    EXPECT_EQ(r.epochs()[k].warmup_records, 500u);
    EXPECT_EQ(r.epochs()[k].first_instruction, 1000u * k + 500u);
    EXPECT_EQ(r.read_epoch(k, true), written[k]);
    const auto body = r.read_epoch(k, false);
    ASSERT_EQ(body.size(), 10000u);
    EXPECT_EQ(body.front(), written[k][500]);
  }
}

TEST_F(TraceTest, SignatureIsSha256OfLittleEndianPcs) {
  const fs::path p = dir_ / "t.nstrace";
  const auto written = write_trace(p, 2, 100, 10);
  Reader r(p);
  PcHasher h;
  for (size_t i = 10; i < written[0].size(); ++i) h.add(written[0][i].pc);
  EXPECT_EQ(to_hex(h.finish()), to_hex(r.epochs()[0].signature));
  EXPECT_NE(to_hex(r.epochs()[0].signature), to_hex(r.epochs()[1].signature));
  // Known answer: SHA-256 of the empty sequence.
  EXPECT_EQ(to_hex(h.finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(TraceTest, SummaryCountsTheMix) {
  const fs::path p = dir_ / "t.nstrace";
  write_trace(p, 1, 2100, 0);
  Reader r(p);
  const Summary s = summarize(r);
  EXPECT_EQ(s.records, 2100u);
  EXPECT_EQ(s.branches, 300u);  // i % 7 == 0
  uint64_t loads = 0;
  for (uint64_t i = 0; i < 2100; ++i) loads += (i % 3 == 0 && i % 7 != 0);
  EXPECT_EQ(s.loads, loads);
  EXPECT_EQ(s.opclass[static_cast<int>(OpClass::BranchCond)], 300u);
  EXPECT_EQ(s.to_json()["epochs"].size(), 1u);
}

TEST_F(TraceTest, RejectsMissingFile) { expect_refused(dir_ / "absent.nstrace", "cannot open"); }

TEST_F(TraceTest, RejectsWrongMagic) {
  const fs::path p = dir_ / "magic.nstrace";
  write_trace(p, 1, 100, 0);
  auto b = slurp(p);
  b[0] = 'X';
  spit(p, b);
  expect_refused(p, "bad magic");
}

TEST_F(TraceTest, RejectsWrongVersion) {
  const fs::path p = dir_ / "version.nstrace";
  write_trace(p, 1, 100, 0);
  auto b = slurp(p);
  const uint16_t v = 2;
  std::memcpy(b.data() + 8, &v, 2);
  spit(p, b);
  expect_refused(p, "unsupported format version 2.0");
}

TEST_F(TraceTest, RejectsTruncatedFiles) {
  const fs::path p = dir_ / "trunc.nstrace";
  write_trace(p, 2, 5000, 0);
  const auto b = slurp(p);
  for (size_t len : {size_t(0), size_t(64), size_t(200), b.size() / 2, b.size() - 1}) {
    spit(p, std::vector<char>(b.begin(), b.begin() + static_cast<long>(len)));
    expect_refused(p, "truncated");
  }
}

TEST_F(TraceTest, RejectsEveryBitFlipInSampledPositions) {
  const fs::path p = dir_ / "flip.nstrace";
  write_trace(p, 2, 3000, 100);
  const auto good = slurp(p);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    auto b = good;
    const size_t pos = rng() % b.size();
    b[pos] = static_cast<char>(b[pos] ^ (1 << (rng() % 8)));
    spit(p, b);
    bool refused = false;
    try {
      Reader r(p);
      for (size_t k = 0; k < r.epochs().size(); ++k) r.read_epoch(k);
    } catch (const TraceError&) {
      refused = true;
    }
    EXPECT_TRUE(refused) << "bit flip at byte " << pos << " went unnoticed";
  }
}

TEST_F(TraceTest, RejectsInterruptedWriter) {
  const fs::path p = dir_ / "open.nstrace";
  {
    TraceMeta meta;
    Writer w(p, meta);
    w.begin_epoch(0);
    w.append(make_record(1, false));
  }  // destroyed without close()
  expect_refused(p, "incomplete trace");
}

TEST_F(TraceTest, WriterRefusesWarmupAfterBody) {
  TraceMeta meta;
  Writer w(dir_ / "w.nstrace", meta);
  w.begin_epoch(0);
  w.append(make_record(1, false));
  EXPECT_THROW(w.append(make_record(2, true)), TraceError);
}

TEST_F(TraceTest, WriterRefusesRecordsOutsideAnEpoch) {
  TraceMeta meta;
  Writer w(dir_ / "w.nstrace", meta);
  EXPECT_THROW(w.append(make_record(1, false)), TraceError);
}

TEST_F(TraceTest, ValidatesRecordFields) {
  Record r = make_record(1, false);
  EXPECT_TRUE(validate_record(r).empty());
  r.opclass = 200;
  EXPECT_EQ(validate_record(r), "opclass out of range");
  r = make_record(1, false);
  r.src1 = {9, 0};
  EXPECT_EQ(validate_record(r), "register class out of range");
  r = make_record(3, false);
  r.mem_size = 0;
  EXPECT_EQ(validate_record(r), "memory size and load/store flags disagree");
}

TEST(TraceChecksumTest, Crc32IsTheZlibPolynomial) {
  // The standard check value of CRC-32/ISO-HDLC (zlib, gzip, PNG).
  EXPECT_EQ(format::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(format::crc32("", 0), 0u);
}
