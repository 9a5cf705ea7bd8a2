import json
import os
import unittest
from pathlib import Path

import numpy as np

from model.train import data
from model.train.tests.util import TempDir, synthetic_dataset


class WindowTest(unittest.TestCase):
    def shard(self, lengths=(23, 17, 3, 0, 8)):
        rng = np.random.default_rng(0)
        n = sum(lengths)
        feats = rng.integers(1, 1000, (n, 13))  # no zero rows, so padding is recognisable
        labels = np.arange(n)[:, None] * np.array([[1, 10]])
        return data.ArrayShard(feats, labels, np.concatenate([[0], np.cumsum(lengths)]))

    def test_every_instruction_is_predicted_exactly_once(self):
        sh = self.shard()
        for L, T in ((12, 4), (8, 8), (16, 2), (13, 5)):
            w = data.Windows([sh], L, T, [0, 1])
            x, y, m = w.batch(np.arange(len(w)))
            predicted = np.sort(y[..., 0][m])
            np.testing.assert_array_equal(predicted, np.arange(sh.n), err_msg=f"L={L} T={T}")
            np.testing.assert_array_equal(y[..., 1][m], 10 * y[..., 0][m])

    def test_window_count_is_ceil_n_over_t_per_epoch(self):
        w = data.Windows([self.shard()], 12, 4, [0])
        self.assertEqual(len(w), 6 + 5 + 1 + 0 + 2)

    def test_padding_is_all_zero_outside_the_epoch(self):
        sh = self.shard()
        L, T, C = 12, 4, 4
        w = data.Windows([sh], L, T, [0])
        x, _, m = w.batch(np.arange(len(w)))
        for i, (_, a, b, t0) in enumerate(w.index):
            for j in range(L):
                p = t0 - C + j
                if a <= p < b:
                    np.testing.assert_array_equal(x[i, j], sh.features[p])
                else:
                    self.assertFalse(x[i, j].any(), f"window {i} position {j} (row {p}) should be padding")
            self.assertEqual(int(m[i].sum()), min(T, b - t0))

    def test_windows_never_cross_epochs(self):
        sh = self.shard((5, 5))
        w = data.Windows([sh], 12, 4, [0])
        x, _, _ = w.batch(np.array([1]))  # targets rows 4..4 of epoch 0, context reaches row 8
        np.testing.assert_array_equal(x[0, 4:5], sh.features[4:5])
        self.assertFalse(x[0, 5:].any())

    def test_bad_window_is_rejected(self):
        with self.assertRaises(ValueError):
            data.Windows([self.shard()], 12, 5, [0])

    def test_feature_stats_clamp_std(self):
        sh = data.ArrayShard(np.tile([[5, 1]], (10, 1)) * [[1, 0]] + [[0, 7]], np.zeros((10, 1)), [0, 10])
        mean, std = data.feature_stats([sh])
        np.testing.assert_allclose(mean, [5, 7])
        np.testing.assert_allclose(std, [1e-3, 1e-3])


class DatasetTest(unittest.TestCase):
    def test_reads_synthetic_shards_by_mmap(self):
        with TempDir() as t:
            root = synthetic_dataset(t, epochs=2, epoch_len=300)
            ds = data.Dataset(root)
            self.assertEqual(ds.names("train"), ["syn_a", "syn_b"])
            self.assertEqual(ds.design_columns(["4w+mem", "8w"]), [4, 0])
            sh = ds.shard("syn_a")
            self.assertIsInstance(sh.features, np.memmap)
            self.assertEqual(sh.features.shape, (sh.n, 13))
            self.assertEqual(sh.labels.shape, (sh.n, 5))
            self.assertEqual(int(sh.epochs[1]), 300)

    def corrupt(self, mutate, message):
        with TempDir() as t:
            root = synthetic_dataset(t, epochs=1, epoch_len=50)
            mutate(root)
            with self.assertRaisesRegex(data.DatasetError, message):
                ds = data.Dataset(root)
                ds.shard("syn_a")
                ds.design_columns(["8w", "nope"])

    def test_rejects_truncated_features(self):
        def cut(root):
            p = os.path.join(root, "syn_a", "features.i32")
            with open(p, "r+b") as f:
                f.truncate(os.path.getsize(p) - 4)
        self.corrupt(cut, r"features.i32: \d+ bytes, expected")

    def test_rejects_wrong_label_columns(self):
        def cut(root):
            p = os.path.join(root, "syn_a", "labels.u32")
            np.zeros((50, 4), dtype="<u4").tofile(p)
        self.corrupt(cut, "labels.u32")

    def test_rejects_decreasing_epochs(self):
        def bad(root):
            np.array([0, 40, 30, 50], dtype="<u8").tofile(os.path.join(root, "syn_a", "epochs.u64"))
        self.corrupt(bad, "epoch offsets")

    def test_rejects_missing_file(self):
        self.corrupt(lambda r: os.remove(os.path.join(r, "syn_a", "labels.u32")), "labels.u32: missing")

    def test_rejects_wrong_manifest_version(self):
        def bad(root):
            p = os.path.join(root, "manifest.json")
            m = json.loads(Path(p).read_text())
            m["version"] = 2
            Path(p).write_text(json.dumps(m))
        self.corrupt(bad, "version 2 is not 1")

    def test_rejects_unlabelled_design(self):
        self.corrupt(lambda r: None, r"designs \['nope'\] are not labelled")

    def test_rejects_non_json_manifest(self):
        self.corrupt(lambda r: Path(os.path.join(r, "manifest.json")).write_text("{"), "not valid JSON")


if __name__ == "__main__":
    unittest.main()
