"""The runtime: fork safety, Ctrl-C, running inside an event loop, object lifetimes."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import echo_ai
from echo_ai import Echo, Principal, Provider, _native

from support import crm_spec


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_objects_created_and_dropped_outside_any_runtime() -> None:
    # A fresh interpreter: nothing has touched the runtime when objects are built and freed,
    # and interpreter exit drops whatever is left. No "no reactor running" panic.
    result = _python(
        """
        import gc, echo_ai
        from echo_ai import Echo, Principal, Provider
        p = Provider.crm_demo()
        envs = Provider.from_env({"OPENAI_API_KEY": "sk-test"})
        echo = Echo.open(providers=[p] + envs)
        account = echo.create_account(Principal.admin(), "Acme")
        handle_echo = echo.aio
        del p, envs, echo, handle_echo
        gc.collect()
        left = Echo.open(providers=[Provider.crm_demo()])  # dropped at interpreter exit
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "panicked" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_fork_child_gets_a_new_runtime(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    echo.get_experiment(me, experiment.id)  # the parent's runtime is running
    parent_pid = os.getpid()
    assert _native._runtime_pid() == parent_pid
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        code = 1
        try:
            messages = []
            try:
                echo.get_experiment(me, experiment.id)
                messages.append("inherited engine worked?!")
            except echo_ai.ConfigError as e:
                messages.append("config" if "fork()" in str(e) else f"bad message {e}")
            child = Echo.open(providers=[Provider.crm_demo()], quota="unmetered")
            account = child.create_account(Principal.admin(), "Child")
            child_me = Principal.host(account.id)
            exp = child.create_experiment(child_me, crm_spec(repeats=2))
            report = child.run(child_me, exp.id)
            messages.append(f"{report.status}:{report.counts.succeeded}")
            messages.append("runtime-pid-ok" if _native._runtime_pid() == os.getpid() else "runtime-pid-bad")
            child.close()
            del echo  # the inherited engine is leaked, not dropped on the dead runtime
            gc.collect()
            os.write(write, ";".join(messages).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    out = os.read(read, 4096).decode()
    os.close(read)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, out
    assert out == "config;completed:8;runtime-pid-ok"
    # The parent is unaffected.
    assert echo.get_experiment(me, experiment.id) == experiment
    assert _native._runtime_pid() == parent_pid


def test_ctrl_c_interrupts_a_blocking_wait_and_cancels_the_run() -> None:
    slow = Provider.simulated([echo_ai.SimulatedBrand("Acme", 0.5)], id="slow", latency_median=0.05, max_concurrency=1)
    with Echo.open(providers=[slow], quota="unmetered") as echo:
        me = Principal.host(echo.create_account(Principal.admin(), "Acme").id)
        spec = echo_ai.ExperimentSpec(
            name="slow", prompts=["q?"], brands=[echo_ai.BrandSpec.target("Acme")], targets=["slow/m"], repeats=500
        )
        experiment = echo.create_experiment(me, spec)
        handle = echo.start_run(me, experiment.id, concurrency=1)
        # What Ctrl-C does: the signal handler raises KeyboardInterrupt in the main thread.
        timer = threading.Timer(0.3, _interrupt_main)
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            handle.wait()
        assert time.monotonic() - started < 20, "the wait did not stop on the interrupt"
        report = handle.wait()  # the interrupt cancelled the run
        assert report.status == "cancelled" and report.counts.cancelled > 0


def _interrupt_main() -> None:
    import _thread

    _thread.interrupt_main()


def test_blocking_api_works_inside_a_running_event_loop(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    # Jupyter runs cells inside an event loop; the blocking API must not need one.
    async def cell() -> str:
        report = echo.run(me, experiment.id, seed=1)
        return report.status

    assert asyncio.run(cell()) == "completed"


def test_blocking_calls_release_the_gil(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    # While one thread waits for a run, another runs Python code.
    ticks = []
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        for _ in range(3):
            echo.run(me, experiment.id)
    finally:
        stop.set()
        t.join()
    assert len(ticks) > 0


def test_awaitable_cancellation_does_not_break_the_engine(echo: Echo, me: Principal, experiment: echo_ai.Experiment) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(echo.aio.run(me, experiment.id))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await echo.aio.get_experiment(me, experiment.id)) == experiment

    asyncio.run(main())
