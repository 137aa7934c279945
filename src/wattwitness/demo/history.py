"""A simulated meter read in-process on a clock that jumps: how the demo signs a week of history fast.

The agent is the real one (real signer, real outbox, real sender); only its meter is the simulator's model
read directly instead of over HTTP, with the clock stepped one interval per reading.
"""

from __future__ import annotations

from wattwitness.device.shelly import MeterSample
from wattwitness.device.simulator import ManualClock, SimulatedMeter, SolarModel


class SteppedMeter:
    """A MeterClient over the simulator's model: each read moves the clock one `step_s` forward.

    After `until` it stops answering with new time (reads raise StopIteration-like exhaustion through
    `exhausted`), so the agent signs exactly the history asked for.
    """

    def __init__(self, model: SolarModel, mac: bytes, start: int, until: int, step_s: int,
                 initial_energy_mwh: int) -> None:
        self.mac: bytes | None = mac
        self._clock = ManualClock(start)
        self._meter = SimulatedMeter(model, self._clock, initial_energy_mwh)
        self._next = start
        self._until = until
        self._step = step_s
        self.last_energy_mwh = initial_energy_mwh
        self.last_ts = start

    @property
    def remaining(self) -> int:
        return max(0, (self._until - self._next) // self._step + 1)

    def initialize(self) -> None:
        return None

    def read(self) -> MeterSample:
        self._clock.advance(self._next - self._clock.now())
        state = self._meter.state()
        self._next += self._step
        self.last_energy_mwh, self.last_ts = state.energy_mwh, int(state.ts)
        assert self.mac is not None
        return MeterSample(mac=self.mac, ts=int(state.ts), power_mw=state.power_mw, energy_mwh=state.energy_mwh)

    def shutdown(self) -> None:
        return None
