#include <gtest/gtest.h>

#include <cmath>

#include "ns/model/error.h"
#include "ns/model/metrics.h"

using namespace ns::model;

TEST(MetricsTest, PerDesignAccuracyFollowsTheDefinitions) {
  MetricsAccumulator m({"a"}, 100);
  // (pred, label): exact, off by 1, off by 2, off by 3, clipped label (250 -> 100), zero label.
  const std::vector<uint32_t> p = {5, 6, 12, 40, 100, 1}, g = {5, 5, 10, 43, 250, 0};
  m.add(p, g);
  const auto r = m.result()["designs"]["a"];
  EXPECT_DOUBLE_EQ(r["exact"].get<double>(), 2.0 / 6);    // 5/5 and 100/min(250, 100)
  EXPECT_DOUBLE_EQ(r["within1"].get<double>(), 4.0 / 6);  // + 6/5 and 1/0
  EXPECT_DOUBLE_EQ(r["within2"].get<double>(), 5.0 / 6);  // + 12/10
  // rel5: |e| <= 0.05 g: 5/5, 100/100 and 40/43 (3 > 2.15: no) -> 2; 1/0 fails.
  EXPECT_DOUBLE_EQ(r["rel5"].get<double>(), 2.0 / 6);
  EXPECT_DOUBLE_EQ(r["mae"].get<double>(), (0 + 1 + 2 + 3 + 0 + 1) / 6.0);
  EXPECT_DOUBLE_EQ(r["rmse"].get<double>(), std::sqrt((1 + 4 + 9 + 1) / 6.0));
  // RAE against the clipped labels' mean 27.1667.
  const double mean = (5 + 5 + 10 + 43 + 100 + 0) / 6.0;
  const double dev = std::fabs(5 - mean) * 2 + std::fabs(10 - mean) + std::fabs(43 - mean) +
                     std::fabs(100 - mean) + std::fabs(0 - mean);
  EXPECT_NEAR(r["rae"].get<double>(), 7.0 / dev, 1e-12);
  // CPI uses the unclipped labels.
  EXPECT_DOUBLE_EQ(r["cpi_true"].get<double>(), 313.0 / 6);
  EXPECT_DOUBLE_EQ(r["cpi_pred"].get<double>(), 164.0 / 6);
  EXPECT_DOUBLE_EQ(r["cpi_error"].get<double>(), (313.0 - 164.0) / 313.0);  // absolute
  EXPECT_FALSE(m.result().contains("ranking"));
}

TEST(MetricsTest, CpiAndEpochTotalsUseTheSummedTable) {
  // clip 4, bins {0}, {1..4}: a predicted 0 stands for 1 cycle in design x, for 0 in y.
  SummedCycles t{{0, 1, 5}, {{2.0, 1.0}, {1.0, 1.0}}};
  MetricsAccumulator m({"x", "y"}, 4, t);
  // x: predictions 0, 0 (sum 2 with the table), y: 1, 1 (sum 2); labels x 1, 1 and y 3, 3.
  m.add(std::vector<uint32_t>{0, 1, 0, 1}, std::vector<uint32_t>{1, 3, 1, 3});
  const auto r = m.result();
  EXPECT_DOUBLE_EQ(r["designs"]["x"]["cpi_pred"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["designs"]["x"]["cpi_error"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r["designs"]["x"]["exact"].get<double>(), 0.0);  // on the predictions
  EXPECT_DOUBLE_EQ(r["designs"]["y"]["cpi_pred"].get<double>(), 1.0);
  // The epoch's totals tie (2, 2) with the table, so no tau is defined for it; without the table
  // x (0) beats y (2), as the labels (2, 6) say.
  EXPECT_DOUBLE_EQ(r["ranking"]["epochs"]["best_match"].get<double>(), 1.0);
  EXPECT_EQ(r["ranking"]["epochs"]["kendall_tau_epochs"], 0);
  MetricsAccumulator plain({"x", "y"}, 4);
  plain.add(std::vector<uint32_t>{0, 1, 0, 1}, std::vector<uint32_t>{1, 3, 1, 3});
  EXPECT_DOUBLE_EQ(plain.result()["designs"]["x"]["cpi_pred"].get<double>(), 0.0);
  EXPECT_EQ(plain.result()["ranking"]["epochs"]["kendall_tau_epochs"], 1);
  EXPECT_DOUBLE_EQ(plain.result()["ranking"]["epochs"]["kendall_tau"].get<double>(), 1.0);
}

TEST(MetricsTest, CpiAndEpochTotalsUseTheSumHeads) {
  SummedCycles heads;
  heads.heads = true;
  MetricsAccumulator m({"x", "y"}, 4, heads);
  // Per instruction: latencies x, y, then the sum heads x, y. Labels x 1, 1 and y 3, 3.
  m.add(std::vector<uint32_t>{1, 2, 2, 4, 1, 3, 1, 3}, std::vector<uint32_t>{1, 3, 1, 3});
  const auto r = m.result();
  EXPECT_DOUBLE_EQ(r["designs"]["x"]["exact"].get<double>(), 1.0);  // on the latencies
  EXPECT_DOUBLE_EQ(r["designs"]["y"]["exact"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(r["designs"]["x"]["cpi_pred"].get<double>(), 1.5);          // (2 + 1) / 2
  EXPECT_DOUBLE_EQ(r["designs"]["y"]["cpi_pred"].get<double>(), 3.5);          // (4 + 3) / 2
  EXPECT_DOUBLE_EQ(r["ranking"]["epochs"]["kendall_tau"].get<double>(), 1.0);  // 3 < 7, as 2 < 6
  // The latencies alone rank the instructions: x first in both, on both sides.
  EXPECT_DOUBLE_EQ(r["ranking"]["best_match"].get<double>(), 1.0);
  EXPECT_THROW(m.add(std::vector<uint32_t>{1, 2, 3}, std::vector<uint32_t>{1, 3}), ModelError);
}

TEST(MetricsTest, EpochRankingUsesTheDesignsTotals) {
  MetricsAccumulator m({"x", "y"}, 1000);
  // Every instruction ranks x first (or ties), but the epoch's totals make y truly better.
  m.add(std::vector<uint32_t>{1, 5, 1, 5}, std::vector<uint32_t>{3, 1, 0, 1});
  const auto r = m.result()["ranking"];
  EXPECT_EQ(r["epochs"]["count"], 1);
  EXPECT_DOUBLE_EQ(r["epochs"]["kendall_tau"].get<double>(), -1.0);
  EXPECT_DOUBLE_EQ(r["epochs"]["best_match"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r["best_match"].get<double>(), 0.5);  // instruction 2: x is truly best
}

TEST(MetricsTest, RankingAcrossDesigns) {
  MetricsAccumulator m({"x", "y", "z"}, 1000);
  m.add(std::vector<uint32_t>{1, 2, 3}, std::vector<uint32_t>{1, 2, 3});  // same order: tau 1
  auto r = m.result()["ranking"];
  EXPECT_DOUBLE_EQ(r["kendall_tau"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["full_match"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["best_match"].get<double>(), 1.0);
  m.add(std::vector<uint32_t>{3, 2, 1}, std::vector<uint32_t>{1, 2, 3});  // reversed: tau -1
  m.add(std::vector<uint32_t>{0, 0, 0}, std::vector<uint32_t>{4, 4, 4});  // both tied: no tau
  m.add(std::vector<uint32_t>{1, 1, 2}, std::vector<uint32_t>{2, 1, 3});  // tau-b with a tie
  r = m.result()["ranking"];
  EXPECT_EQ(r["kendall_tau_instructions"].get<uint64_t>(), 3u);
  // Last instruction: pairs (x,y) tie in p, (x,z) concordant, (y,z) concordant: 2 / sqrt(2 * 3).
  EXPECT_NEAR(r["kendall_tau"].get<double>(), (1.0 - 1.0 + 2.0 / std::sqrt(6.0)) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(r["full_match"].get<double>(), 2.0 / 4);  // instructions 1 and 3 (all ties)
  // Best: 1 yes; 2 predicts z (truly worst) no; 3 predicts x, all truly tied: yes; 4 predicts x
  // (first of the tied best), truly best is y: no.
  EXPECT_DOUBLE_EQ(r["best_match"].get<double>(), 2.0 / 4);
  const auto& xy = r["pairwise"][0];
  EXPECT_EQ(xy["a"], "x");
  EXPECT_EQ(xy["b"], "y");
  EXPECT_DOUBLE_EQ(xy["match"].get<double>(), 2.0 / 4);      // instructions 1 and 3
  EXPECT_DOUBLE_EQ(xy["gt_better"].get<double>(), 2.0 / 4);  // 1 < 2 twice
  EXPECT_DOUBLE_EQ(xy["nonzero"].get<double>(), 1.0);
}

TEST(MetricsTest, MergeEqualsOneAccumulation) {
  const std::vector<uint32_t> p = {1, 5, 9, 0, 2, 2, 7, 3}, g = {1, 4, 12, 0, 3, 2, 9, 9};
  MetricsAccumulator all({"a", "b"}, 10), first({"a", "b"}, 10), second({"a", "b"}, 10);
  all.add(p, g);
  first.add(std::span(p).first(4), std::span(g).first(4));
  second.add(std::span(p).subspan(4), std::span(g).subspan(4));
  first.merge(second);
  auto merged = first.result(), single = all.result();
  EXPECT_EQ(merged["ranking"]["epochs"]["count"], 2);  // each add() is one epoch
  merged["ranking"].erase("epochs");
  single["ranking"].erase("epochs");
  EXPECT_EQ(merged, single);
  EXPECT_THROW(first.add(std::vector<uint32_t>(3), std::vector<uint32_t>(3)), ModelError);
  EXPECT_THROW(first.merge(MetricsAccumulator({"a"}, 10)), ModelError);
}
