import math
import os
import unittest

import numpy as np

from model.train import calibrate, data, package
from model.train.tests.util import TempDir, trained_tiny


class CalibrateTest(unittest.TestCase):
    def test_search_removes_a_systematic_under_prediction(self):
        # 40% of instructions take 1 cycle, predicted 0.3 (rounds to 0); the rest take 0, predicted 0.1
        rng = np.random.default_rng(0)
        true = (rng.random(10000) < 0.4).astype(np.int64)
        s = np.where(true == 1, 0.3, 0.1) + rng.normal(0, 0.02, 10000)
        margin = np.full(10000, -5.0)  # the classifier is sure: all short
        ds, dl, dc, fig = calibrate.search(margin, s, s + 3, true, clip=1000)
        self.assertAlmostEqual(fig["cycle_error_before"], 1.0)
        self.assertAlmostEqual(fig["exact_before"], 0.6, places=2)
        self.assertLess(fig["cycle_error_after"], 0.01)
        self.assertGreater(fig["exact_after"], 0.99)
        self.assertTrue(math.log(1.5) - 0.3 < ds < math.log(1.5) - 0.1)  # 1s round up, 0s stay
        self.assertEqual(dl, 0.0)  # no long-regime rows: the smallest long shift wins
        self.assertEqual(dc, 0.0)
        ds, _, _, fig = calibrate.search(margin, s, s + 3, true, clip=1000, grid_short=np.zeros(1))
        self.assertEqual(ds, 0.0)  # calibrate --no-short: the short bias stays, and so does the error
        self.assertAlmostEqual(fig["cycle_error_after"], 1.0)

    def test_search_moves_the_classifier_threshold_to_catch_missed_long_instructions(self):
        # 2% take 100 cycles but the classifier leans short on them (margin -0.6); the long
        # regressor is right; the others take 0 cycles and the classifier is sure of it
        rng = np.random.default_rng(1)
        long = rng.random(20000) < 0.02
        true = np.where(long, 100, 0)
        margin = np.where(long, -0.6, -4.0)
        s, l = np.full(20000, 0.1), np.full(20000, np.log1p(100.0))
        ds, dl, dc, fig = calibrate.search(margin, s, l, true, clip=1000, max_error=0.02)
        self.assertAlmostEqual(fig["cycle_error_before"], 1.0)
        self.assertEqual(fig["cycle_error_after"], 0.0)
        self.assertEqual(fig["exact_after"], 1.0)
        self.assertEqual((ds, dl, dc), (0.0, 0.0, 0.75))  # the smallest shift that flips them
        _, _, dc0, fig0 = calibrate.search(margin, s, l, true, clip=1000, grid_cls=np.zeros(1))
        self.assertEqual(dc0, 0.0)
        self.assertGreater(fig0["cycle_error_after"], 0.4)  # regressor shifts alone cannot fix it

    def test_per_regime_keeps_the_short_shift_from_paying_for_the_long_regime(self):
        # 98% take 1 cycle and are predicted right (with noise); 2% take 100 and the classifier
        # knows, but the long regressor says 50 and the long grid cannot reach 100
        rng = np.random.default_rng(2)
        long = rng.random(20000) < 0.02
        true = np.where(long, 100, 1)
        margin = np.where(long, 5.0, -5.0)
        s = np.log1p(1.0) + rng.normal(0, 0.15, 20000)
        l = np.full(20000, np.log1p(50.0))
        ds, dl, dc, fig = calibrate.search(margin, s, l, true, clip=1000)
        self.assertGreater(ds, 0.1)  # 1-cycle instructions rounded up to 2 to make up the sum
        self.assertLess(fig["exact_after"], 0.7)
        ds, dl, dc, fig = calibrate.search(margin, s, l, true, clip=1000, per_regime=10)
        self.assertLess(abs(ds), 0.1)
        self.assertEqual(dl, 0.5)  # as far as the grid goes
        self.assertGreater(fig["exact_after"], 0.88)  # 0.884 before: none lost
        self.assertGreater(fig["cycle_error_after"], 0.1)  # the long regime's error is reported

    def test_calibrate_shifts_only_regressor_biases(self):
        with TempDir() as t:
            d, cfg, net, before = trained_tiny(t, epochs=2)
            win = data.Windows([d.shard("syn_c")], cfg.length, cfg.target, d.design_columns(cfg.designs))
            rep = calibrate.calibrate(net, cfg, win, np.arange(len(win)), 64, "cpu")
            self.assertEqual(set(rep), set(cfg.designs))
            for k, v in net.state_dict().items():
                changed = not bool((v == before[k]).all())
                if changed:
                    self.assertRegex(k, r"heads\.\d\.(output_layer_(short|long)|cls_fc2)\.bias")
            for d in range(len(cfg.designs)):  # of cls_fc2 only the long logit's bias moves
                self.assertEqual(float(net.state_dict()[f"heads.{d}.cls_fc2.bias"][0]),
                                 float(before[f"heads.{d}.cls_fc2.bias"][0]))
            for dname, r in rep.items():
                self.assertLessEqual(r["cycle_error_after"], r["cycle_error_before"] + 1e-9)
            cfg.metrics["calibration"] = rep
            package.export(os.path.join(t, "cal"), cfg, net)  # numpy figures serialise
            self.assertEqual(package.load(os.path.join(t, "cal"))[0].metrics["calibration"], rep)

    def test_summed_scales_make_each_bins_sum_right(self):
        self.assertEqual(calibrate.summed_edges(1000)[:17], list(range(17)))
        self.assertEqual(calibrate.summed_edges(1000)[-1], 1001)
        self.assertEqual(calibrate.summed_edges(4), [0, 1, 2, 3, 4, 5])
        edges = [0, 1, 3, 5]
        pred = np.array([0, 0, 1, 2, 4])
        true = np.array([1, 0, 1, 5, 4])
        # bin {0}: (2 + 1) / (1 + 1); bin {1, 2}: (2 + 6) / (2 + 3); bin {3, 4}: 5 / 5; none in a 4th
        self.assertEqual(calibrate.summed_scales(pred, true, edges + [7]), [1.5, 1.6, 1.0, 1.0])

    def test_fit_summed_keeps_the_network_and_sums_validation_cycles(self):
        with TempDir() as t:
            d, cfg, net, before = trained_tiny(t, epochs=2)
            win = data.Windows([d.shard("syn_c")], cfg.length, cfg.target, d.design_columns(cfg.designs))
            rows = np.arange(len(win))
            rep = calibrate.fit_summed(net, cfg, win, rows, 64, "cpu")
            for k, v in net.state_dict().items():
                self.assertTrue(bool((v == before[k]).all()), k)
            self.assertEqual(cfg.summed["edges"], calibrate.summed_edges(cfg.clip))
            for r in rep.values():
                self.assertLess(r["cycle_error_after"], 1e-4)  # the clip aside, exact on its windows
            package.export(os.path.join(t, "sum"), cfg, net)
            back, _ = package.load(os.path.join(t, "sum"))
            self.assertEqual(back.summed, cfg.summed)
            cyc = np.array([[0] * len(cfg.designs), [cfg.clip] * len(cfg.designs)])
            want = [[cfg.summed["scale"][n][0] - 1 for n in cfg.designs],
                    [(cfg.clip + 1) * cfg.summed["scale"][n][-1] - 1 for n in cfg.designs]]
            np.testing.assert_allclose(back.expected_cycles(cyc), want)
            back.summed = {}
            np.testing.assert_array_equal(back.expected_cycles(cyc), cyc)

    def test_sum_heads_are_shifted_copies_and_sums_use_them(self):
        with TempDir() as t:
            d, cfg, net, before = trained_tiny(t, epochs=2)
            D = len(cfg.designs)
            win = data.Windows([d.shard("syn_c")], cfg.length, cfg.target, d.design_columns(cfg.designs))
            rows = np.arange(len(win))
            self.assertFalse(calibrate.set_sum_heads(net, cfg, True))
            self.assertEqual((cfg.summed, cfg.head_sets, len(net.heads)), ({"heads": True}, 2 * D, 2 * D))
            rep = calibrate.calibrate(net, cfg, win, rows, 64, "cpu", max_error=0.0, exact_heads=False)
            sd = net.state_dict()
            for k, v in before.items():  # the design heads and the backbone as trained
                self.assertTrue(bool((sd[k] == v).all()), k)
            for i, name in enumerate(cfg.designs):
                sum_head = {k.split(".", 2)[2]: v for k, v in sd.items() if k.startswith(f"heads.{D + i}.")}
                for k, v in sum_head.items():
                    want = before[f"heads.{i}.{k}"].clone()
                    if k == "output_layer_short.bias":
                        want += rep[name]["short_shift"]
                    elif k == "output_layer_long.bias":
                        want += rep[name]["long_shift"]
                    elif k == "cls_fc2.bias":
                        want[1] += rep[name]["long_logit_shift"]
                    self.assertTrue(bool((v == want).all()), f"{name} {k}")
            self.assertTrue(any(rep[n]["long_logit_shift"] or rep[n]["short_shift"] for n in cfg.designs))
            package.export(os.path.join(t, "heads"), cfg, net)
            back, net2 = package.load(os.path.join(t, "heads"))
            self.assertEqual(back.head_sets, 2 * D)
            cyc = np.arange(2 * 2 * D).reshape(2, 2 * D)  # 2 instructions x (latencies, sum heads)
            np.testing.assert_array_equal(back.expected_cycles(cyc), cyc[:, D:])
            # the validation metrics: exactness of the design heads, CPI of the sum heads
            from model.train import evaluate
            v = evaluate.validate(net2, back, win, rows, 64, "cpu")
            for name in cfg.designs:
                self.assertAlmostEqual(v["designs"][name]["exact"], rep[name]["exact_before"],
                                       delta=1e-5)  # the report rounds to 5 places
                cpi_err = abs(v["designs"][name]["cpi_pred"] / v["designs"][name]["cpi_true"] - 1)
                self.assertAlmostEqual(cpi_err, rep[name]["cycle_error_after"], delta=1e-5)  # rounded
            # by default the design heads are shifted too, to their most exact
            self.assertTrue(calibrate.set_sum_heads(net, cfg, True))  # fresh copies
            rep2 = calibrate.calibrate(net, cfg, win, rows, 64, "cpu", max_error=0.0)
            for name in cfg.designs:
                e = rep2[name].pop("exact")
                self.assertEqual(e["exact_before"], rep[name]["exact_before"])
                self.assertGreaterEqual(e["exact_after"], e["exact_before"])
                self.assertEqual(rep2[name], rep[name])  # the sum heads as before
            self.assertTrue(calibrate.set_sum_heads(net, cfg, False))  # dropped again
            self.assertEqual((cfg.summed, len(net.heads)), ({}, D))


if __name__ == "__main__":
    unittest.main()
