import json
import os
import unittest
from pathlib import Path

from model.train import report, study
from model.train.tests.util import TempDir, synthetic_dataset


class StudyAndReportTest(unittest.TestCase):
    def test_study_runs_each_spec_once_and_report_renders(self):
        with TempDir() as t:
            ds = synthetic_dataset(os.path.join(t, "ds"), epochs=2, epoch_len=200)
            cfg = Path(t, "tiny.yaml")
            cfg.write_text("""variant: tiny
architecture: {type: lstm, input_proj: 16, hidden: 8, layers: 2, directions: 2, tied: true, head_hidden: 8}
encoding: {name: paper13}
window: {length: 16, target: 8}
targets: {clip: 1000, threshold: 10, transform: log1p}
designs: [8w, rob]
training: {epochs: 2, batch_size: 8, val_windows: 0}
""")
            out = os.path.join(t, "study")
            runs = [f"{cfg}:16:8", f"{cfg}:12:4:rob"]
            res = study.study(ds, out, runs, 800, {}, threads=1, device="cpu")
            self.assertEqual([r["target"] for r in res], [8, 4])
            self.assertEqual(res[1]["designs"], ["rob"])
            self.assertEqual(res[0]["predicted_instructions"], 2 * (800 // 16) // 8 * 8 * 8)
            again = study.study(ds, out, runs, 800, {}, threads=1, device="cpu")
            self.assertEqual(again, res)  # nothing re-run
            self.assertIn("| tiny-L16-T8 |", study.markdown(res))
            self.assertNotIn("held-out", study.markdown(res))
            # A held-out dataset scores the runs already recorded, on every instruction of its split.
            held = study.study(ds, out, runs[:1], 800, {}, threads=1, device="cpu", heldout_dataset=ds)
            h = held[0]["heldout"]
            from model.train import data
            self.assertEqual((h["split"], h["instructions"], sorted(h["programs"])),
                             ("test", data.Dataset(ds).shard("syn_d").n, ["syn_d"]))
            self.assertEqual(list(h["designs"]), ["8w", "rob"])
            for k in study.HELDOUT_KEYS:
                self.assertAlmostEqual(h[k], (h["designs"]["8w"][k] + h["designs"]["rob"][k]) / 2)
            self.assertEqual(list(held[1]["heldout"]["designs"]), ["rob"])
            self.assertEqual(sorted(h["calibration"]["designs"]), ["8w", "rob"])
            d = data.Dataset(ds)  # every validation window (fewer than 65,536 / T here)
            self.assertEqual(h["calibration"]["windows"],
                             len(data.Windows([d.shard("syn_c")], 16, 8, d.design_columns(["8w", "rob"]))))
            self.assertEqual(json.loads(Path(out, "study.json").read_text()), held)
            self.assertEqual(study.study(ds, out, runs, 800, {}, device="cpu", heldout_dataset=ds), held)
            plain = study.study(ds, out, runs, 800, {}, device="cpu", heldout_dataset=ds, calibrate=False)
            self.assertEqual([("calibration" in r["heldout"]) for r in plain], [False, False])
            self.assertIn("held-out exact", study.markdown(held))
            self.assertEqual(study.run_name("tiny", study.parse_run("tiny:16:8:rob"), "perfvec18"),
                             "tiny-L16-T8-rob-perfvec18")
            with self.assertRaisesRegex(ValueError, "expected VARIANT:L:T"):
                study.parse_run("tiny:16")

            from model.train import data, evaluate, package
            c, net = package.load(os.path.join(out, "tiny-L16-T8"))
            d = data.Dataset(ds)
            ev = {"variant": c.variant, "designs": c.designs, "window": [16, 8],
                  "programs": evaluate.evaluate_programs(net, c, d, ["syn_d"], 32, "cpu", progress=False)}
            p = Path(t, "ev.json")
            p.write_text(json.dumps(ev))
            md = report.render(str(p), str(p))
            self.assertIn(f"| syn_d | {d.shard('syn_d').n} |", md.replace(",", ""))
            self.assertIn("#### design rob", md)
            self.assertIn("+0.00", md)
            self.assertIn("| design | exact FP32 | exact INT8 |", md)
            self.assertIn("| design | backend | rel5% | RAE | MAE | RMSE | exact | ±1 | ±2 | CPI error |", md)
            self.assertEqual(md.count("| **mean** | INT8 |"), 1)

    def test_report_reads_the_cpp_eval_layout(self):
        with TempDir() as t:
            m = {"exact": 0.75, "within1": 0.9, "within2": 0.95, "rel5": 0.75, "rae": 0.5, "mae": 0.3,
                 "rmse": 1.0, "cpi_error": 0.04}
            ev = {"variant": "paper-uni", "backend": "int8", "designs": ["8w"],
                  "programs": [{"program": "xz", "instructions": 10, "epochs": 1, "designs": {"8w": m},
                                "ranking": {"epochs": {"kendall_tau": 0.5, "best_match": 1.0}}}]}
            p = Path(t, "cpp.json")
            p.write_text(json.dumps(ev))
            loaded = report.load(str(p))
            self.assertEqual(loaded["programs"]["xz"]["ranking"],
                             {"epoch_kendall_tau": 0.5, "epoch_best_design_picked": 1.0})
            md = report.render(str(p))
            self.assertIn("| xz | 10 | 75.0% | 0.500 | 0.300 | 1.000 | 75.0% | 90.0% | 95.0% |", md)
            self.assertIn("| 8w | 75.00% | 90.00% | 4.00% |", md)
            self.assertIn("| xz | 4.00% | 100% | 0.50 |", md)


if __name__ == "__main__":
    unittest.main()
