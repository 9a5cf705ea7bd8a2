import unittest

from model.train import config
from model.train.net import NeuroScalarNet, count_parameters


class ParameterCountTest(unittest.TestCase):
    def one_design(self, name):
        cfg = config.load(name)
        cfg.designs = cfg.designs[:1]
        return cfg

    def test_paper_uni_matches_appendix_table(self):
        cfg = self.one_design("paper-uni")
        self.assertEqual(cfg.parameter_count(), 1_073_348)
        self.assertEqual(count_parameters(NeuroScalarNet(cfg)), 1_073_348)

    def test_paper_bi_tied_has_the_same_count(self):
        cfg = self.one_design("paper-bi-tied")
        self.assertEqual(count_parameters(NeuroScalarNet(cfg)), 1_073_348)

    def test_bi_h128(self):
        cfg = self.one_design("bi-h128")
        self.assertEqual(count_parameters(NeuroScalarNet(cfg)), 811_204)

    def test_five_design_heads_add_17092_each(self):
        for name in ("paper-uni", "paper-bi-tied", "bi-h128"):
            cfg = config.load(name)
            self.assertEqual(len(cfg.designs), 5)
            self.assertEqual(count_parameters(NeuroScalarNet(cfg)), cfg.parameter_count())
            self.assertEqual(cfg.parameter_count() - self.one_design(name).parameter_count(), 4 * 17_092)

    def test_standard_bilstm_h256_would_not_fit(self):
        cfg = self.one_design("paper-uni")
        cfg.directions = 2
        self.assertEqual(count_parameters(NeuroScalarNet(cfg)), 2_667_204)

    def test_state_dict_names_follow_the_package_format(self):
        names = set(NeuroScalarNet(config.load("bi-h128")).state_dict())
        for n in ("norm.mean", "norm.std", "input_proj.weight", "rnn.weight_ih_l1_reverse",
                  "rnn.bias_hh_l0", "heads.4.cls_fc2.bias", "heads.0.output_layer_long.weight"):
            self.assertIn(n, names)
        tied = set(NeuroScalarNet(config.load("paper-bi-tied")).state_dict())
        self.assertFalse(any("reverse" in n for n in tied))

    def test_macs_per_instruction_scale_with_l_over_t(self):
        cfg = self.one_design("paper-uni")
        cfg.length, cfg.target = 64, 32
        self.assertEqual(cfg.macs_per_position(), 13 * 256 + 2 * 1024 * 512)
        self.assertEqual(cfg.macs_per_head(), 256 * 64 + 64 * 2 + 2 * 256)
        self.assertEqual(cfg.macs_per_instruction(), 1.5 * (13 * 256 + 2 * 1024 * 512) + 17_024)  # C + T
        cfg = self.one_design("paper-bi-tied")
        cfg.length, cfg.target = 64, 32
        self.assertEqual(cfg.macs_per_instruction(), 2 * (13 * 256 + 2 * 2 * 1024 * 512) + 17_024)

    def test_perfvec18_encoding_adds_five_inputs(self):
        cfg = self.one_design("paper-uni")
        cfg.set_encoding("perfvec18")
        self.assertEqual(cfg.features, 18)
        self.assertEqual(cfg.feature_names[13:], ["branch_taken", "data_reuse", "inst_reuse",
                                                  "local_entropy", "global_entropy"])
        self.assertEqual(cfg.parameter_count(), 1_073_348 + 5 * 256)
        self.assertEqual(config.parse(cfg.card(), "card").feature_names, cfg.feature_names)
        with self.assertRaisesRegex(config.ConfigError, "unknown feature encoding 'perfvec99'"):
            cfg.set_encoding("perfvec99")
        cfg.set_encoding("perfvec18-trace")  # the same inputs; only the encoder's history differs
        self.assertEqual(cfg.feature_names, config.PERFVEC18)
        self.assertEqual(config.parse(cfg.card(), "card").encoding, "perfvec18-trace")
        cfg.set_encoding("perfvec12-trace")  # without the six PC and address parts
        self.assertEqual(cfg.feature_names, ["opclass", "src1_cls", "src1_idx", "src2_cls",
                                             "src2_idx", "dst_cls", "dst_idx"]
                         + config.PERFVEC18[13:])
        self.assertEqual(cfg.parameter_count(), 1_073_348 - 1 * 256)


if __name__ == "__main__":
    unittest.main()
