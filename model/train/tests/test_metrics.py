import unittest

import numpy as np

from model.train import metrics


class MetricsTest(unittest.TestCase):
    def test_per_instruction_metrics(self):
        a = metrics.Accumulator(clip=100, threshold=10)
        pred = np.array([0, 1, 3, 10, 21, 100])
        true = np.array([0, 2, 3, 12, 20, 500])  # 500 counts as 100 for the per-instruction metrics
        a.add(pred, true, pred_long=pred >= 10)
        r = a.result()
        err = np.array([0, 1, 0, 2, 1, 0])
        tc = np.minimum(true, 100)
        self.assertEqual(r["instructions"], 6)
        self.assertAlmostEqual(r["mae"], err.mean())
        self.assertAlmostEqual(r["rmse"], np.sqrt((err ** 2).mean()))
        self.assertAlmostEqual(r["exact"], 3 / 6)
        self.assertAlmostEqual(r["within1"], 5 / 6)
        self.assertAlmostEqual(r["within2"], 1.0)
        self.assertAlmostEqual(r["rel5"], 4 / 6)  # |e| <= 0.05 t: rows 0, 2, 4 (1 <= 1.0), 5
        self.assertAlmostEqual(r["rae"], err.sum() / np.abs(tc - tc.mean()).sum())
        self.assertAlmostEqual(r["regime_acc"], 1.0)
        self.assertAlmostEqual(r["mode_share"], 1 / 6)  # every clipped true value appears once
        self.assertAlmostEqual(r["cpi_true"], true.sum() / 6)  # CPI uses the unclipped cycles
        self.assertAlmostEqual(r["cpi_error"], abs(pred.sum() - true.sum()) / true.sum())

    def test_accumulating_in_parts_equals_at_once(self):
        rng = np.random.default_rng(1)
        p, t = rng.integers(0, 50, 1000), rng.integers(0, 80, 1000)
        whole = metrics.Accumulator(60)
        whole.add(p, t)
        parts = metrics.Accumulator(60)
        for i in range(0, 1000, 300):
            x = metrics.Accumulator(60)
            x.add(p[i:i + 300], t[i:i + 300])
            parts.merge(x)
        for k, v in whole.result().items():
            self.assertAlmostEqual(parts.result()[k], v, msg=k)

    def test_kendall_tau(self):
        self.assertEqual(metrics.kendall_tau(np.array([1, 2, 3]), np.array([10, 20, 30])), 1.0)
        self.assertEqual(metrics.kendall_tau(np.array([1, 2, 3]), np.array([3, 2, 1])), -1.0)
        self.assertAlmostEqual(metrics.kendall_tau(np.array([1, 2, 3, 4]), np.array([1, 3, 2, 4])), 4 / 6)


if __name__ == "__main__":
    unittest.main()
