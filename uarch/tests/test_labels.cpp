// The multi-design labeller and the LABELS file format.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kernels.h"
#include "ns/trace/format.h"
#include "ns/trace/trace.h"
#include "ns/uarch/labeler.h"
#include "ns/uarch/labels.h"
#include "test_support.h"

namespace ns::uarch {
namespace {

namespace fs = std::filesystem;
using test_support::design;

class UarchLabelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ns_uarch_labels_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A trace of `epochs` epochs of the mixed workload, each with `warm` warm-up records.
  fs::path write_trace(int epochs, size_t length, size_t warm) {
    const fs::path p = dir_ / "mixed.nstrace";
    auto recs = kernels::mixed_workload(epochs * (length + warm), 1);
    trace::TraceMeta meta;
    meta.program = "mixed";
    meta.epoch_length = length;
    meta.warmup = warm;
    trace::Writer w(p, meta);
    size_t i = 0;
    for (int e = 0; e < epochs; ++e) {
      w.begin_epoch(i + warm);
      for (size_t k = 0; k < warm; ++k, ++i) {
        recs[i].flags |= trace::kFlagWarmup;
        w.append(recs[i]);
      }
      for (size_t k = 0; k < length; ++k, ++i) w.append(recs[i]);
      w.end_epoch();
    }
    w.close();
    return p;
  }

  fs::path dir_;
};

// Reference: each design on its own core, epoch after epoch, on this thread.
std::vector<std::vector<uint32_t>> reference_labels(const trace::Reader& reader,
                                                    const CoreConfig& c) {
  Core core(c);
  std::vector<std::vector<uint32_t>> out;
  for (size_t k = 0; k < reader.epochs().size(); ++k) {
    const auto recs = reader.read_epoch(k);
    const size_t rows = reader.epochs()[k].records;
    std::vector<uint32_t> labels(rows);
    std::vector<uint8_t> side(rows);
    core.run_epoch(recs, {labels.data(), side.data(), 1});
    out.push_back(labels);
  }
  return out;
}

TEST_F(UarchLabelsTest, LabelerMatchesOneCorePerDesignOnAnyThreadCount) {
  const trace::Reader reader(write_trace(5, 20000, 3000));
  const std::vector<CoreConfig> configs = {design("8w"), design("rob"), design("4w+mem")};
  std::vector<std::vector<std::vector<uint32_t>>> ref;
  for (const auto& c : configs) ref.push_back(reference_labels(reader, c));
  for (unsigned threads : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(threads);
    Labeler labeler(configs, threads);
    size_t expect_epoch = 0;
    labeler.run(reader, 100, [&](const EpochLabels& e) {
      ASSERT_EQ(e.info->index, expect_epoch++);
      ASSERT_EQ(e.warmup, 3000u);
      ASSERT_EQ(e.rows, 20000u);
      ASSERT_EQ(e.labels.size(), e.rows * configs.size());
      for (size_t c = 0; c < configs.size(); ++c) {
        uint64_t sum = 0;
        for (size_t i = 0; i < e.rows; ++i) {
          ASSERT_EQ(e.labels[i * configs.size() + c], ref[c][e.info->index][i]);
          sum += e.labels[i * configs.size() + c];
        }
        EXPECT_EQ(sum, e.stats[c].cycles);
      }
    });
    EXPECT_EQ(expect_epoch, 5u);
    EXPECT_EQ(labeler.totals()[0].instructions, 5u * 20000);
  }
}

TEST_F(UarchLabelsTest, LabelerStopsAtMaxEpochsAndPropagatesErrors) {
  const trace::Reader reader(write_trace(4, 5000, 0));
  Labeler labeler({design("8w"), design("lsq")}, 2);
  int seen = 0;
  labeler.run(reader, 2, [&](const EpochLabels&) { ++seen; });
  EXPECT_EQ(seen, 2);
  EXPECT_THROW(labeler.run(reader, 4,
                           [&](const EpochLabels& e) {
                             if (e.info->index == 1) throw std::runtime_error("stop");
                           }),
               std::runtime_error);
}

TEST_F(UarchLabelsTest, LabelerReportsACorruptTrace) {
  const fs::path p = write_trace(3, 5000, 0);
  const trace::Reader reader(p);
  {
    // Flip a byte in the second epoch's records after the reader validated the file.
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(reader.epochs()[1].offset + 32 + 100));
    f.put('\x55');
  }
  Labeler labeler({design("8w")}, 2);
  try {
    labeler.run(reader, 10, [](const EpochLabels&) {});
    FAIL() << "no error";
  } catch (const trace::TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
}

// Writes a small LABELS file: 2 configurations, epochs of 3 and 2 rows.
fs::path write_labels(const fs::path& p) {
  LabelWriter w(p, {"a", "b"});
  const std::vector<uint32_t> l0 = {1, 2, 3, 4, 5, 6}, l1 = {7, 8, 9, 10};
  const std::vector<uint8_t> s0 = {0, 1, 2, 3, 4, 8}, s1 = {16, 17, 18, 19};
  w.write_epoch(0, 3, l0, s0);
  w.write_epoch(1, 2, l1, s1);
  w.close({{"trace", "x.nstrace"}});
  return p;
}

TEST_F(UarchLabelsTest, LabelFileRoundTrips) {
  const LabelReader r(write_labels(dir_ / "l.labels"));
  EXPECT_EQ(r.configs(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.epoch_count(), 2u);
  EXPECT_EQ(r.rows(), 5u);
  EXPECT_EQ(r.metadata().at("trace"), "x.nstrace");
  std::vector<uint32_t> labels;
  std::vector<uint8_t> side;
  r.read_epoch(1, labels, side);
  EXPECT_EQ(labels, (std::vector<uint32_t>{7, 8, 9, 10}));
  EXPECT_EQ(side, (std::vector<uint8_t>{16, 17, 18, 19}));
  EXPECT_THROW(r.read_epoch(2, labels, side), LabelError);
}

class UarchLabelCorruptionTest : public UarchLabelsTest {
 protected:
  std::string error_after(const std::function<void(std::vector<char>&)>& damage) {
    const fs::path p = write_labels(dir_ / "l.labels");
    std::vector<char> bytes;
    {
      std::ifstream in(p, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    damage(bytes);
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
    try {
      const LabelReader r(p);
      std::vector<uint32_t> l;
      std::vector<uint8_t> s;
      for (size_t k = 0; k < r.epoch_count(); ++k) r.read_epoch(k, l, s);
    } catch (const LabelError& e) {
      return e.what();
    }
    return "no error";
  }
  static void refresh_header_crc(std::vector<char>& b) {
    labels_format::FileHeader h;
    std::memcpy(&h, b.data(), sizeof h);
    h.header_crc32 = trace::format::crc32(&h, offsetof(labels_format::FileHeader, header_crc32));
    std::memcpy(b.data(), &h, sizeof h);
  }
};

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST_F(UarchLabelCorruptionTest, RejectsDamage) {
  EXPECT_HAS(error_after([](auto&) {}), "no error");
  EXPECT_HAS(error_after([](auto& b) { b[0] = 'X'; }), "bad magic");
  EXPECT_HAS(error_after([](auto& b) { b[20] ^= 1; }), "header checksum");
  EXPECT_HAS(error_after([](auto& b) { b.resize(b.size() - 1); }), "truncated");
  EXPECT_HAS(error_after([](auto& b) { b.push_back(0); }), "truncated or appended");
  // A label byte of epoch 0 (after the 64-byte header and the 32-byte block header).
  EXPECT_HAS(error_after([](auto& b) { b[64 + 32 + 5] ^= 4; }), "label checksum mismatch");
  // A side byte of epoch 0 (after its 6 labels).
  EXPECT_HAS(error_after([](auto& b) { b[64 + 32 + 24 + 1] ^= 4; }), "side-metric checksum");
  EXPECT_HAS(error_after([](auto& b) { b[64 + 4] ^= 1; }), "corrupt block header");
  EXPECT_HAS(error_after([](auto& b) { b[b.size() - 3] ^= 1; }), "metadata checksum");
  EXPECT_HAS(error_after([](auto& b) {
               b[8] = 2;  // major version 2
               refresh_header_crc(b);
             }),
             "format version 2.0 is not supported");
  EXPECT_HAS(error_after([](auto& b) {
               b[56] = 0;  // clear the complete flag
               refresh_header_crc(b);
             }),
             "incomplete");
  EXPECT_HAS(error_after([](auto& b) { b.resize(10); }), "too short");
}

TEST_F(UarchLabelsTest, UnclosedWriterLeavesAnIncompleteFile) {
  {
    LabelWriter w(dir_ / "u.labels", {"a"});
    const std::vector<uint32_t> l = {1};
    const std::vector<uint8_t> s = {0};
    w.write_epoch(0, 1, l, s);
  }
  EXPECT_THROW(LabelReader r(dir_ / "u.labels"), LabelError);
}

TEST_F(UarchLabelsTest, WriterRejectsMisuse) {
  LabelWriter w(dir_ / "m.labels", {"a", "b"});
  const std::vector<uint32_t> l = {1, 2};
  const std::vector<uint8_t> s = {0, 0};
  EXPECT_THROW(w.write_epoch(1, 1, l, s), LabelError) << "out of order";
  EXPECT_THROW(w.write_epoch(0, 2, l, s), LabelError) << "wrong shape";
  EXPECT_THROW(LabelWriter(dir_ / "n.labels", {}), LabelError);
}

}  // namespace
}  // namespace ns::uarch
