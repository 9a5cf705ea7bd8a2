import unittest

import numpy as np

from model.train import data, refit
from model.train.tests.util import TempDir, trained_tiny


class RefitTest(unittest.TestCase):
    def test_poisson_fit_predicts_the_mean_not_the_geometric_mean(self):
        # Two contexts (feature +1 / -1); in each, half the instructions take 20 cycles and half
        # 80 (context +1) or 10 and 40 (context -1). A log-space fit predicts the geometric means
        # 40 and 20; the Poisson fit the means 50 and 25, so the summed cycles come out right.
        h = np.repeat(np.array([[1.0], [-1.0]]), 2000, axis=0)
        cycles = np.concatenate([np.tile([20, 80], 1000), np.tile([10, 40], 1000)])
        geo = np.where(h[:, 0] > 0, np.log1p(40.0), np.log1p(20.0))  # a log-space fit's answer
        w0, b0 = np.array([(geo[0] - geo[-1]) / 2]), float((geo[0] + geo[-1]) / 2)
        w, b, rep = refit.fit_poisson(h, cycles, w0, b0, l2=0.0)
        pred = np.expm1(h @ w + b)
        self.assertAlmostEqual(float(pred[0]), 50.0, places=2)
        self.assertAlmostEqual(float(pred[-1]), 25.0, places=2)
        self.assertLess(rep["sum_ratio_before"], 0.81)
        self.assertAlmostEqual(rep["sum_ratio_after"], 1.0, places=4)
        self.assertEqual(rep["positions"], 4000)

    def test_refit_changes_only_the_long_regressors(self):
        with TempDir() as t:
            d, cfg, net, before = trained_tiny(t, epochs=1)
            win = data.Windows([d.shard(n) for n in d.names("train")], cfg.length, cfg.target,
                               d.design_columns(cfg.designs))
            rep = refit.refit(net, cfg, win, np.arange(len(win)), 64, "cpu")
            self.assertEqual(set(rep), set(cfg.designs))
            for k, v in net.state_dict().items():
                if not bool((v == before[k]).all()):
                    self.assertRegex(k, r"heads\.\d\.output_layer_long\.(weight|bias)")
            for r in rep.values():
                self.assertGreater(r["positions"], 0)
                self.assertAlmostEqual(r["sum_ratio_after"], 1.0, places=3)


if __name__ == "__main__":
    unittest.main()
