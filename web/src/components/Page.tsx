import { type ReactNode, useEffect, useRef } from 'react';

interface PageProps {
  title: string;
  /** Shown next to the title, e.g. a status badge. */
  badge?: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}

/**
 * One screen: sets the document title and moves focus to the heading when the screen opens, so
 * keyboard and screen-reader users land at the top of the new content after a navigation.
 */
export function Page({ title, badge, subtitle, actions, children }: PageProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Runhook`;
  }, [title]);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, []);
  return (
    <>
      <header className="page-header">
        <div>
          <h1 ref={heading} tabIndex={-1}>
            {title} {badge}
          </h1>
          {subtitle ? <p className="page-subtitle">{subtitle}</p> : null}
        </div>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </>
  );
}

export function Section({
  title,
  id,
  actions,
  children,
  testId,
}: {
  title: string;
  id?: string;
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
}) {
  const headingId = id ? `${id}-heading` : undefined;
  return (
    <section className="card" aria-labelledby={headingId} id={id} data-testid={testId}>
      <div className="card-header">
        <h2 id={headingId}>{title}</h2>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}
