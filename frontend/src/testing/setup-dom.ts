/**
 * Vitest setup for jsdom tests: what jsdom lacks and the dashboard uses. ResizeObserver and matchMedia
 * (uPlot reads the pixel ratio at import), and <dialog>.showModal. EventSource is left undefined on
 * purpose so the live panel takes its polling fallback path. Node-environment tests skip all of it.
 */
import { configure } from "@testing-library/dom";

if (typeof window !== "undefined") {
  // CI shares two cores with other suites: wait for the UI by condition, with room for a slow machine.
  configure({ asyncUtilTimeout: 15_000 });
  window.ResizeObserver ??= class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
  window.matchMedia ??= (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addEventListener() {},
      removeEventListener() {},
      addListener() {},
      removeListener() {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
  if (!HTMLDialogElement.prototype.showModal) {
    HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
      this.open = true;
    };
    HTMLDialogElement.prototype.close = function close(this: HTMLDialogElement) {
      this.open = false;
      this.dispatchEvent(new Event("close"));
    };
  }
}

