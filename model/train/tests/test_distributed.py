"""torchrun-launched DistributedDataParallel training (gloo, 2 ranks on the CPU)."""
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

from model.train import config
from model.train.tests.util import TempDir, synthetic_dataset

ROOT = config.repo_root()


class DistributedTest(unittest.TestCase):
    def test_torchrun_two_ranks_gloo(self):
        with TempDir() as t:
            ds = synthetic_dataset(os.path.join(t, "ds"), epochs=2, epoch_len=200)
            cfg = Path(t, "tiny.yaml")
            cfg.write_text("""variant: tiny
architecture: {type: lstm, input_proj: 16, hidden: 16, layers: 2, directions: 1, tied: false, head_hidden: 8}
encoding: {name: paper13}
window: {length: 16, target: 8}
targets: {clip: 1000, threshold: 10, transform: log1p}
designs: [8w, rob]
training: {epochs: 2, batch_size: 8, val_windows: 0}
""")
            out = os.path.join(t, "run")
            env = dict(os.environ, OMP_NUM_THREADS="1")
            p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                # Debian torch 1.13 on Python 3.11 crashes on the default 0
                                "--redirects", "1", "--tee", "1",
                                "-m", "model.train", "train", "--config", str(cfg), "--dataset", ds,
                                "--out", out, "--nice", "0"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            card = Path(out, "model.yaml").read_text()
            self.assertIn("world: 2", card)
            self.assertIn("device: cpu", card)

            # a study of two runs in one torchrun launch: the process group is set up per run
            p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                "--redirects", "1", "--tee", "1",
                                "-m", "model.train", "study", "--dataset", ds, "--out", os.path.join(t, "study"),
                                "--instructions", "640", "--nice", "0", f"{cfg}:16:8", f"{cfg}:12:4:rob"],
                               cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
            self.assertEqual(p.returncode, 0, p.stderr[-3000:])
            self.assertEqual([r["name"] for r in json.loads(Path(t, "study", "study.json").read_text())],
                             ["tiny-L16-T8", "tiny-L12-T4-rob"])


if __name__ == "__main__":
    unittest.main()
