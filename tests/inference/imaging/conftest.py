"""Keep Hypothesis' cache files out of the working tree (they are not ignored by git)."""

from __future__ import annotations

import atexit
import shutil
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

_HOME = tempfile.mkdtemp(prefix="hypothesis-imaging-")
set_hypothesis_home_dir(_HOME)
atexit.register(shutil.rmtree, _HOME, True)
