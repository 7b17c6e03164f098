"""`generalbench run` fails loudly and recovers: a dead server stops the run with one line,
failed instances make the exit code non-zero, SIGTERM saves what was answered and rerunning
resumes, a rejected run leaves no folder, another model's run folder is refused, and
--concurrency reaches the connection pool."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generalbench.models.testserver import TestServer
from generalbench.runner.journal import read_journal
from generalbench.runner.progress import RunProgress
from tests.conftest import run_cli
from tests.runner.runs import wait_for_journal

TASKS = ["language-triviaqa", "language-topic-classification"]
PER_TASK = 8


@pytest.fixture(scope="module")
def bench(mini_cut) -> Path:
    return mini_cut(TASKS, per_task=PER_TASK)[0]


def run_args(url: str, data: Path, out: Path, *extra: str, model: str = "openai:test-model"):
    return ["run", "--model", model, "--base-url", url, "--data", str(data), "--out", str(out),
            "--quiet", "--no-score", *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_line_error(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert "Traceback" not in err
    return lines[-1]


def test_a_dead_server_stops_the_run_with_one_line_and_leaves_no_folder(tmp_path, bench):
    url = f"http://127.0.0.1:{free_port()}/v1"
    res = run_cli(*run_args(url, bench, tmp_path / "run", "--param", "max_unreachable=4",
                            "--param", "retry_backoff=0.01"))
    assert res.code == 2, res.err
    assert "could not reach the server" in one_line_error(res.err)
    assert not (tmp_path / "run").exists()


def test_a_rejected_run_leaves_no_out_folder(tmp_path, bench):
    res = run_cli(*run_args("http://127.0.0.1:9/v1", bench, tmp_path / "run", "--tasks",
                            "no-such-task"))
    assert res.code == 2 and not (tmp_path / "run").exists()


def test_failed_instances_exit_1_unless_allowed(tmp_path, bench):
    # hang=1: a hung request ends with the server closing the connection after 1 s rather than
    # the default 30 s, a failure to the client either way (the strict run waited out 30 s)
    with TestServer(tmp_path / "srv", fail_every=2, fail_times=99, hang=1) as srv:
        strict = run_cli(*run_args(srv.base_url, bench, tmp_path / "a", "--max-retries", "0"))
        relaxed = run_cli(*run_args(srv.base_url, bench, tmp_path / "b", "--max-retries", "0",
                                    "--allow-failures", "--param", "timeout=0.5"))
    assert strict.code == 1 and "--allow-failures" in one_line_error(strict.err)
    assert relaxed.code == 0, relaxed.err
    for out in (tmp_path / "a", tmp_path / "b"):  # the answers that came back are all written
        info = json.loads((out / "run-info.json").read_text())
        assert info["summary"]["failed"] > 0 and info["summary"]["predictions"] > 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_saves_answers_says_so_and_rerun_resumes(tmp_path, bench, sig):
    out = tmp_path / "run"
    with TestServer(tmp_path / "srv", latency=0.3) as srv:
        cmd = [sys.executable, "-m", "generalbench",
               *run_args(srv.base_url, bench, out, "--concurrency", "1")]
        # A suite started in the background (`cmd &` without job control) has SIGINT ignored,
        # and a child Python keeps it ignored, as a shell's background job should: the child
        # gets Ctrl-C's usual disposition here (a handled signal is reset to the default on exec).
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        finally:
            signal.signal(signal.SIGINT, previous)
        wait_for_journal(out, 3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        line = one_line_error(err)
        assert "answers are saved" in line and "rerun the same command to resume" in line
        saved = {k for k, r in read_journal(out / "journal").items() if r["status"] == "ok"}
        assert 3 <= len(saved) < PER_TASK * 2
        # the predictions folder holds every saved answer already
        written = sum(len(p.read_text().splitlines()) for p in out.glob("*.jsonl"))
        assert written == len(saved)
        before = len(srv.keys())
        res = run_cli(*run_args(srv.base_url, bench, out, "--concurrency", "4"))
        assert res.code == 0, res.err
        assert not saved & set(srv.keys()[before:])
    assert sum(len(p.read_text().splitlines()) for p in out.glob("*.jsonl")) == PER_TASK * 2


def test_another_models_run_folder_is_refused(tmp_path, bench):
    with TestServer(tmp_path / "srv") as srv:
        assert run_cli(*run_args(srv.base_url, bench, tmp_path / "m", model="openai:a/m")).code == 0
        res = run_cli(*run_args(srv.base_url, bench, tmp_path / "m", model="openai:b/m"))
        assert res.code == 2 and "holds a run of openai:m" in one_line_error(res.err)
        # the same model with other runtime settings resumes the folder
        again = run_cli(*run_args(srv.base_url, bench, tmp_path / "m", "--concurrency", "3",
                                  model="openai:a/m"))
        assert again.code == 0, again.err


def test_generation_flags_and_prompt_reach_the_journal(tmp_path, bench):
    with TestServer(tmp_path / "srv") as srv:
        res = run_cli(*run_args(srv.base_url, bench, tmp_path / "r", "--max-tokens", "7",
                                "--temperature", "0.5"))
    assert res.code == 0, res.err
    info = json.loads((tmp_path / "r" / "run-info.json").read_text())
    assert info["manifest"]["model_config"]["generation"]["max_tokens"] == 7
    assert info["manifest"]["model_config"]["generation"]["temperature"] == 0.5
    rec = next(iter(read_journal(tmp_path / "r" / "journal").values()))
    assert rec["prompt"] and len(rec["prompt_hash"]) == 16


def test_concurrency_sizes_the_connection_pool(tmp_path, bench, monkeypatch):
    from generalbench.catalog import load_catalog
    from generalbench.models import registry
    from generalbench.models.config import parse_model_spec
    from generalbench.runner.run import RunOptions, run_eval

    seen = []
    real = registry.create_backend

    def spy(config):
        backend = real(config)
        seen.append(backend)
        return backend

    monkeypatch.setattr(registry, "create_backend", spy)
    with TestServer(tmp_path / "srv") as srv:
        config = parse_model_spec("openai:m", base_url=srv.base_url)
        run_eval(config, load_catalog(), RunOptions(data=bench, out=tmp_path / "r", quiet=True,
                                                   concurrency=64))
    assert seen and seen[0].concurrency == 64  # the pool's limit, see test_openai_replies


def test_progress_rate_ignores_cached_answers_and_logs_without_a_terminal():
    stream = io.StringIO()
    with RunProgress(interval=0.05, stream=stream) as p:
        p.add_task("t", total=1010, cached=1000)
        time.sleep(0.2)
        p.advance("t", ok=True)
        p.failed_attempt("t", retrying=True, timeout=True)
        p.failed_attempt("t", retrying=False, timeout=False)
        time.sleep(0.2)
    lines = stream.getvalue().splitlines()
    assert lines and all(x.startswith("progress: ") for x in lines)
    last = lines[-1]
    assert "1001/1010" in last and "1000 from the journal" in last
    assert "1 retries" in last and "1 timeouts" in last
    rate = float(last.split(", ")[1].split("/")[0])
    assert rate < 60  # one answer in ~0.2 s, not 1000 cached answers in an instant


def test_terminal_display_shows_rate_retries_and_timeouts():
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with RunProgress(console=console) as p:
        p.add_task("task-a", total=3, cached=1)
        p.add_task("task-b", total=2, cached=2)  # all cached: no bar of its own
        p.failed_attempt("task-a", retrying=True, timeout=True)
        p.advance("task-a", ok=True)
        p.advance("task-a", ok=False)
        p._progress.refresh()
        fields = p._progress.tasks[p._overall].fields
    assert fields["retries"] == 1 and fields["timeouts"] == 1 and fields["errors"] == 1
    assert fields["cached"] == 3 and fields["rate"] != "-"
    assert "inst/s" not in console.file.getvalue()  # the rate is "N/s" or "N/min"
