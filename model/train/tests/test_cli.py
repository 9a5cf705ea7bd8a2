"""The command line: --help, JSON output, and clear errors with a non-zero exit on bad input."""
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

import numpy as np

from model.train import config, package
from model.train.tests.util import TempDir, synthetic_dataset

ROOT = config.repo_root()


def run(*args, check=True):
    p = subprocess.run([sys.executable, "-m", "model.train", *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}: {p.stderr}")
    return p


class CliTest(unittest.TestCase):
    def test_help(self):
        out = run("--help").stdout
        for cmd in ("train", "eval", "synth", "params", "crosscheck", "bench"):
            self.assertIn(cmd, out)
        self.assertIn("--resume", run("train", "--help").stdout)

    def test_params_json(self):
        out = json.loads(run("params", "--designs", "8w", "--length", "64", "--target", "32").stdout)
        self.assertEqual(out["paper-uni"]["parameters"], 1_073_348)
        self.assertEqual(out["bi-h128"]["parameters"], 811_204)
        self.assertEqual(out["paper-bi-tied"]["macs_per_position"], 13 * 256 + 2 * 2 * 1024 * 512)

    def assert_error(self, args, message):
        p = run(*args, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, message)
        self.assertNotIn("Traceback", p.stderr)

    def test_bad_inputs_get_clear_errors(self):
        with TempDir() as t:
            ds = synthetic_dataset(os.path.join(t, "ds"), epochs=1, epoch_len=64)
            self.assert_error(["train", "--config", "nope", "--dataset", ds, "--out", t], "nope.yaml: cannot open")
            self.assert_error(["train", "--config", "paper-uni", "--dataset", t, "--out", t],
                              "manifest.json: cannot read")
            self.assert_error(["train", "--config", "paper-uni", "--dataset", ds, "--out", t, "--set", "lr"],
                              "--set lr: expected KEY=VALUE")
            self.assert_error(["train", "--config", "paper-uni", "--dataset", ds, "--out", t,
                               "--length", "64", "--target", "31"], "window")
            self.assert_error(["train", "--config", "paper-uni", "--dataset", ds, "--out", t,
                               "--designs", "8w,zz"], r"designs \['zz'\] are not labelled")
            bad = Path(t, "bad.yaml")
            bad.write_text(Path(ROOT, "configs/model/paper-uni.yaml").read_text().replace("hidden: 256", "hidden: -1"))
            self.assert_error(["train", "--config", str(bad), "--dataset", ds, "--out", t],
                              r"architecture.hidden: -1 is out of range")
            pkg = Path(t, "pkg")
            pkg.mkdir()
            for f in ("model.yaml", "model.safetensors"):
                src = Path(ROOT, "model/tests/data/crosscheck/tiny-uni", f)
                Path(pkg, f).write_bytes(src.read_bytes()[:-8] if f.endswith("tensors") else src.read_bytes())
            self.assert_error(["eval", "--package", str(pkg), "--dataset", ds], "model.safetensors")

    def test_export_writes_a_package_from_run_weights(self):
        from model.train import tensorfile
        src = os.path.join(ROOT, "model/tests/data/crosscheck/tiny-uni")
        with TempDir() as t:
            out = json.loads(run("export", "--config", os.path.join(src, "model.yaml"), "--weights",
                                 os.path.join(src, "model.safetensors"), "--out", os.path.join(t, "p")).stdout)
            self.assertEqual(out["package"], os.path.join(t, "p"))
            a, _ = tensorfile.load(os.path.join(src, "model.safetensors"))
            b, _ = tensorfile.load(os.path.join(t, "p", "model.safetensors"))
            self.assertEqual(sorted(a), sorted(b))
            for k in a:
                self.assertTrue((a[k] == b[k]).all(), k)
            self.assert_error(["export", "--config", "paper-uni", "--weights", os.path.join(src, "model.safetensors"),
                               "--out", os.path.join(t, "q")], "do not match the config paper-uni")

    def test_export_of_a_checkpoint_keeps_the_run_record(self):
        from model.train.tests.util import trained_tiny
        with TempDir() as t:
            trained_tiny(t, epochs=2)
            r = os.path.join(t, "r")
            out = json.loads(run("export", "--config", os.path.join(r, "model.yaml"), "--weights",
                                 os.path.join(r, "checkpoint.safetensors"), "--out", os.path.join(t, "p")).stdout)
            self.assertEqual(out["exported_epoch"], 2)
            card, runc = config.load(os.path.join(t, "p", "model.yaml")), config.load(os.path.join(r, "model.yaml"))
            for k in ("programs", "instructions", "predicted_instructions", "validation_programs", "best_epoch"):
                self.assertEqual(card.training[k], runc.training[k], k)
            self.assertEqual(card.training["exported_epoch"], 2)
            last = runc.training["history"][-1]
            self.assertEqual(card.metrics["validation"], {k: last[k] for k in ("mae", "exact", "within1", "within2",
                                                                              "rel5", "cpi_error")})

    def test_synth_then_eval_json(self):
        with TempDir() as t:
            run("synth", "--out", os.path.join(t, "ds"), "--train", "1", "--validation", "1", "--test", "1",
                "--epochs", "2", "--epoch-len", "40")
            pkg = os.path.join(ROOT, "model/tests/data/crosscheck/tiny-bi-tied")
            res = json.loads(run("eval", "--package", pkg, "--dataset", os.path.join(t, "ds"), "--quiet",
                                 "--json", os.path.join(t, "r.json")).stdout)
            r = res["programs"]["syn_t0"]
            self.assertEqual(r["epochs"], 2)
            self.assertEqual(r["designs"]["8w"]["instructions"], r["instructions"])
            self.assertIn("epoch_best_design_picked", r["ranking"])
            self.assertEqual(json.loads(Path(t, "r.json").read_text()), res)
            # predictions dumped in the C++ layout and scored back give the same metrics
            run("eval", "--package", pkg, "--dataset", os.path.join(t, "ds"), "--quiet", "--dump",
                os.path.join(t, "dump"))
            ext = json.loads(run("eval", "--package", pkg, "--dataset", os.path.join(t, "ds"), "--quiet",
                                 "--predictions", os.path.join(t, "dump"), "--backend-name", "x").stdout)
            self.assertEqual(ext["backend"], "x")
            for d, m in r["designs"].items():
                m.pop("regime_acc")
                self.assertEqual(ext["programs"]["syn_t0"]["designs"][d], m)
            self.assertEqual(ext["programs"]["syn_t0"]["ranking"], r["ranking"])
            self.assert_error(["eval", "--package", pkg, "--dataset", os.path.join(t, "ds"),
                               "--predictions", t], "syn_t0.u32: missing")

    @staticmethod
    def calibration_setup(t):
        """A synthetic dataset under t, the tiny crosscheck package, and a `calibrate` runner
        (source package, output name under t, options)."""
        ds = os.path.join(t, "ds")
        run("synth", "--out", ds, "--train", "1", "--validation", "1", "--test", "1",
            "--epochs", "2", "--epoch-len", "40")
        pkg = os.path.join(ROOT, "model/tests/data/crosscheck/tiny-bi-tied")
        cal = lambda src, dst, *a: run("calibrate", "--package", src, "--dataset", ds, "--out",
                                       os.path.join(t, dst), "--windows", "16", *a)
        return ds, pkg, cal

    def test_calibrate_summed_then_shifts(self):
        with TempDir() as t:
            ds, pkg, cal = self.calibration_setup(t)
            cal(pkg, "sum", "--summed")
            card = config.load(os.path.join(t, "sum"))
            self.assertTrue(card.summed)
            self.assertEqual(card.metrics["calibration"]["method"], "summed")
            cal(os.path.join(t, "sum"), "shift", "--no-short")  # the table would be stale: dropped
            card = config.load(os.path.join(t, "shift"))
            self.assertEqual(card.summed, {})
            rec = card.metrics["calibration"]
            self.assertTrue(rec["summed_table_dropped"])
            self.assertFalse(rec["short"])
            self.assertEqual(rec["previous"]["method"], "summed")
            self.assertEqual({d["short_shift"] for d in rec["designs"].values()}, {0.0})

    def test_calibrate_sum_heads(self):
        with TempDir() as t:
            ds, pkg, cal = self.calibration_setup(t)
            _, orig = package.read(pkg)
            cal(pkg, "heads", "--sum-heads", "--keep-design-heads")
            card, tensors = package.read(os.path.join(t, "heads"))
            D = len(card.designs)
            self.assertEqual((card.summed, card.head_sets), ({"heads": True}, 2 * D))
            self.assertTrue(card.metrics["calibration"]["sum_heads"])
            self.assertEqual(card.metrics["calibration"]["design_heads"], "as trained")
            # `params` of a package: its head sets and what they cost
            par = [next(iter(json.loads(run("params", p).stdout).values()))
                   for p in (pkg, os.path.join(t, "heads"))]
            self.assertEqual([x["head_sets"] for x in par], [D, 2 * D])
            self.assertEqual(par[1]["macs_per_instruction"] - par[0]["macs_per_instruction"],
                             D * par[0]["macs_per_head"])
            for k, v in orig.items():  # the design heads as they were
                np.testing.assert_array_equal(tensors[k], v, err_msg=k)
            # again: fresh copies of the design heads are shifted, not the old sum heads; the
            # design heads get the most exact shifts
            cal(os.path.join(t, "heads"), "again", "--sum-heads")
            again, t2 = package.read(os.path.join(t, "again"))
            rec = again.metrics["calibration"]
            self.assertEqual((again.head_sets, rec["design_heads"]), (2 * D, "most exact"))
            self.assertTrue(rec["sum_heads_dropped"])
            bias = {"output_layer_short.bias": ("short_shift", 0), "output_layer_long.bias": ("long_shift", 0),
                    "cls_fc2.bias": ("long_logit_shift", 1)}
            for k in tensors:
                _, d, what = k.split(".", 2) if k.startswith("heads.") else ("", D, "")
                if int(d) < D and what in bias:
                    d = int(d)
                    key, i = bias[what]
                    want = tensors[k].copy()
                    want[i] += np.float32(rec["designs"][again.designs[d]]["exact"][key])
                    np.testing.assert_array_equal(t2[k], want, err_msg=k)
                else:
                    np.testing.assert_array_equal(t2[k], tensors[k], err_msg=k)
            # a table or plain shifts replace the sum heads
            for how, args in (("table", ["--summed"]), ("shift", [])):
                cal(os.path.join(t, "heads"), how, *args)
                c, tt = package.read(os.path.join(t, how))
                self.assertEqual((c.head_sets, set(tt)), (D, set(orig)))
                self.assertTrue(c.metrics["calibration"]["sum_heads_dropped"])
                self.assertEqual(bool(c.summed), how == "table")
            p = run("calibrate", "--package", pkg, "--dataset", ds, "--out", t, "--summed",
                    "--sum-heads", check=False)
            self.assertEqual(p.returncode, 2)  # argparse's usage error
            self.assertIn("not allowed with", p.stderr)
            self.assert_error(["calibrate", "--package", pkg, "--dataset", ds, "--out", t,
                               "--keep-design-heads"], "--keep-design-heads needs --sum-heads")


if __name__ == "__main__":
    unittest.main()
