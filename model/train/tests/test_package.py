import json
import os
import struct
import unittest
from pathlib import Path

import numpy as np
import yaml
import torch

from model.train import package, tensorfile
from model.train.net import NeuroScalarNet
from model.train.tests.util import TempDir, tiny_config


class TensorFileTest(unittest.TestCase):
    def test_round_trip_every_dtype_and_metadata(self):
        t = {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "i8": np.array([-128, 127], np.int8),
             "i32": np.array([[1 << 30]], np.int32), "i16": np.zeros((0, 4), np.int16),
             "u64": np.array([2 ** 63], np.uint64), "f64": np.array(1.5), "u8": np.array([255], np.uint8)}
        with TempDir() as d:
            p = os.path.join(d, "x.safetensors")
            tensorfile.save(p, t, {"a": "b"})
            got, meta = tensorfile.load(p)
            self.assertEqual(meta, {"a": "b"})
            self.assertEqual(set(got), set(t))
            for k in t:
                self.assertEqual(got[k].dtype, t[k].dtype, k)
                np.testing.assert_array_equal(got[k], t[k])
            raw = Path(p).read_bytes()
            (n,) = struct.unpack("<Q", raw[:8])
            self.assertEqual(n % 8, 0)  # data section 8-byte aligned
            hdr = json.loads(raw[8:8 + n])
            self.assertEqual(hdr["f32"], {"dtype": "F32", "shape": [2, 3], "data_offsets": hdr["f32"]["data_offsets"]})

    def write_raw(self, d, header, body=b"", hlen=None):
        p = os.path.join(d, "bad.safetensors")
        h = json.dumps(header).encode() if isinstance(header, dict) else header
        with open(p, "wb") as f:
            f.write(struct.pack("<Q", len(h) if hlen is None else hlen) + h + body)
        return p

    def assert_rejects(self, header, body, message, hlen=None):
        with TempDir() as d:
            with self.assertRaisesRegex(tensorfile.TensorFileError, message):
                tensorfile.load(self.write_raw(d, header, body, hlen))

    def test_rejects_malformed_files(self):
        f4 = np.float32(1).tobytes()
        self.assert_rejects({}, b"", "header length", hlen=1000)
        self.assert_rejects(b"{nope", b"", "not valid JSON")
        self.assert_rejects({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, f4, "unknown dtype 'Q9'")
        self.assert_rejects({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, f4, "out of bounds")
        self.assert_rejects({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, f4, "4 bytes for shape")
        self.assert_rejects({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                             "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, f4 * 2, "overlap")
        self.assert_rejects({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                            np.float32("nan").tobytes(), "NaN")
        self.assert_rejects({"a": {"dtype": "F32", "shape": [1]}}, f4, "needs dtype, shape, data_offsets")
        with TempDir() as d:
            p = os.path.join(d, "t")
            Path(p).write_bytes(b"\x01\x02")
            with self.assertRaisesRegex(tensorfile.TensorFileError, "truncated"):
                tensorfile.load(p)


class PackageTest(unittest.TestCase):
    def test_export_round_trip_gives_identical_outputs(self):
        for dirs, tied in ((1, False), (2, True), (2, False)):
            cfg = tiny_config(directions=dirs, tied=tied)
            torch.manual_seed(3)
            net = NeuroScalarNet(cfg).eval()
            net.norm.mean.uniform_(0, 10)
            net.norm.std.uniform_(1, 5)
            with TempDir() as d:
                package.export(d, cfg, net)
                cfg2, net2 = package.load(d)
                self.assertEqual(cfg2.card(), cfg.card())
                x = torch.randn(3, cfg.length, 13) * 100
                for a, b in zip(net(x), net2(x)):
                    torch.testing.assert_close(a, b, rtol=0, atol=0)

    def test_card_has_the_shared_keys(self):
        cfg = tiny_config()
        with TempDir() as d:
            package.export(d, cfg, NeuroScalarNet(cfg))
            card = yaml.safe_load(Path(os.path.join(d, "model.yaml")).read_text())
            self.assertEqual(list(card)[:2], ["format", "variant"])
            self.assertEqual(card["format"], "neuroscalar-fp32")
            self.assertEqual(card["window"], {"length": 16, "target": 8})
            self.assertEqual(card["architecture"]["input_proj"], 16)
            self.assertEqual(card["designs"], ["8w", "4w+mem"])

    def test_rejects_shape_mismatch_missing_tensor_and_nan(self):
        cfg = tiny_config()
        w = package.state_arrays(NeuroScalarNet(cfg))
        with TempDir() as d:
            bad = dict(w, **{"rnn.weight_hh_l1": np.zeros((64, 15), np.float32)})
            package.write(d, cfg, bad)
            with self.assertRaisesRegex(package.PackageError, r"'rnn.weight_hh_l1' has shape \[64, 15\]"):
                package.read(d)
            package.write(d, cfg, {k: v for k, v in w.items() if k != "heads.1.cls_fc1.bias"})
            with self.assertRaisesRegex(package.PackageError, "'heads.1.cls_fc1.bias' missing"):
                package.read(d)
            with self.assertRaisesRegex(package.PackageError, "NaN"):
                package.write(d, cfg, dict(w, **{"norm.std": np.full(13, np.nan, np.float32)}))

    def test_rejects_wrong_format_and_bad_card(self):
        cfg = tiny_config()
        with TempDir() as d:
            package.export(d, cfg, NeuroScalarNet(cfg))
            p = os.path.join(d, "model.yaml")
            text = Path(p).read_text()
            Path(p).write_text(text.replace("neuroscalar-fp32", "neuroscalar-int8"))
            with self.assertRaisesRegex(package.PackageError, "format 'neuroscalar-int8'"):
                package.read(d)
            Path(p).write_text(text.replace("length: 16", "length: 15"))
            with self.assertRaisesRegex(package.PackageError, "window"):
                package.read(d)

    def test_summed_table_is_validated(self):
        cfg = tiny_config()
        e = [0, 1, cfg.clip + 1]
        good = {"edges": e, "scale": {n: [1.0, 2.0] for n in cfg.designs}}
        one = cfg.designs[0]
        bad = [({"edges": [0, 2, 1, cfg.clip + 1]}, "edges"),
               ({"edges": [0, 1, cfg.clip]}, r"clip \+ 1"),
               ({"scale": {one: [1.0, 2.0]}}, "needs exactly the designs"),
               ({"scale": {n: [1.0, float("nan")] for n in cfg.designs}}, "positive finite"),
               ({"scale": {n: [1.0, 0.0] for n in cfg.designs}}, "positive finite"),
               ({"scale": {n: [1.0] for n in cfg.designs}}, "2 positive finite"),
               ({"bins": 2}, "exactly 'edges' and 'scale'")]
        with TempDir() as d:
            cfg.summed = good
            package.export(d, cfg, NeuroScalarNet(cfg))
            self.assertEqual(package.read(d)[0].summed, good)
            p = os.path.join(d, "model.yaml")
            card = yaml.safe_load(Path(p).read_text())
            for change, msg in bad:
                card["targets"]["summed"] = {**good, **change}
                Path(p).write_text(yaml.safe_dump(card))
                with self.assertRaisesRegex(package.PackageError, "targets.summed.*" + msg):
                    package.read(d)

    def test_sum_heads_are_validated_and_need_their_tensors(self):
        cfg = tiny_config()
        cfg.summed = {"heads": True}
        D = len(cfg.designs)
        with TempDir() as d:
            package.export(d, cfg, NeuroScalarNet(cfg))
            back, tensors = package.read(d)
            self.assertEqual((back.summed, back.head_sets), ({"heads": True}, 2 * D))
            self.assertIn(f"heads.{2 * D - 1}.cls_fc1.weight", tensors)
            p = os.path.join(d, "model.yaml")
            card = yaml.safe_load(Path(p).read_text())
            for summed, msg in (({"heads": False}, "heads: must be true"),
                                ({"heads": True, "edges": [0, cfg.clip + 1]}, "not both")):
                card["targets"]["summed"] = summed
                Path(p).write_text(yaml.safe_dump(card))
                with self.assertRaisesRegex(package.PackageError, "targets.summed.*" + msg):
                    package.read(d)
            del card["targets"]["summed"]  # a card without sum heads: their tensors are extra
            Path(p).write_text(yaml.safe_dump(card))
            with self.assertRaisesRegex(package.PackageError, f"unexpected tensors.*heads.{D}"):
                package.read(d)


if __name__ == "__main__":
    unittest.main()
