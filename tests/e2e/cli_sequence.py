"""Run several `cocoseg` commands in one process (one torchrun launch for many commands in a test).

``python tests/e2e/cli_sequence.py PLAN.json``: PLAN is a list of argument lists; each command's stdout
goes to ``PLAN's folder/stdout.<n>.rank<RANK>.txt``; the first command that fails stops the sequence.
Under torchrun the process group is joined once for all commands (each command then uses it, as
sharded_job does with a group that exists): a group destroyed and joined again in one process can meet
the previous group's rendezvous keys, which a one-command process never does.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


def main() -> int:
    import torch.distributed as dist

    from cocoseg_gui.cli import main as cocoseg

    plan_file = Path(sys.argv[1])
    rank = os.environ.get("RANK", "0")
    sharded = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if sharded:
        dist.init_process_group("gloo")
    finished = False
    try:
        for n, argv in enumerate(json.loads(plan_file.read_text())):
            out = plan_file.parent / f"stdout.{n}.rank{rank}.txt"
            with open(out, "w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
                code = cocoseg(argv)
            if code:
                print(f"cli_sequence: {argv[0]} exited {code} on rank {rank}", file=sys.stderr)
                return code
        finished = True
    finally:
        if sharded:
            if finished:  # as sharded_job does: both ranks past the last collective before the group goes
                dist.barrier()
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
