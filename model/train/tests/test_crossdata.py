import os
import unittest
from pathlib import Path

import numpy as np

from model.train import config, crosscheck, tensorfile
from model.train.tests.util import TempDir

SHIPPED = os.path.join(config.repo_root(), "model", "tests", "data")


class CrossCheckDataTest(unittest.TestCase):
    def test_shipped_vectors_match_torch_and_the_reference(self):
        crosscheck.check(SHIPPED)

    def test_generator_reproduces_the_shipped_files(self):
        with TempDir() as d:
            crosscheck.generate(d)
            for name in crosscheck.VARIANTS:
                for f in ("model.safetensors", "vectors.safetensors"):
                    new, _ = tensorfile.load(os.path.join(d, "crosscheck", name, f))
                    old, _ = tensorfile.load(os.path.join(SHIPPED, "crosscheck", name, f))
                    self.assertEqual(set(new), set(old), f"{name}/{f}")
                    for k in new:
                        np.testing.assert_allclose(new[k], old[k], rtol=1e-6, atol=1e-7,
                                                   err_msg=f"{name}/{f}: {k}")
                self.assertEqual(Path(os.path.join(d, "crosscheck", name, "model.yaml")).read_text(),
                                 Path(os.path.join(SHIPPED, "crosscheck", name, "model.yaml")).read_text())

    def test_shipped_data_is_small(self):
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(SHIPPED) for f in fs)
        self.assertLess(total, 200 * 1024)


if __name__ == "__main__":
    unittest.main()
