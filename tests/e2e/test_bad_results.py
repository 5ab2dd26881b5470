"""Group-level mistakes on the command line and non-finite results: one line on stderr, exit 2,
nothing on stdout, for `pimdse` and `python -m dse.eval`."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from small_proxy import SMALL_PROXY

from dse.app.finite import check_finite
from dse.app.groups import group_error
from spec.conf import conf_dir
from spec.errors import SpecError

PIMDSE = Path(sys.executable).with_name("pimdse")

# Runs an entry point with one number of the hardware cost replaced, as if hw/ had let it through.
PATCHED = textwrap.dedent(
    """
    import sys
    import hw

    real = hw.evaluate
    key, value, entry = sys.argv[1], float(sys.argv[2]), sys.argv[3]

    class Spoiled:
        def __init__(self, cost):
            self.cost = cost

        def to_dict(self):
            return {**self.cost.to_dict(), key: value}

    hw.evaluate = lambda *args: Spoiled(real(*args))
    sys.argv = [entry, *sys.argv[4:]]
    if entry == "pimdse":
        from dse.app.pimdse import main
        main()
    else:
        from dse.app.eval import main
        sys.exit(main(sys.argv[1:]))
    """
)


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


def without_progress(text: str) -> list[str]:
    """The lines of `text` other than the proxy's capture progress log lines (models.progress): the
    point is scored before its result is checked, and its one-time captures say so."""
    return [line for line in text.strip().splitlines() if "models.progress" not in line]


def assert_one_line_error(proc: subprocess.CompletedProcess, prog: str, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert without_progress(proc.stdout) == []
    lines = without_progress(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{prog}: error: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("hw=null", ("hw=null", "aqpim_hbm3")),
        ("~hw", ("~hw", "aqpim_hbm3")),
        ("~hw.name", ("hw.name", "required")),
        ("proxy=nonexistent", ("'nonexistent'", "'proxy'", "full, quick")),
    ],
)
def test_pimdse_group_mistakes_are_one_line(tmp_path, override, words):
    proc = run([str(PIMDSE), f"hydra.run.dir={tmp_path}/run", override], tmp_path)
    assert_one_line_error(proc, "pimdse", *words)
    assert "object at 0x" not in proc.stderr


@pytest.mark.parametrize("override", ["proxy=nonexistent", "~proxy"])
def test_eval_group_mistakes_are_one_line(tmp_path, override):
    proc = run([sys.executable, "-m", "dse.eval", override], tmp_path)
    assert_one_line_error(proc, "dse.eval", override)


def test_group_error_leaves_valid_and_sweep_overrides_alone():
    conf = conf_dir()
    for argv in (["algo=fp16", "hw=attacc_hbm3_bank"], ["-m", "hw=aqpim_hbm3,gddr6_aim"], ["~space"]):
        assert group_error(argv, conf) is None
    assert group_error(["hw.pim=null", "algo=null"], conf).startswith("algo=null:")
    # Options from another config directory are not known here: only null and removal are checked.
    assert group_error(["hydra.searchpath=[file:///elsewhere]", "hw=mine"], conf) is None


def test_check_finite_names_the_dotted_key():
    check_finite({"latency_s": 1e-3, "fits": True, "kernels": {"a": {"seconds": 0.0}}, "tokens": [1, 2]})
    cases = [
        ({"latency_s": math.inf}, "result.latency_s=inf"),
        ({"accuracy": {"metrics": {"kl": math.nan}}}, "result.accuracy.metrics.kl=nan"),
        ({"refreshes": [0.5, -math.inf]}, "result.refreshes[1]=-inf"),
        ({"grid": np.array([1.0, np.nan])}, "result.grid=nan"),
    ]
    for result, start in cases:
        with pytest.raises(SpecError) as err:
            check_finite(result)
        assert str(err.value).startswith(start + ": not a finite number")


@pytest.mark.parametrize(("key", "value"), [("latency_s", "inf")])
def test_pimdse_never_prints_a_non_finite_result(tmp_path, key, value):
    # The point is scored before its result is checked: on the small proxy (test_app's point).
    point = ["algo=fp16", "proxy=full", *SMALL_PROXY]
    cmd = [sys.executable, "-c", PATCHED, key, value, "pimdse", f"hydra.run.dir={tmp_path}/run", *point]
    proc = run(cmd, tmp_path)
    assert_one_line_error(proc, "pimdse", f"result.{key}={value}")


def test_eval_never_dumps_a_non_finite_result(tmp_path):
    point = ["algo=fp16", "proxy=full", *SMALL_PROXY]
    proc = run([sys.executable, "-c", PATCHED, "kv_bytes", "nan", "dse.eval", *point], tmp_path)
    assert_one_line_error(proc, "dse.eval", "result.kv_bytes=nan")
