"""A clock for line-budget tests: time passes only when it is read."""


class FakeClock:
    """Each reading advances by ``step`` seconds, so the line budget is exercised without waiting."""

    def __init__(self, step: float) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t
