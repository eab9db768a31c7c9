"""Regenerate tests/data/shop-samples: JUnit of real runs of the demo shop's load check, whose
per-request latencies tests/test_baseline.py compares. Runs benchmarks/baseline_tally.py for
two rounds (three unchanged runs, two with the slow-endpoint fault) and keeps:

    same-a.xml, same-b.xml, same-c.xml   the same code, run three times in a row
    slow.xml                             SHOP_FAULT_SLOW_PRODUCTS: /products takes 1.2 s

    flock /tmp/golive-heavy.lock python scripts/record_shop_samples.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "tests" / "data" / "shop-samples"
KEPT = {
    "same-00.xml": "same-a.xml",
    "same-01.xml": "same-b.xml",
    "same-02.xml": "same-c.xml",
    "slow-01.xml": "slow.xml",
}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="golive-samples-") as folder:
        tally = [sys.executable, str(ROOT / "benchmarks" / "baseline_tally.py"), "--runs", "2", "--keep", folder]
        subprocess.run(tally, cwd=ROOT, check=False)  # its exit code judges the policy, not the recording
        TARGET.mkdir(parents=True, exist_ok=True)
        for recorded, name in KEPT.items():
            shutil.copyfile(Path(folder) / recorded, TARGET / name)
            print(f"wrote {(TARGET / name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
