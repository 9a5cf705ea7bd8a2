import os
import unittest

import numpy as np

from model.train import data, package, tensorfile, train
from model.train.tests.util import TempDir, synthetic_dataset, tiny_config


class TrainEndToEndTest(unittest.TestCase):
    """A tiny training run on synthetic shards: seconds, not minutes."""

    def test_training_reduces_the_loss_and_exports_a_loadable_package(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds")))
            cfg = tiny_config(epochs=4)
            out = os.path.join(t, "run")
            res = train.train(cfg, ds, out, device="cpu", quiet=True)
            cfg2, _ = package.load(out)
            hist = cfg2.training["history"]
            self.assertEqual(len(hist), 4)
            self.assertLess(hist[-1]["loss"], 0.7 * hist[0]["loss"])
            self.assertAlmostEqual(res["mae"], min(h["mae"] for h in hist), places=4)  # best epoch kept
            self.assertEqual(cfg2.training["programs"], ["syn_a", "syn_b"])
            self.assertEqual(cfg2.training["instructions"], sum(ds.shard(n).n for n in ("syn_a", "syn_b")))
            self.assertAlmostEqual(cfg2.metrics["validation"]["mae"], res["mae"], places=4)
            self.assertEqual(set(cfg2.metrics["validation_designs"]), {"8w", "4w+mem"})
            w, _ = tensorfile.load(os.path.join(out, "model.safetensors"))
            stats = data.feature_stats([ds.shard("syn_a"), ds.shard("syn_b")])
            np.testing.assert_allclose(w["norm.mean"], stats[0], rtol=1e-6)

    def test_resume_continues_bit_identically(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=300))
            a, b = os.path.join(t, "a"), os.path.join(t, "b")
            train.train(tiny_config(epochs=3), ds, a, device="cpu", quiet=True)
            train.train(tiny_config(epochs=3), ds, b, device="cpu", quiet=True, stop_after=2)
            wb2, _ = tensorfile.load(os.path.join(b, "checkpoint.safetensors"))
            train.train(tiny_config(epochs=3), ds, b, device="cpu", quiet=True, resume=True)
            wa, _ = tensorfile.load(os.path.join(a, "checkpoint.safetensors"))
            wb, _ = tensorfile.load(os.path.join(b, "checkpoint.safetensors"))
            self.assertFalse(np.array_equal(wb2["model.rnn.weight_hh_l0"], wb["model.rnn.weight_hh_l0"]))
            for k in wa:
                np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)

    def test_tied_and_untied_bidirectional_train(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=300))
            for dirs, tied in ((2, True), (2, False)):
                cfg = tiny_config(directions=dirs, tied=tied, hidden=8, epochs=1, regressors="all",
                                  reg_loss="huber")
                res = train.train(cfg, ds, os.path.join(t, f"r{tied}"), device="cpu", quiet=True)
                self.assertIn("mae", res)

    def test_longer_training_windows_keep_the_inference_window(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=300))
            out = os.path.join(t, "r")
            train.train(tiny_config(epochs=1, train_target=40), ds, out, device="cpu", quiet=True)
            cfg, _ = package.load(out)
            self.assertEqual((cfg.length, cfg.target), (16, 8))  # the card keeps the inference window
            self.assertEqual(cfg.training["train_target"], 40)
            n = sum(ds.shard(p).n for p in ("syn_a", "syn_b"))
            windows = sum(-(-int(b - a) // 40) for p in ("syn_a", "syn_b") for a, b in ds.shard(p).epoch_bounds())
            self.assertEqual(cfg.training["predicted_instructions"], windows // 16 * 16 * 40)
            self.assertLessEqual(windows * 40 - n, 40 * 4)

    def test_wall_clock_budget_ends_the_run_and_still_exports(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=300))
            out = os.path.join(t, "r")
            train.train(tiny_config(epochs=50, max_minutes=1e-6), ds, out, device="cpu", quiet=True)
            cfg, _ = package.load(out)
            self.assertEqual(cfg.training["epochs_run"], 1)
            self.assertEqual(cfg.training["predicted_instructions"], 16 * 8)  # one step

    def test_learning_rate_decays_with_the_wall_clock_budget_spent(self):
        self.assertEqual(train.lr_factor(9, 10, 1000, 0.05), 1.0)  # end of warm-up
        self.assertAlmostEqual(train.lr_factor(505, 10, 1000, 0.05), 0.525)  # half the steps
        self.assertAlmostEqual(train.lr_factor(20, 10, 1000, 0.05, time_frac=0.5), 0.525)
        self.assertAlmostEqual(train.lr_factor(20, 10, 1000, 0.05, time_frac=1.0), 0.05)
        self.assertAlmostEqual(train.lr_factor(1000, 10, 1000, 0.05, time_frac=0.1), 0.05)

    def test_dataset_without_validation_programs_is_refused(self):
        with TempDir() as t:
            ds = data.Dataset(synthetic_dataset(os.path.join(t, "ds"), epoch_len=100,
                                                programs=(("a", "train"), ("b", "test"))))
            with self.assertRaisesRegex(data.DatasetError, "need training and validation programs"):
                train.train(tiny_config(), ds, os.path.join(t, "r"), device="cpu", quiet=True)


if __name__ == "__main__":
    unittest.main()
