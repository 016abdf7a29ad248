"""How long `dfkd --help` and each `dfkd <command> --help` take, and how much memory, in fresh
processes (`python -m dfkd_core.cli`, as the `dfkd` script runs it): the median wall time of
--runs runs and the largest peak RSS among them (os.wait4's rusage of each child).

    python benchmarks/bench_cli_startup.py --runs 5
    python benchmarks/bench_cli_startup.py --repo /path/to/other/checkout   # another revision's CLI"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commands(repo: Path) -> list[list[str]]:
    """[[], ["generate"], ["teacher", "inspect"], ...]: every command of that checkout's parser."""
    code = ("import argparse\nfrom dfkd_core.cli import build_parser\n"
            "def walk(p, path):\n"
            "    print(' '.join(path))\n"
            "    for a in p._actions:\n"
            "        if isinstance(a, argparse._SubParsersAction):\n"
            "            for name, sub in a.choices.items(): walk(sub, path + [name])\n"
            "walk(build_parser(), [])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, env=_env(repo), capture_output=True, text=True,
                         check=True).stdout
    return [line.split() for line in out.splitlines()]


def _env(repo: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(repo), "OMP_NUM_THREADS": "1"}


def one_run(repo: Path, argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one fresh `python -m dfkd_core.cli ARGV --help`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dfkd_core.cli", *argv, "--help"], cwd=repo, env=_env(repo),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"dfkd {' '.join(argv)} --help exited {proc.returncode}: {proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024  # Linux reports kilobytes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="fresh processes per command (at least 1)")
    p.add_argument("--repo", type=Path, default=ROOT, help="checkout whose dfkd_core is measured")
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    repo = args.repo.resolve()
    print(f"{sys.executable} -m dfkd_core.cli ... --help, from {repo}; median of {args.runs} run(s), "
          f"peak RSS the largest; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'command':<24} {'wall s':>7} {'peak MB':>8}")
    worst = (0.0, 0.0)
    for argv in commands(repo):
        runs = [one_run(repo, argv) for _ in range(args.runs)]
        wall, rss = statistics.median(r[0] for r in runs), max(r[1] for r in runs)
        worst = (max(worst[0], wall), max(worst[1], rss))
        print(f"{'dfkd ' + ' '.join(argv):<24} {wall:7.2f} {rss:8.0f}", flush=True)
    print(f"{'slowest / largest':<24} {worst[0]:7.2f} {worst[1]:8.0f}")


if __name__ == "__main__":
    main()
