import math
import os
import unittest

import numpy as np

from model.train import calibrate, data, package, train
from model.train.tests.util import TempDir, synthetic_dataset, tiny_config


class CalibrateTest(unittest.TestCase):
    def test_search_removes_a_systematic_under_prediction(self):
        # 40% of instructions take 1 cycle, predicted 0.3 (rounds to 0); the rest take 0, predicted 0.1
        rng = np.random.default_rng(0)
        true = (rng.random(10000) < 0.4).astype(np.int64)
        s = np.where(true == 1, 0.3, 0.1) + rng.normal(0, 0.02, 10000)
        sel = np.zeros(10000, dtype=bool)
        ds, dl, fig = calibrate.search(sel, s, s + 3, true, clip=1000)
        self.assertAlmostEqual(fig["cycle_error_before"], 1.0)
        self.assertAlmostEqual(fig["exact_before"], 0.6, places=2)
        self.assertLess(fig["cycle_error_after"], 0.01)
        self.assertGreater(fig["exact_after"], 0.99)
        self.assertTrue(math.log(1.5) - 0.3 < ds < math.log(1.5) - 0.1)  # 1s round up, 0s stay
        self.assertEqual(dl, 0.0)  # no long-regime rows: the smallest long shift wins

    def test_calibrate_shifts_only_regressor_biases(self):
        with TempDir() as t:
            d = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=300))
            train.train(tiny_config(epochs=2), d, os.path.join(t, "r"), device="cpu", quiet=True)
            cfg, net = package.load(os.path.join(t, "r"))
            before = {k: v.clone() for k, v in net.state_dict().items()}
            win = data.Windows([d.shard("syn_c")], cfg.length, cfg.target, d.design_columns(cfg.designs))
            rep = calibrate.calibrate(net, cfg, win, np.arange(len(win)), 64, "cpu")
            self.assertEqual(set(rep), set(cfg.designs))
            for k, v in net.state_dict().items():
                changed = not bool((v == before[k]).all())
                if changed:
                    self.assertRegex(k, r"heads\.\d\.output_layer_(short|long)\.bias")
            for dname, r in rep.items():
                self.assertLessEqual(r["cycle_error_after"], r["cycle_error_before"] + 1e-9)
            cfg.metrics["calibration"] = rep
            package.export(os.path.join(t, "cal"), cfg, net)  # numpy figures serialise
            self.assertEqual(package.load(os.path.join(t, "cal"))[0].metrics["calibration"], rep)


if __name__ == "__main__":
    unittest.main()
