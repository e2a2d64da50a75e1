"""Everything a job does: pure Python, numpy and torch. Never imports Qt."""
