"""NeuroScalar model training (PyTorch): shards -> trained FP32 model package.

Run as ``python3 -m model.train <command>`` from the repository root; ``--help`` lists the
commands. The model it trains is specified in docs/model.md; data layout in docs/dataset.md;
package layout in docs/model-package.md.
"""
