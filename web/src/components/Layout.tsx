import type { ReactNode } from 'react';
import { signOut } from '../api';
import { Link, useLocation } from '../router';

const NAV: { to: string; label: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/runs', label: 'Test runs' },
  { to: '/agents', label: 'Agents' },
  { to: '/deliveries', label: 'Deliveries' },
];

const SETTINGS_NAV: { to: string; label: string }[] = [
  { to: '/settings/webhooks', label: 'Webhooks' },
  { to: '/api-keys', label: 'API keys' },
];

function NavLink({ to, label, pathname }: { to: string; label: string; pathname: string }) {
  const active = to === '/' ? pathname === '/' : pathname === to || pathname.startsWith(`${to}/`);
  return (
    <li>
      <Link to={to} className="nav-link" aria-current={active ? 'page' : undefined}>
        {label}
      </Link>
    </li>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <aside className="sidebar">
          <Link to="/" className="brand" aria-label="Runhook overview">
            <span className="brand-mark" aria-hidden="true">
              ↪
            </span>
            Runhook
          </Link>
          <nav aria-label="Main">
            <ul className="nav-list">
              {NAV.map((item) => (
                <NavLink key={item.to} {...item} pathname={pathname} />
              ))}
            </ul>
            <p className="nav-group" id="nav-settings">
              Settings
            </p>
            <ul className="nav-list" aria-labelledby="nav-settings">
              {SETTINGS_NAV.map((item) => (
                <NavLink key={item.to} {...item} pathname={pathname} />
              ))}
            </ul>
          </nav>
          <div className="sidebar-footer">
            <button type="button" className="button button-quiet" onClick={() => signOut()}>
              Sign out
            </button>
          </div>
        </aside>
        <main id="main" className="main" tabIndex={-1}>
          {children}
        </main>
      </div>
    </>
  );
}
