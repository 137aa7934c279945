"""The meter simulator: solar physics (night, noon, clouds), an exact counter, and Shelly-shaped HTTP answers."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from wattwitness.device.errors import MeterPayloadError
from wattwitness.device.shelly import create_meter
from wattwitness.device.simulator import ManualClock, ShellySimulator, SimClock, SimulatedMeter, SolarModel
from wattwitness.device.solar import solar_elevation_deg, solar_noon

# 21 June 2026 00:00 UTC; Zürich (47.38 N, 8.54 E) is UTC+2 then.
MIDSUMMER = int(datetime(2026, 6, 21, tzinfo=UTC).timestamp())
CLEAR = SolarModel(peak_w=5000, cloudiness=0.0)


def test_solar_position_is_sane_for_zurich_midsummer():
    noon = solar_noon(MIDSUMMER, 8.5417)
    # Solar noon at 8.54° E in late June is about 11:27 UTC (longitude 34 min early, equation of time +2 min).
    assert abs(noon - (MIDSUMMER + 11 * 3600 + 27 * 60)) < 120
    # Maximum elevation 90 - 47.38 + 23.44 = 66.06°.
    assert solar_elevation_deg(noon, 47.3769, 8.5417) == pytest.approx(66.06, abs=0.3)
    assert solar_elevation_deg(MIDSUMMER, 47.3769, 8.5417) < -15


def test_zero_at_night_and_bell_around_solar_noon():
    night = [MIDSUMMER + h * 3600 for h in (0, 1, 2, 21, 22, 23)]
    assert all(CLEAR.power_mw(t) == 0 for t in night)
    day = [MIDSUMMER + m * 60 for m in range(0, 1440, 5)]
    peak_at = max(day, key=CLEAR.power_mw)
    noon = solar_noon(MIDSUMMER, CLEAR.lon)
    assert abs(peak_at - noon) <= 300
    assert 4000_000 < CLEAR.power_mw(noon) <= 5000_000
    for hours in (1, 3, 5):
        before, after = CLEAR.power_mw(noon - hours * 3600), CLEAR.power_mw(noon + hours * 3600)
        assert before == pytest.approx(after, rel=0.03)
        assert before < CLEAR.power_mw(noon)
    # A place on the other side of the world produces at the opposite hours.
    sydney = SolarModel(lat=-33.87, lon=151.21, cloudiness=0.0)
    assert sydney.power_mw(noon) == 0 and sydney.power_mw(MIDSUMMER + 2 * 3600) > 0


def test_clouds_are_seeded_dips():
    cloudy = SolarModel(peak_w=5000, cloudiness=1.0, seed=7)
    same = SolarModel(peak_w=5000, cloudiness=1.0, seed=7)
    other = SolarModel(peak_w=5000, cloudiness=1.0, seed=8)
    day = [MIDSUMMER + m * 60 for m in range(0, 1440, 2)]
    assert [cloudy.power_mw(t) for t in day] == [same.power_mw(t) for t in day]
    assert [cloudy.power_mw(t) for t in day] != [other.power_mw(t) for t in day]
    assert all(cloudy.power_mw(t) <= CLEAR.power_mw(t) for t in day)
    assert any(cloudy.power_mw(t) < 0.8 * CLEAR.power_mw(t) for t in day)


def test_counter_is_monotonic_and_integrates_power_exactly():
    clock = ManualClock(MIDSUMMER)
    meter = SimulatedMeter(CLEAR, clock, initial_energy_mwh=21_700_000)
    previous = meter.state()
    expected_twice = 0
    for _ in range(8640):  # a whole day in 10 s steps
        clock.advance(10)
        state = meter.state()
        assert state.energy_mwh >= previous.energy_mwh
        expected_twice += (previous.power_mw + state.power_mw) * 10_000
        previous = state
    produced = previous.energy_mwh - 21_700_000
    assert produced == expected_twice // (2 * 3_600_000)
    # A clear midsummer day at 5 kWp in Zürich: roughly 30 to 45 kWh.
    assert 30_000_000 < produced < 45_000_000


def test_counter_does_not_depend_on_how_often_it_is_read():
    slow_clock, fast_clock = ManualClock(MIDSUMMER), ManualClock(MIDSUMMER)
    slow, fast = SimulatedMeter(CLEAR, slow_clock), SimulatedMeter(CLEAR, fast_clock)
    for _ in range(6 * 24):
        slow_clock.advance(600)
        slow.state()
    for _ in range(24):
        fast_clock.advance(3600)
        fast.state()
    assert slow.state() == fast.state()


def test_sim_clock_runs_at_speed():
    real = [100.0]
    clock = SimClock(start=MIDSUMMER, speed=360, real=lambda: real[0])
    assert clock.now() == MIDSUMMER
    real[0] += 10
    assert clock.now() == MIDSUMMER + 3600
    with pytest.raises(ValueError):
        SimClock(speed=0)


@pytest.mark.parametrize("gen", [1, 2])
def test_http_answers_read_by_the_real_client(gen):
    clock = ManualClock(MIDSUMMER + 11 * 3600)
    with ShellySimulator(gen=gen, model=CLEAR, clock=clock, mac="C4:5B:BE:5A:1A:01",
                         initial_energy_mwh=5_000_000) as simulator:
        client = create_meter(simulator.url, gen=gen, timeout=5)
        client.initialize()
        assert client.mac == bytes.fromhex("C45BBE5A1A01")
        first = client.read()
        state = simulator.meter.state()
        assert first.ts == int(state.ts)
        # The device shows W with 2 (Gen1) or 1 (Gen2) decimals and Wh with 1 or 2: truncated, never rounded up.
        assert 0 <= state.power_mw - first.power_mw < (10 if gen == 1 else 100)
        assert 0 <= state.energy_mwh - first.energy_mwh < (100 if gen == 1 else 10)
        clock.advance(3600)
        second = client.read()
        assert second.ts == first.ts + 3600 and second.energy_mwh > first.energy_mwh + 3_000_000
        idle = create_meter(simulator.url, gen=gen, channel=1).read()
        assert (idle.power_mw, idle.energy_mwh) == (0, 0)
        if gen == 2:
            with pytest.raises(MeterPayloadError, match="value 7 not found"):
                create_meter(simulator.url, gen=2, channel=7).read()
            rpc = httpx.post(simulator.url + "/rpc", json={"id": 1, "method": "Shelly.GetDeviceInfo"}).json()
            assert rpc["result"]["mac"] == "C45BBE5A1A01"
        client.shutdown()


def test_simulator_restarts_on_same_port():
    simulator = ShellySimulator(gen=1, model=CLEAR, clock=ManualClock(MIDSUMMER)).start()
    port = simulator.port
    simulator.stop()
    simulator.start()
    try:
        assert simulator.port == port
        assert httpx.get(simulator.url + "/shelly").json()["type"] == "SHEM"
    finally:
        simulator.stop()
