"""Makes `corruptions.py` importable as `repair_test_corruptions` for this folder's tests (pytest runs with
--import-mode=importlib, so sibling test helpers are not on sys.path)."""

import importlib.util
import sys
from pathlib import Path

NAME = "repair_test_corruptions"

if NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(NAME, Path(__file__).with_name("corruptions.py"))
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[NAME] = _module
    _spec.loader.exec_module(_module)
