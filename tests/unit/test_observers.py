"""core.observers: the Qt-free notification list the state models use."""

from cocoseg_gui.core.observers import Observers


def test_callbacks_run_in_order_and_unsubscribe() -> None:
    seen: list[tuple[str, int]] = []
    obs: Observers[int] = Observers()
    stop_a = obs.subscribe(lambda v: seen.append(("a", v)))
    obs.subscribe(lambda v: seen.append(("b", v)))
    obs.emit(1)
    stop_a()
    stop_a()  # twice is harmless
    obs.emit(2)
    assert seen == [("a", 1), ("b", 1), ("b", 2)]
    assert len(obs) == 1


def test_a_callback_may_unsubscribe_itself_during_emit() -> None:
    seen: list[int] = []
    obs: Observers[int] = Observers()
    stop: list = []

    def once(v: int) -> None:
        seen.append(v)
        stop[0]()

    stop.append(obs.subscribe(once))
    obs.subscribe(lambda v: seen.append(v * 10))
    obs.emit(1)
    obs.emit(2)
    assert seen == [1, 10, 20]
