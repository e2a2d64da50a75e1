"""A run resumed on another number of processes keeps its global batch, and its place in the epoch."""

from __future__ import annotations

from cocoseg_gui.core.training.distributed import EpochSampler, rescale_batch, resumed_position


def test_the_global_batch_is_kept_by_accumulation_first_then_by_the_batch() -> None:
    two_to_one = rescale_batch(8, 1, old_world=2, new_world=1)
    assert (two_to_one.batch_size, two_to_one.grad_accum, two_to_one.kept) == (8, 2, True)
    one_to_four = rescale_batch(8, 4, old_world=1, new_world=4)  # accumulation steps become processes
    assert (one_to_four.batch_size, one_to_four.grad_accum) == (8, 1)
    one_to_two = rescale_batch(8, 1, old_world=1, new_world=2)  # no accumulation to give: halve the batch
    assert (one_to_two.batch_size, one_to_two.grad_accum, one_to_two.kept) == (4, 1, True)
    said = one_to_two.describe(1, 8, 1)
    assert "global batch of 8 images per optimiser step is kept as 4 x 2 processes" in said
    odd = rescale_batch(4, 1, old_world=2, new_world=3)  # 8 images cannot be split over 3 processes
    assert (odd.batch_size, odd.grad_accum, odd.kept) == (4, 1, False)
    assert "it is 12 now" in odd.describe(2, 4, 1)


def test_the_resumed_position_starts_at_the_first_sample_not_done() -> None:
    size, old_world, batch = 24, 2, 2
    done_per_rank = 3  # 3 batches of 2 on each of 2 ranks: global positions 0..11 done
    plan = rescale_batch(batch, 1, old_world, 1)
    resumed = resumed_position(done_per_rank, batch, old_world, plan)
    assert resumed == 6  # batches of 2 on one process
    before = set()
    for rank in range(old_world):
        sampler = EpochSampler(size, seed=3, num_replicas=old_world, rank=rank)
        before |= {index for index, _ in list(sampler)[: done_per_rank * batch]}
    after = EpochSampler(size, seed=3, num_replicas=1, rank=0)
    after.set_start(resumed * plan.batch_size)
    rest = {index for index, _ in after}
    assert before.isdisjoint(rest) and before | rest == set(range(size))


def test_a_changed_global_batch_resumes_at_a_whole_optimiser_step() -> None:
    plan = rescale_batch(4, 1, old_world=2, new_world=3)  # global batch 8 -> 12
    assert resumed_position(3, 4, 2, plan) == 2  # 24 samples done: 2 steps of 12
    assert resumed_position(2, 4, 2, plan) == 1  # 16 samples: rounded down to 1 step (4 seen again)
