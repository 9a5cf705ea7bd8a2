import math
import unittest

import numpy as np
import torch

from model.train.loss import joint_loss, targets
from model.train.net import select, to_cycles


class LossTest(unittest.TestCase):
    def setUp(self):
        # one design, one window of 3 targets: cycles 0 (short), 20 (long), 5000 (long, clipped)
        self.cycles = torch.tensor([[[0], [20], [5000]]])
        self.mask = torch.tensor([[True, True, True]])
        self.logits = torch.tensor([[[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]]])
        self.short = torch.tensor([[[0.5, 1.0, 2.0]]])
        self.long = torch.tensor([[[3.0, 3.0, 7.0]]])

    def test_targets_clip_and_log(self):
        t, k = targets(self.cycles[..., 0], clip=1000, threshold=10)
        torch.testing.assert_close(t, torch.tensor([[0.0, math.log1p(20), math.log1p(1000)]]))
        self.assertEqual(k.tolist(), [[0, 1, 1]])

    def test_joint_loss_regime_regressors(self):
        loss, parts = joint_loss(self.logits, self.short, self.long, self.cycles, self.mask, 1000, 10)
        ce = [math.log(2), math.log(1 + math.e), math.log(1 + math.exp(-2))]
        reg = [0.5 ** 2, (3 - math.log1p(20)) ** 2, (7 - math.log1p(1000)) ** 2]
        self.assertAlmostEqual(parts["cls"], sum(ce) / 3, places=5)
        self.assertAlmostEqual(parts["reg"], sum(reg) / 3, places=5)
        self.assertAlmostEqual(float(loss), (sum(ce) + sum(reg)) / 3, places=5)

    def test_padding_positions_do_not_count(self):
        mask = torch.tensor([[True, False, False]])
        loss, parts = joint_loss(self.logits, self.short, self.long, self.cycles, mask, 1000, 10,
                                 cls_weight=0.5)
        self.assertAlmostEqual(parts["cls"], math.log(2), places=5)
        self.assertAlmostEqual(parts["reg"], 0.25, places=5)
        self.assertAlmostEqual(float(loss), 0.5 * math.log(2) + 0.25, places=5)

    def test_all_positions_mode_and_l1(self):
        _, parts = joint_loss(self.logits, self.short, self.long, self.cycles, self.mask, 1000, 10,
                              reg="l1", regressors="all")
        t = [0.0, math.log1p(20), math.log1p(1000)]
        want = sum(0.5 * (abs(s - x) + abs(l - x)) for s, l, x in zip([0.5, 1, 2], [3, 3, 7], t)) / 3
        self.assertAlmostEqual(parts["reg"], want, places=5)

    def test_summed_cycles_term(self):
        loss, parts = joint_loss(self.logits, self.short, self.long, self.cycles, self.mask, 1000, 10,
                                 sum_weight=0.5)
        base, _ = joint_loss(self.logits, self.short, self.long, self.cycles, self.mask, 1000, 10)
        p = [0.5, 1 / (1 + math.e), math.exp(2) / (1 + math.exp(2))]
        top = math.log1p(1000)  # the long regressor's 7.0 is clamped to the clip
        pred = sum((1 - q) * math.expm1(s) + q * math.expm1(min(l, top))
                   for q, s, l in zip(p, [0.5, 1, 2], [3, 3, 7]))
        want = (math.log1p(pred) - math.log1p(0 + 20 + 1000)) ** 2
        self.assertAlmostEqual(parts["sum"], want, places=4)
        self.assertAlmostEqual(float(loss), float(base) + 0.5 * want, places=4)
        self.assertNotIn("sum", joint_loss(self.logits, self.short, self.long, self.cycles,
                                           self.mask, 1000, 10)[1])

    def test_loss_gradient_reaches_both_regressors_and_classifier(self):
        lg, s, l = (a.clone().requires_grad_() for a in (self.logits, self.short, self.long))
        loss, _ = joint_loss(lg, s, l, self.cycles, self.mask, 1000, 10)
        loss.backward()
        np.testing.assert_allclose(s.grad[0, 0].numpy(), [1.0 / 3, 0.0, 0.0], rtol=1e-6)  # d/ds (s-0)^2/3 at 0.5
        self.assertEqual(l.grad[0, 0, 0].item(), 0.0)
        self.assertTrue(lg.grad.abs().sum() > 0)


class InferenceRuleTest(unittest.TestCase):
    def test_selection_and_rounding(self):
        logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
        pred = select(logits, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, 5.0, 6.0]))
        self.assertEqual(pred.tolist(), [4.0, 2.0, 3.0])  # ties pick short
        c = to_cycles(torch.tensor([-1.0, 0.0, math.log1p(2.49), math.log1p(2.51), 20.0]), clip=1000)
        self.assertEqual(c.tolist(), [0, 0, 2, 3, 1000])


if __name__ == "__main__":
    unittest.main()
