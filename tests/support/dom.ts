/**
 * A DOM for React tests (happy-dom), installed as globals. Import it before react-dom:
 * react-dom decides at load whether it runs in a browser.
 */
import { Window } from "happy-dom";

const window = new Window({ url: "http://localhost/" });
const g = globalThis as Record<string, unknown>;
for (
  const name of ["window", "document", "HTMLElement", "Node", "Event", "MouseEvent", "HTMLButtonElement"]
) {
  g[name] = name === "window" ? window : (window as unknown as Record<string, unknown>)[name];
}
// React's act() warns unless it knows it runs under a test.
g.IS_REACT_ACT_ENVIRONMENT = true;

export const dom = window;
