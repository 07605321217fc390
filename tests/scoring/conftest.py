"""Test setup for the estimation engine: make the repository importable, nothing else.

The tests in this folder are plain pytest (no Django); they rely on nothing outside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
