// @vitest-environment jsdom
// The whole dashboard rendered against stubbed API answers: every panel shows real values, the states
// are designed, the time frame and installation live in the URL, and the browser verifier runs.
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chart, exportJsonl, installation, integrity, readings, status, vectors } from "@/testing/fixtures";
import { type Route, stubFetch } from "@/testing/fetch-stub";
import { App } from "./app";
import { AppProvider, makeQueryClient } from "./provider";

// uPlot draws on a canvas, which jsdom cannot; the real charts are checked in Chromium (tests/e2e).
vi.mock("@/components/charts/uplot-chart", () => ({
  UPlotChart: ({ label, data }: { label: string; data: unknown[][] }) => (
    <div role="img" aria-label={label} data-points={data[0]?.length ?? 0} />
  ),
}));

function routes(overrides: Record<string, Route> = {}): Record<string, Route> {
  return {
    "/api/v1/installations/": () => ({ json: [installation()] }),
    "/api/v1/installations/1": () => ({ json: installation() }),
    // The vectors' newest record was signed at night (0 W); the one before shows a daytime figure.
    "/api/v1/readings/latest/1": () => ({ json: readings()[1] }),
    "/api/v1/readings/1": () => ({ json: { readings: readings(), next_cursor: null } }),
    "/api/v1/readings/1/chart": (url) => ({ json: chart((url.searchParams.get("time_frame") ?? "day") as "day") }),
    "/api/v1/readings/1/integrity": () => ({ json: integrity() }),
    "/api/v1/readings/1/export": () => ({ text: exportJsonl() }),
    "/api/v1/status/": () => ({ json: status() }),
    ...overrides,
  };
}

function renderApp() {
  const client = makeQueryClient();
  client.setDefaultOptions({ queries: { ...client.getDefaultOptions().queries, retry: false } });
  return render(
    <AppProvider client={client}>
      <App />
    </AppProvider>,
  );
}

const panel = (name: string) => screen.getByRole("region", { name });

beforeEach(() => {
  window.history.replaceState(null, "", "/");
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("dashboard", () => {
  it("shows real values in every panel", async () => {
    stubFetch(routes());
    renderApp();
    expect((await screen.findByTestId("live-power")).textContent).toMatch(/^1[.,]49 kW$/);
    expect(await within(panel("General info")).findByTestId("info-mac")).toHaveProperty("textContent", "EC64C9C05E97");
    expect(within(panel("General info")).getByTestId("info-key-id").textContent).toBe(vectors.key.key_id);
    expect(within(panel("General info")).getByTestId("info-timezone").textContent).toBe("Europe/Berlin");
    expect(within(panel("General info")).getByTestId("info-key-storage").textContent).toBe("software key");
    expect((await within(panel("System status")).findByTestId("status-overall")).textContent).toBe("ok");
    expect(within(panel("System status")).getByTestId("status-device").textContent).toContain("live");
    expect(within(panel("System status")).getByTestId("status-chain").textContent).toContain("31337");
    expect((await within(panel("Energy production")).findByTestId("energy-total")).textContent).toMatch(/20[.,]795 Wh/);
    expect(within(panel("Energy production")).getByTestId("energy-lifetime").textContent).toMatch(/33[.,]060 Wh/);
    expect(within(panel("Energy production")).getByTestId("energy-estimated-note").textContent).toContain("1 bucket");
    const rows = within(await within(panel("Latest records")).findByTestId("records-table")).getAllByRole("row");
    expect(rows).toHaveLength(7); // header + 6 records
    expect(rows[1]?.textContent).toContain("2 · 2");
    expect(rows[6]?.textContent).toContain("anchored");
    expect((await within(panel("Integrity")).findByTestId("integrity-gaps")).textContent).toBe("2");
    const gaps = within(panel("Integrity")).getByTestId("integrity-gap-list").textContent;
    expect(gaps).toContain("2 missing between (boot 1, seq 2) and (boot 1, seq 5)");
    expect(gaps).toContain("at least 1 missing before (boot 1, seq 1): until");
  });

  it("switches time frames and periods, keeping them in the URL", async () => {
    const { requests } = stubFetch(routes());
    renderApp();
    const energy = within(await screen.findByRole("region", { name: "Energy production" }));
    await energy.findByTestId("energy-total");
    for (const frame of ["hour", "week", "month", "year", "day"]) {
      fireEvent.click(energy.getByRole("button", { name: frame }));
      await waitFor(() => expect(energy.getByRole("button", { name: frame }).getAttribute("aria-pressed")).toBe("true"));
      await waitFor(() =>
        expect(requests.some((u) => u.pathname.endsWith("/chart") && u.searchParams.get("time_frame") === frame)).toBe(true),
      );
      expect(new URLSearchParams(window.location.search).get("frame")).toBe(frame);
    }
    fireEvent.click(energy.getByRole("button", { name: "Previous day" }));
    await waitFor(() =>
      expect(requests.some((u) => u.searchParams.get("at") === String(chart().period_start - 1))).toBe(true),
    );
    expect(new URLSearchParams(window.location.search).get("at")).toBe(String(chart().period_start - 1));
  });

  it("links the CSV download to the shown period", async () => {
    stubFetch(routes());
    renderApp();
    const link = await screen.findByTestId("csv-download");
    const href = new URL(link.getAttribute("href") ?? "", "http://dashboard.test");
    expect(href.pathname).toBe("/api/v1/readings/1/export");
    expect(href.searchParams.get("format")).toBe("csv");
    expect(href.searchParams.get("since")).toBe(String(chart().period_start));
    expect(href.searchParams.get("until")).toBe(String(chart().period_end));
  });

  it("picks the installation from the URL and writes the choice back", async () => {
    const second = installation({ id: 2, name: "Barn South", timezone: "America/New_York" });
    stubFetch(
      routes({
        "/api/v1/installations/": () => ({ json: [installation(), second] }),
        "/api/v1/installations/2": () => ({ json: second }),
        "/api/v1/readings/latest/2": () => ({ status: 404, json: { error: "not_found", detail: "no readings" } }),
        "/api/v1/readings/2": () => ({ json: { readings: [], next_cursor: null } }),
        "/api/v1/readings/2/chart": () => ({ json: { ...chart(), data_points: [], total_energy: 0 } }),
        "/api/v1/readings/2/integrity": () => ({ json: { ...integrity(), gaps: [], chain_restarts: [] } }),
      }),
    );
    window.history.replaceState(null, "", "/?installation=1");
    renderApp();
    const picker = await screen.findByRole("combobox", { name: "Installation" });
    fireEvent.change(picker, { target: { value: "2" } });
    expect(new URLSearchParams(window.location.search).get("installation")).toBe("2");
    const info = await screen.findByRole("region", { name: "General info" });
    expect(await within(info).findByText(/Barn South/)).toBeTruthy();
    expect(await screen.findByText(/No readings yet/)).toBeTruthy();
    expect(await screen.findByText("No signed records yet.")).toBeTruthy();
    expect(await screen.findByText("No production recorded in this period.")).toBeTruthy();
  });

  it("opens the full record, hash and signature from a table row", async () => {
    stubFetch(routes());
    renderApp();
    const table = await screen.findByTestId("records-table");
    fireEvent.click(within(table).getAllByRole("row")[1]!);
    const dialog = await screen.findByTestId("record-dialog");
    const newest = vectors.chain[5]!;
    expect(within(dialog).getByTestId("record-hex").textContent).toBe(newest.record);
    expect(within(dialog).getByTestId("record-hash").textContent).toBe(newest.hash);
    expect(within(dialog).getByTestId("record-signature").textContent).toBe(newest.signature);
    expect(dialog.textContent).toContain(`${newest.fields.energy_mwh} mWh`);
  });

  it("shows a designed error with the server's detail, and an empty state without installations", async () => {
    stubFetch(
      routes({
        "/api/v1/installations/": () => ({
          status: 503,
          json: { error: "database_unavailable", detail: "the database does not answer" },
        }),
      }),
    );
    renderApp();
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("the database does not answer (database_unavailable)");
    expect(within(alert).getByRole("button", { name: "Retry" })).toBeTruthy();
    cleanup();

    stubFetch(routes({ "/api/v1/installations/": () => ({ json: [] }) }));
    renderApp();
    expect(await screen.findByText(/Enroll a signing device/)).toBeTruthy();
  });
});

/** A controllable EventSource: the test plays the server's side of the reading stream. */
class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly listeners = new Map<string, (event: MessageEvent<string>) => void>();
  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, listener);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  fail() {
    this.readyState = FakeEventSource.CONNECTING;
    this.onerror?.();
  }
  emit(type: string, data: unknown) {
    this.listeners.get(type)?.(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
}

describe("live power", () => {
  it("follows the server's reading stream, and says when it falls back to polling", async () => {
    FakeEventSource.instances = [];
    vi.stubGlobal("EventSource", FakeEventSource);
    stubFetch(routes());
    renderApp();
    await screen.findByTestId("live-power");
    const source = FakeEventSource.instances.at(-1)!;
    expect(source.url).toBe("/api/v1/readings/1/stream");
    act(() => source.open());
    expect(screen.getByTestId("stream-state").textContent).toBe("live");

    const newer = { ...readings()[0]!, id: 99, seq: 3, power_w: 4321, timestamp: readings()[0]!.timestamp + 10 };
    act(() => source.emit("reading", newer));
    expect(screen.getByTestId("live-power").textContent).toMatch(/^4[.,]32 kW$/);

    // An older reading arriving late never replaces the newest one.
    act(() => source.emit("reading", { ...readings()[2]!, power_w: 1 }));
    expect(screen.getByTestId("live-power").textContent).toMatch(/^4[.,]32 kW$/);

    act(() => source.fail());
    expect(screen.getByTestId("stream-state").textContent).toBe("polling");
  });
});

describe("verify in your browser", () => {
  it("passes the real export and fails a tampered one", async () => {
    let body = exportJsonl();
    stubFetch(routes({ "/api/v1/readings/1/export": () => ({ text: body }) }));
    renderApp();
    const verify = within(await screen.findByRole("region", { name: "Verify in your browser" }));
    expect((verify.getByLabelText(/Public key/) as HTMLTextAreaElement).value).toBe(vectors.key.public);
    fireEvent.click(verify.getByRole("button", { name: "Verify signatures" }));
    expect((await verify.findByTestId("verify-summary")).textContent).toBe(
      "6 records: 6 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets",
    );
    expect(verify.getByTestId("verify-verdict").textContent).toBe("PASSED");

    // One changed hex digit in the fourth record's counter.
    const lines = body.trim().split("\n");
    const item = JSON.parse(lines[3]!) as { record: string; signature: string };
    item.record = item.record.slice(0, 60) + (item.record[60] === "0" ? "1" : "0") + item.record.slice(61);
    lines[3] = JSON.stringify(item);
    body = lines.join("\n");
    fireEvent.click(verify.getByRole("button", { name: "Verify signatures" }));
    await waitFor(() => expect(verify.getByTestId("verify-verdict").textContent).toBe("FAILED"));
    expect(verify.getByTestId("verify-summary").textContent).toBe(
      "6 records: 4 verified, 1 invalid, 1 gaps, 0 chain breaks, 0 counter resets",
    );
    expect(verify.getByTestId("verify-problems").textContent).toContain("line 4: invalid_signature");
  });

  it("explains that a period starting mid-chain counts its first record as a gap", async () => {
    const { requests } = stubFetch(
      routes({ "/api/v1/readings/1/export": () => ({ text: exportJsonl().split("\n").slice(1).join("\n") }) }),
    );
    renderApp();
    const verify = within(await screen.findByRole("region", { name: "Verify in your browser" }));
    fireEvent.click(verify.getByRole("button", { name: "Verify signatures" }));
    expect((await verify.findByTestId("verify-summary")).textContent).toBe(
      "5 records: 4 verified, 0 invalid, 1 gaps, 0 chain breaks, 0 counter resets",
    );
    expect(verify.getByTestId("verify-verdict").textContent).toBe("PASSED");
    expect(verify.getByTestId("verify-period-note")).toBeTruthy();
    const exportRequest = requests.find((url) => url.pathname.endsWith("/export"));
    expect(exportRequest?.searchParams.get("format")).toBe("jsonl");
    expect(Number(exportRequest?.searchParams.get("since"))).toBeGreaterThan(0);

    fireEvent.change(verify.getByLabelText("Period"), { target: { value: "all" } });
    fireEvent.click(verify.getByRole("button", { name: "Verify signatures" }));
    // The summary disappears while the new run fetches and checks, and comes back when it is done.
    await waitFor(() => expect(verify.queryByTestId("verify-summary")).toBeNull());
    expect((await verify.findByTestId("verify-summary")).textContent).toContain("1 gaps");
    expect(verify.queryByTestId("verify-period-note")).toBeNull();
    expect(requests.filter((url) => url.pathname.endsWith("/export")).at(-1)?.searchParams.has("since")).toBe(false);
  });

  it("says a legacy installation has nothing to verify", async () => {
    const legacy = installation({ legacy: true, public_key: null, key_id: null, key_storage: null });
    stubFetch(
      routes({
        "/api/v1/installations/": () => ({ json: [legacy] }),
        "/api/v1/installations/1": () => ({ json: legacy }),
      }),
    );
    renderApp();
    const verify = within(await screen.findByRole("region", { name: "Verify in your browser" }));
    expect(verify.getByText(/checksum anyone can compute/)).toBeTruthy();
    expect(verify.queryByRole("button", { name: "Verify signatures" })).toBeNull();
    expect(within(panel("General info")).getByTestId("info-key-id").textContent).toBe("—");
  });

  it("refuses a public key that is not 64 bytes of hex", async () => {
    stubFetch(routes());
    renderApp();
    const verify = within(await screen.findByRole("region", { name: "Verify in your browser" }));
    fireEvent.change(verify.getByLabelText(/Public key/), { target: { value: "abcd" } });
    fireEvent.click(verify.getByRole("button", { name: "Verify signatures" }));
    expect((await verify.findByTestId("verify-error")).textContent).toContain("128 hex characters");
  });
});
