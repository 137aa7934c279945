/** A dashboard card: a titled, labelled region; every feature's panel renders inside one. */
import type { ReactNode } from "react";

interface PanelProps {
  id: string;
  title: string;
  actions?: ReactNode;
  children: ReactNode;
  wide?: boolean;
}

export function Panel({ id, title, actions, children, wide }: PanelProps) {
  return (
    <section className={wide ? "panel panel--wide" : "panel"} aria-labelledby={`${id}-title`} data-panel={id}>
      <header className="panel__header">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions ? <div className="panel__actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}
