"""ppa_report.py's design-space study: which accuracy a study point takes, and its Pareto front."""
import csv
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ppa_report  # noqa: E402


def point(model, window, tiles, energy):
    return {"model": model, "window": window, "tiles": tiles, "instr_per_s": 1e9 / energy, "power_mw": 1.0,
            "energy_per_instr_nj": energy, "area_mm2": 2.0, "mac_utilization": 0.98}


def run(variant, length, target, exact, heldout=None, designs=None):
    r = {"variant": variant, "length": length, "target": target, "designs": designs,
         "validation": {"exact": exact, "within1": 0.9, "cpi_error": 0.3}}
    if heldout is not None:
        r["heldout"] = {"exact": heldout, "within1": 0.95, "cpi_error": 0.2}
    return r


class StudyTest(unittest.TestCase):
    def test_heldout_accuracy_wins_and_the_front_is_not_dominated(self):
        with tempfile.TemporaryDirectory() as t:
            sdir = os.path.join(t, "study")
            os.makedirs(sdir)
            for name, pts in {"a": [point("uni", "256,128", 1, 1000)],
                              "b": [point("bi", "256,64", 1, 3000)],
                              "c": [point("bi", "256,128", 1, 2000)],
                              "d": [point("h128", "256,128", 1, 1500)]}.items():
                with open(os.path.join(sdir, f"{name}.json"), "w") as f:
                    json.dump(pts, f)
            acc = os.path.join(t, "study.json")
            with open(acc, "w") as f:
                json.dump([run("uni", 256, 128, 0.60, heldout=0.65),
                           run("bi", 256, 64, 0.70),                       # validation only
                           run("bi", 256, 128, 0.99, designs=["8w"]),      # one design: ignored
                           run("h128", 256, 128, 0.50, heldout=0.64)], f)
            md = ppa_report.study(sdir, [acc], t)
            with open(os.path.join(t, "study.csv"), newline="") as f:
                rows = {(r["model"], r["window"]): r for r in csv.DictReader(f)}
            self.assertEqual((rows[("uni", "256,128")]["exact"], rows[("uni", "256,128")]["accuracy_kind"]),
                             ("0.65", "heldout"))
            self.assertEqual((rows[("bi", "256,64")]["exact"], rows[("bi", "256,64")]["accuracy_kind"]),
                             ("0.7", "validation"))
            self.assertEqual(rows[("bi", "256,128")]["exact"], "")
            # Front in (energy down, exact up): uni (1000 nJ, 65%) and bi 256,64 (3000 nJ, 70%);
            # h128 costs more than uni for less accuracy; bi 256,128 has no accuracy.
            cells = [line.split(" | ") for line in md.splitlines()[2:]]
            front = {(c[0].lstrip("| "), c[1]) for c in cells if c[-1] == "yes |"}
            self.assertEqual(front, {("uni", "256,128"), ("bi", "256,64")})
            self.assertTrue(os.path.getsize(os.path.join(t, "pareto.png")) > 0)

    def test_pareto_by_hand(self):
        pts = [{"c": 1, "g": 0.5}, {"c": 2, "g": 0.5}, {"c": 3, "g": 0.9}, {"c": 0.5, "g": None}]
        self.assertEqual(ppa_report.pareto(pts, "c", "g"), [0, 2])


if __name__ == "__main__":
    unittest.main()
