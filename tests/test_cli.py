"""The dlkern command, run as a user runs it."""
import os
import subprocess
import sys
import tempfile

import pytest


def run(*args, env=None):
    # cwd elsewhere: from the checkout's root, `-m` would import the unbuilt sources
    return subprocess.run([sys.executable, "-m", "dlkern.cli", *args], capture_output=True,
                          text=True, timeout=600, env=env, cwd=tempfile.gettempdir())


def test_check_passes_and_prints_a_table():
    out = run("check")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "adam_step" in out.stdout and "FAIL" not in out.stdout.replace("0 FAIL", "")


def test_check_passes_on_the_portable_loops():
    # The loops other CPUs run instead of the AVX-512 ones, checked on this machine too.
    env = dict(os.environ, DLKERN_PORTABLE_LOOPS="1")
    info = run("info", env=env)
    assert info.returncode == 0 and "avx512_loops" in info.stdout, info.stdout + info.stderr
    assert "False" in info.stdout.split("avx512_loops")[1].splitlines()[0]
    assert "False" in info.stdout.split("avx2_loops")[1].splitlines()[0]
    out = run("check", env=env)
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_fails_when_a_kernel_is_wrong(tmp_path):
    # A sitecustomize that breaks the native Adam makes `dlkern check` exit 1.
    (tmp_path / "sitecustomize.py").write_text(
        "import dlkern.native as n\n"
        "orig = n.adam_step\n"
        "def bad(p, g, m, v, step, **kw):\n"
        "    orig(p, g, m, v, step, **kw)\n"
        "    (p[0] if isinstance(p, list) else p)[...] += 1e-3\n"
        "n.adam_step = bad\n")
    out = run("check", env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL" in out.stdout


def test_info_and_help():
    out = run("info")
    assert out.returncode == 0 and "blas" in out.stdout and "openmp" in out.stdout
    out = run("--help")
    assert out.returncode == 0 and "check" in out.stdout and "demo" in out.stdout


@pytest.mark.parametrize("argv", [["nonsense"], ["check", "--seed", "x"]])
def test_bad_arguments_are_one_clear_line(argv):
    out = run(*argv)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_demo_trains_the_seed_models():
    out = run("demo")
    assert out.returncode == 0, out.stdout + out.stderr
    table = out.stdout.split("== results")[1]
    rows = {line.split("  ")[0].strip(): line for line in table.splitlines()[2:]}
    assert "100%" in rows["XOR, 2-2-1"]
    acc = float(rows["CNN, digits"].split("%")[0].split()[-1])
    assert acc >= 97.0, rows["CNN, digits"]
    rnn = rows["RNN, temperature"].split()
    mse, persistence = float(rnn[-5]), float(rnn[-4])
    assert mse < persistence, rows["RNN, temperature"]
    tok = float(rows["Transformer, reverse"].split("%")[0].split()[-1])
    assert tok >= 95.0, rows["Transformer, reverse"]


def test_summary_command():
    out = run("summary", "cnn")
    assert out.returncode == 0 and "total params 136,586" in out.stdout


def test_train_command_saves(tmp_path):
    out = run("train", "xor", "--epochs", "5", "--lr", "0.05", "--batch-size", "4",
              "--no-progress", "--save", str(tmp_path / "xor.npz"))
    assert out.returncode == 0, out.stderr
    assert "epoch   5" in out.stdout and (tmp_path / "xor.npz").exists()


def test_bench_command_json():
    import json
    out = run("bench", "pool_mnist", "--json", "--threads", "1")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["mode"] for r in rows} == {"fwd", "fwd+bwd"}
    assert all(r["dlkern_ms"] > 0 and "reference / dlkern" in r for r in rows)


def test_errors_are_one_line():
    out = run("train", "cnn", "--epochs", "0", "--no-progress", "--backend", "numpy")
    assert "Traceback" not in out.stderr


def test_train_checkpoint_and_resume(tmp_path):
    ck = str(tmp_path / "ck.npz")
    args = ["train", "xor", "--lr", "0.05", "--batch-size", "4", "--no-progress",
            "--checkpoint", ck]
    first = run(*args, "--epochs", "3")
    assert first.returncode == 0, first.stderr
    more = run(*args, "--epochs", "5", "--resume")
    assert more.returncode == 0, more.stderr
    whole = run("train", "xor", "--lr", "0.05", "--batch-size", "4", "--no-progress",
                "--epochs", "5")
    assert more.stdout == whole.stdout       # epochs 1-3 from the checkpoint, then 4-5
    out = run("train", "xor", "--resume")
    assert out.returncode == 1 and "--resume needs --checkpoint" in out.stderr
