"""The training example checkpoints model and feed together: a run stopped after 3 steps and
restarted computes step 3 exactly as an uninterrupted run does."""

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "client", "python",
                       "examples", "train_step.py")


def run(address, steps, checkpoint):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, EXAMPLE, "--address", address, "--steps", str(steps),
                          "--batch-size", "8", "--checkpoint", str(checkpoint)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return out, dict(re.findall(r"step (\d+): loss ([0-9.]+)", out))


def test_restarted_training_continues_exactly(start_server, tmp_path):
    server = start_server()
    _, straight = run(server.address, 4, tmp_path / "a.ckpt")
    run(server.address, 3, tmp_path / "b.ckpt")
    out, resumed = run(server.address, 1, tmp_path / "b.ckpt")
    assert "resumed at step 3" in out
    assert resumed["3"] == straight["3"]
