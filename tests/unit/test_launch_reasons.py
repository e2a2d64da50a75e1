"""torchrun's report of a rank killed by a signal becomes a reason a user can act on; a rank that failed by
itself keeps its own reason (the text is torchrun 2.x's ChildFailedError summary)."""

from __future__ import annotations

from cocoseg_gui.core.training.launch import killed_rank

SUMMARY = """torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
=======================================================
cocoseg_gui.core.training.launch FAILED
-------------------------------------------------------
Failures:
[1]:
  time      : 2026-12-07_02:09:44
  host      : localhost
  rank      : 0 (local_rank: 0)
  exitcode  : -15 (pid: 13098)  (SIGTERM)
  error_file: <N/A>
  traceback : Signal 15 (SIGTERM) received by PID 13098
-------------------------------------------------------
Root Cause (first observed failure):
[0]:
  time      : 2026-12-07_02:09:44
  host      : localhost
  rank      : 3 (local_rank: 1)
  exitcode  : {code} (pid: 13099)  (SIGKILL)
  error_file: <N/A>
  traceback : Signal 9 (SIGKILL) received by PID 13099
=======================================================
"""


def test_a_rank_killed_by_a_signal_is_named_with_what_to_do() -> None:
    reason = killed_rank(SUMMARY.format(code=-9), 4)
    assert reason is not None and reason.startswith("training process 3 of 4 was killed by SIGKILL")
    assert "out-of-memory" in reason and "last.pt" in reason
    assert "SIGSEGV" in (killed_rank(SUMMARY.format(code=-11), 4) or "")


def test_a_rank_that_exited_by_itself_or_no_summary_keeps_the_runs_reason() -> None:
    assert killed_rank(SUMMARY.format(code=1), 4) is None  # its end event or failure file says why
    assert killed_rank("", 2) is None
    assert killed_rank("Root Cause (first observed failure):\n[0]:\n  rank : 1\n", 2) is None  # no exitcode
