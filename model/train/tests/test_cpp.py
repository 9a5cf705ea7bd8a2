"""A package exported by the trainer, read and run by the C++ side: `neuroscalar eval` on a
dataset in the shard layout gives the same metrics as the Python evaluation (skipped when the
binary is not built)."""
import json
import os
import subprocess
import unittest

import numpy as np

from model.train import calibrate, config, data, evaluate, package, train
from model.train.tests.util import TempDir, synthetic_dataset, tiny_config

BINARY = os.path.join(os.environ.get("NS_BUILD_DIR", os.path.join(config.repo_root(), "build", "release")),
                      "sw", "cli", "neuroscalar")


def has_eval() -> bool:
    if not os.access(BINARY, os.X_OK):
        return False
    p = subprocess.run([BINARY, "eval", "--help"], capture_output=True, text=True, timeout=60)
    return p.returncode == 0 and "--shards" in p.stdout


@unittest.skipUnless(has_eval(), f"{BINARY} with the eval command is not built")
class CppReaderTest(unittest.TestCase):
    def test_cpp_eval_of_an_exported_package_matches_python(self):
        with TempDir() as t:
            ds_dir = synthetic_dataset(os.path.join(t, "ds"), epochs=2, epoch_len=400)
            pkg = os.path.join(t, "pkg")
            for dirs, tied in ((1, False), (2, True)):
                train.train(tiny_config(epochs=2, directions=dirs, tied=tied, hidden=8), data.Dataset(ds_dir),
                            pkg, device="cpu", quiet=True)
                p = subprocess.run([BINARY, "eval", "--model", pkg, "--shards", ds_dir, "--split", "test",
                                    "--json", "--quiet", "--threads", "1"],
                                   capture_output=True, text=True, timeout=300)
                self.assertEqual(p.returncode, 0, p.stderr)
                cpp = {r["program"]: r for r in json.loads(p.stdout)["programs"]}
                cfg, net = package.load(pkg)
                py = evaluate.evaluate_programs(net, cfg, data.Dataset(ds_dir), ["syn_d"], 64, "cpu",
                                                progress=False)
                for d in cfg.designs:
                    a, b = py["syn_d"]["designs"][d], cpp["syn_d"]["designs"][d]
                    for k in ("exact", "within1", "mae", "cpi_error"):
                        self.assertAlmostEqual(a[k], b[k], delta=0.005, msg=f"{d} {k} (tied={tied})")
            # with a summed-cycles table (fitted on another program) the CPI is its sums on both sides
            ds = data.Dataset(ds_dir)
            win = data.Windows([ds.shard("syn_c")], cfg.length, cfg.target, ds.design_columns(cfg.designs))
            calibrate.fit_summed(net, cfg, win, np.arange(len(win)), 64, "cpu")
            package.export(pkg + "-sum", cfg, net)
            p = subprocess.run([BINARY, "eval", "--model", pkg + "-sum", "--shards", ds_dir, "--split", "test",
                                "--json", "--quiet", "--threads", "1"], capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            cpp_sum = {r["program"]: r for r in json.loads(p.stdout)["programs"]}["syn_d"]["designs"]
            py_sum = evaluate.evaluate_programs(net, cfg, ds, ["syn_d"], 64, "cpu", progress=False)["syn_d"]["designs"]
            for d in cfg.designs:
                self.assertAlmostEqual(py_sum[d]["cpi_pred"], cpp_sum[d]["cpi_pred"], delta=0.005, msg=d)
                self.assertEqual(cpp_sum[d]["exact"], cpp["syn_d"]["designs"][d]["exact"])  # same predictions
            self.assertNotEqual([cpp_sum[d]["cpi_pred"] for d in cfg.designs],
                                [cpp["syn_d"]["designs"][d]["cpi_pred"] for d in cfg.designs])
            # with sum heads (shifted on another program): the same on both sides, the latencies
            # those of the network as trained
            calibrate.set_sum_heads(net, cfg, True)
            calibrate.calibrate(net, cfg, win, np.arange(len(win)), 64, "cpu", max_error=0.0,
                                exact_heads=False)
            package.export(pkg + "-heads", cfg, net)
            p = subprocess.run([BINARY, "eval", "--model", pkg + "-heads", "--shards", ds_dir, "--split",
                                "test", "--json", "--quiet", "--threads", "1"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, p.stderr)
            cpp_h = {r["program"]: r for r in json.loads(p.stdout)["programs"]}["syn_d"]["designs"]
            py_h = evaluate.evaluate_programs(net, cfg, ds, ["syn_d"], 64, "cpu", progress=False)["syn_d"]["designs"]
            for d in cfg.designs:
                self.assertAlmostEqual(py_h[d]["cpi_pred"], cpp_h[d]["cpi_pred"], delta=0.005, msg=d)
                self.assertEqual(cpp_h[d]["exact"], cpp["syn_d"]["designs"][d]["exact"])
            self.assertNotEqual([cpp_h[d]["cpi_pred"] for d in cfg.designs],
                                [cpp["syn_d"]["designs"][d]["cpi_pred"] for d in cfg.designs])


if __name__ == "__main__":
    unittest.main()
