"""Which offsets may be committed: the acknowledged prefix of polls, per partition."""

from pipeline.kafka.progress import OffsetProgress


def test_nothing_is_committable_before_the_first_poll_is_acknowledged() -> None:
    progress = OffsetProgress()
    first = progress.add({("t", 0): 10})
    second = progress.add({("t", 0): 20, ("t", 1): 5})
    progress.mark_done(second)
    assert progress.committable() == {}
    progress.mark_done(first)
    assert progress.committable() == {("t", 0): 20, ("t", 1): 5}
    assert len(progress) == 0


def test_a_discarded_poll_and_every_later_one_are_never_committed() -> None:
    progress = OffsetProgress()
    first = progress.add({("t", 0): 10})
    second = progress.add({("t", 0): 20})
    progress.mark_done(first)
    progress.discard(second)
    progress.mark_done(second)
    assert progress.committable() == {("t", 0): 10}


def test_revoked_partitions_are_forgotten() -> None:
    progress = OffsetProgress()
    poll = progress.add({("t", 0): 10, ("t", 1): 7})
    progress.forget([("t", 1)])
    progress.mark_done(poll)
    assert progress.committable() == {("t", 0): 10}


def test_waiting_for_acknowledgements_is_bounded() -> None:
    progress = OffsetProgress()
    progress.add({("t", 0): 1})
    assert progress.wait_all_done(0.05) is False
