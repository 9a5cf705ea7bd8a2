import unittest

import numpy as np
import torch

from model.train import package, reference
from model.train.net import NeuroScalarNet
from model.train.tests.util import tiny_config


class NetMatchesDefinitionTest(unittest.TestCase):
    """The torch module against the float64 numpy reference of docs/model.md."""

    def check(self, **arch):
        cfg = tiny_config(**arch)
        torch.manual_seed(5)
        net = NeuroScalarNet(cfg).eval()
        with torch.no_grad():
            for p in net.parameters():
                p.mul_(3.0)  # saturate some gates
            net.norm.mean.uniform_(-5, 5)
            net.norm.std.uniform_(0.5, 2)
        w = package.state_arrays(net)
        x = np.random.default_rng(2).normal(0, 3, (2, cfg.length, 13)).astype(np.float32)
        with torch.no_grad():
            y = net.backbone(torch.from_numpy(x)).numpy()
            logits, s, l = (t.numpy() for t in net(torch.from_numpy(x)))
        for b in range(2):
            yr = reference.backbone(cfg, w, x[b])
            np.testing.assert_allclose(y[b], yr, rtol=1e-4, atol=1e-5)
            yt = yr[cfg.context:cfg.context + cfg.target]
            for d in range(len(cfg.designs)):
                lr, sr, lo = reference.heads(cfg, w, yt, d)
                np.testing.assert_allclose(logits[d, b], lr, rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(s[d, b], sr, rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(l[d, b], lo, rtol=1e-4, atol=1e-5)

    def test_unidirectional(self):
        self.check()

    def test_bidirectional_tied_sums_both_directions_of_one_weight_set(self):
        self.check(directions=2, tied=True)

    def test_bidirectional_concatenates(self):
        self.check(directions=2, tied=False, hidden=8)

    def test_unidirectional_outputs_ignore_the_right_context(self):
        cfg = tiny_config()
        net = NeuroScalarNet(cfg).eval()
        x = torch.randn(2, cfg.length, 13)
        x2 = x.clone()
        x2[:, cfg.context + cfg.target:] = torch.randn(2, cfg.context, 13)
        with torch.no_grad():
            for a, b in zip(net(x), net(x2)):
                torch.testing.assert_close(a, b, rtol=0, atol=0)
            full = net.backbone(x)[:, cfg.context:cfg.context + cfg.target]
            logits, _, _ = net(x)
            torch.testing.assert_close(net.heads[0](full)[0], logits[0], rtol=1e-5, atol=1e-6)  # GEMM shapes differ

    def test_tied_backward_direction_starts_from_zero_at_the_window_end(self):
        # changing the last position must change earlier outputs (backward pass) in a tied model
        cfg = tiny_config(directions=2, tied=True)
        net = NeuroScalarNet(cfg).eval()
        x = torch.randn(1, cfg.length, 13)
        x2 = x.clone()
        x2[0, -1] += 5
        with torch.no_grad():
            a, b = net.backbone(x), net.backbone(x2)
        self.assertGreater(float((a[0, 0] - b[0, 0]).abs().max()), 0)
        uni = NeuroScalarNet(tiny_config()).eval()
        with torch.no_grad():
            torch.testing.assert_close(uni.backbone(x)[0, :-1], uni.backbone(x2)[0, :-1])


if __name__ == "__main__":
    unittest.main()
