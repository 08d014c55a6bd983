"""Binding overhead: per-call cost of a trivial call, and loading a 10,000-sample report
into pandas, to compare with the same work in Rust (`echo-py/examples/py_overhead.rs`).

    python echo-py/bench/overhead.py            # after `make python-develop` (or a release build)
    cargo run -p echo-py --release --example py_overhead

Both print one line per measurement: median of several repetitions.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, List

from echo_ai import Echo, ExperimentSpec, Principal, Provider, validate_target

PROMPTS = 10
REPEATS = 500  # 2 targets x 10 prompts x 500 = 10,000 samples


def timed(fn: Callable[[], object], repeat: int) -> List[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def per_call(name: str, fn: Callable[[], object], calls: int, rounds: int = 5) -> None:
    def loop() -> None:
        for _ in range(calls):
            fn()

    loop()  # warm up
    best = statistics.median(timed(loop, rounds)) / calls
    print(f"{name:<48} {best * 1e6:10.2f} µs/call")


def once(name: str, fn: Callable[[], object], rounds: int = 5) -> None:
    print(f"{name:<48} {statistics.median(timed(fn, rounds)) * 1e3:10.2f} ms")


def main() -> None:
    market = Provider.crm_demo(seed=1)
    echo = Echo.open(providers=[market], quota="unmetered")
    me = Principal.host(echo.create_account(Principal.admin(), "Bench").id)

    per_call("validate_target (pure, no runtime)", lambda: validate_target("openai/gpt-4o"), 20_000)
    per_call("Principal.host (pure)", lambda: Principal.host(me.account_id), 20_000)  # type: ignore[arg-type]
    per_call("echo.get_account (blocking, SQLite in memory)", lambda: echo.get_account(me), 2_000)

    spec = ExperimentSpec(
        name="bench",
        prompts=[f"Which CRM is best for team #{i}?" for i in range(PROMPTS)],
        brands=market.brand_specs("HubSpot"),
        targets=["simulated/sim-default", "simulated/sim-enterprise"],
        repeats=REPEATS,
    )
    experiment = echo.create_experiment(me, spec)
    started = time.perf_counter()
    report = echo.run(me, experiment.id, seed=1)
    print(f"{'run of ' + str(report.counts.succeeded) + ' samples (simulated)':<48} {(time.perf_counter() - started) * 1e3:10.2f} ms")
    once("echo.report (core build + conversion)", lambda: echo.report(me, report.run_id))
    once("Report.to_pandas() (all levels)", report.to_pandas)
    once("echo.report + to_pandas", lambda: echo.report(me, report.run_id).to_pandas())
    rows = len(report.to_pandas())
    print(f"{'rows in the DataFrame':<48} {rows:10d}")
    echo.close()


if __name__ == "__main__":
    main()
