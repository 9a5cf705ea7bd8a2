#!/usr/bin/env python3
"""CTest entry point: runs one unittest module of model/train/tests. Exits 77 (CTest's
SKIP_RETURN_CODE) when PyTorch, numpy or PyYAML is not installed."""
import importlib.util
import os
import sys
import unittest

missing = [m for m in ("torch", "numpy", "yaml") if importlib.util.find_spec(m) is None]
if missing:
    print(f"skipped: Python modules not installed: {', '.join(missing)}")
    sys.exit(77)
sys.path.insert(0, os.environ.get("NS_SOURCE_DIR") or
                os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
suite = unittest.defaultTestLoader.loadTestsFromName(f"model.train.tests.{sys.argv[1]}")
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
