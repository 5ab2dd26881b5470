"""Worker processes scoring the same point at the same moment share one computation and one result file."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import models

ROOT = Path(__file__).resolve().parents[2]
N_WORKERS = 3

# Each worker imports models (the slow part), reports ready, waits for the go file, then scores.
WORKER = """
import json, sys, time
from pathlib import Path
import models
algo, proxy, ready, go = json.loads(sys.argv[1])
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.005)
acc = models.score(algo, proxy)
print(json.dumps({"acc": acc.to_dict(), "cached": acc.cached}))
"""


def test_concurrent_workers_compute_a_point_once(tiny_proxy: dict, algo_cfg, tmp_path: Path) -> None:
    # PQ with channel sorting, so the computing worker also writes the calibrated permutation file
    algo = algo_cfg("pq", n_centroids=32, sink_tokens=4, window_tokens=16, channel_sort=True)
    models.score(algo, tiny_proxy | {"result_cache": False})  # captures activations in the session cache
    # fresh cache dir: captured activations copied in (no model load in the workers); no permutations,
    # no results
    cache = tmp_path / "cache"
    (cache / "activations").mkdir(parents=True)
    for f in (Path(tiny_proxy["cache_dir"]) / "activations").glob("*.safetensors"):
        if not f.name.startswith("perm-"):
            shutil.copy(f, cache / "activations" / f.name)
    proxy = tiny_proxy | {"cache_dir": str(cache)}
    go = tmp_path / "go"
    readies = [tmp_path / f"ready{i}" for i in range(N_WORKERS)]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, json.dumps([algo, proxy, str(r), str(go)])],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in readies]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in readies):
            assert all(p.poll() is None for p in procs), "a worker exited before scoring"
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.01)
        go.touch()  # all workers released together
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-2000:]
    res = [json.loads(out) for out, _ in outs]

    # identical numbers everywhere, computed by exactly one worker, read from the cache by the others
    assert all(r["acc"] == res[0]["acc"] for r in res)
    assert sorted(r["cached"] for r in res) == [False] + [True] * (N_WORKERS - 1)
    # exactly one valid JSON result, no temporary files left, and it holds what the workers returned
    results = cache / "results"
    files = sorted(p.name for p in results.iterdir() if not p.name.endswith(".lock"))
    assert len(files) == 1 and files[0].endswith(".json"), files
    stored = json.loads((results / files[0]).read_text())
    assert models.Accuracy.from_dict(stored).to_dict() == res[0]["acc"]
    assert stored["algo"]["n_centroids"] == 32
    # one permutation file, complete (loads) and equal to a serial computation's
    perms = sorted((cache / "activations").glob("perm-*.safetensors"))
    assert len(perms) == 1 and not list((cache / "activations").glob("*.tmp"))
    again = models.score(algo, proxy)
    assert again.cached and again.to_dict() == res[0]["acc"]
    serial = models.score(algo, tiny_proxy | {"result_cache": False})
    assert serial.to_dict() == res[0]["acc"]
