import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

from model.train import data, sources

# one program, ten instructions: data_reuse 0 = no data access, 40 = cold line, else warm
REUSE = np.array([0, 40, 40, 3, 40, 0, 5, 40, 2, 0])
TRUE = np.array([1, 200, 2, 150, 300, 0, 1, 1, 0, 1])  # long (>= 100): rows 1, 3, 4
PRED = np.array([1, 3, 2, 1, 120, 0, 1, 1, 0, 2])


def write_dataset(root: str) -> None:
    names = ["pc_hi", "data_reuse"]
    m = {"version": data.MANIFEST_VERSION, "encoding": "perfvec18", "feature_names": names,
         "configs": ["a", "b"], "programs": [{"name": "p", "split": "test"}]}
    os.makedirs(os.path.join(root, "p"))
    with open(os.path.join(root, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(m, f)
    np.array([0, 10], dtype="<u8").tofile(os.path.join(root, "p", "epochs.u64"))
    np.stack([np.zeros(10), REUSE], axis=1).astype("<i4").tofile(os.path.join(root, "p", "features.i32"))
    np.stack([np.zeros(10), TRUE], axis=1).astype("<u4").tofile(os.path.join(root, "p", "labels.u32"))


class SourcesTest(unittest.TestCase):
    def test_hand_computed(self):
        r = sources.program_sources(TRUE, REUSE, 100, PRED)
        self.assertEqual(r["instructions"], 10)
        self.assertAlmostEqual(r["cpi"], 656 / 10)
        self.assertAlmostEqual(r["long_cycle_share"], 650 / 656)
        self.assertEqual(r["long_instructions"], 3)
        self.assertEqual(r["cold_accesses"], 4)
        self.assertAlmostEqual(r["p_long_given_cold"], 2 / 4)  # rows 1, 4 of 1, 2, 4, 7
        self.assertAlmostEqual(r["p_cold_given_long"], 2 / 3)
        self.assertAlmostEqual(r["p_long_given_warm_access"], 1 / 3)  # row 3 of 3, 6, 8
        self.assertEqual((r["cold_cycles_true"], r["cold_cycles_predicted"]), (503, 126))
        self.assertEqual((r["other_cycles_true"], r["other_cycles_predicted"]), (153, 5))
        self.assertEqual(r["cold_predicted_long"], 1)
        self.assertAlmostEqual(r["predicted_cpi"], 131 / 10)

    def test_cli_reads_dataset_and_predictions(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_dataset(os.path.join(tmp, "ds"))
            dump = os.path.join(tmp, "p.u32")
            np.stack([np.zeros(10), PRED], axis=1).astype("<u4").tofile(dump)
            cmd = [sys.executable, "-m", "model.train", "sources", "--dataset", os.path.join(tmp, "ds"),
                   "--design", "b", "--predictions", f"p={dump}"]
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            self.assertEqual(out["programs"]["p"], sources.program_sources(TRUE, REUSE, 100, PRED))
            np.zeros(7, dtype="<u4").tofile(dump)  # truncated predictions: refused, named
            bad = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("7 values, expected 10 instructions x 2 designs", bad.stderr)

    def test_needs_data_reuse(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_dataset(tmp)
            ds = data.Dataset(tmp)
            ds.feature_names = ["pc_hi", "pc_mid"]
            with self.assertRaisesRegex(data.DatasetError, "no data_reuse feature"):
                sources.dataset_sources(ds, ["p"], "b")


if __name__ == "__main__":
    unittest.main()
