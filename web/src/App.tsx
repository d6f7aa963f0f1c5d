import { type ReactNode, useEffect } from 'react';
import { Layout } from './components/Layout';
import { AgentPage } from './pages/AgentPage';
import { AgentsPage } from './pages/AgentsPage';
import { ApiKeysPage } from './pages/ApiKeysPage';
import { DeliveriesPage } from './pages/DeliveriesPage';
import { DeliveryPage } from './pages/DeliveryPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OverviewPage } from './pages/OverviewPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { TestHistoryPage } from './pages/TestHistoryPage';
import { WebhookSettingsPage } from './pages/WebhookSettingsPage';
import { matchPath, navigate, useLocation } from './router';
import { getApiKey } from './session';

type Params = Record<string, string>;

const ROUTES: [pattern: string, render: (params: Params) => ReactNode][] = [
  ['/', () => <OverviewPage />],
  ['/settings', () => <Redirect to="/settings/webhooks" />],
  ['/settings/webhooks', () => <WebhookSettingsPage />],
  ['/agents', () => <AgentsPage />],
  ['/agents/:id', (p) => <AgentPage agentId={p.id!} />],
  ['/agents/:id/tests/:testId', (p) => <TestHistoryPage agentId={p.id!} testId={p.testId!} />],
  ['/runs', () => <RunsPage />],
  ['/runs/:id', (p) => <RunPage runId={p.id!} />],
  ['/deliveries', () => <DeliveriesPage />],
  ['/deliveries/:id', (p) => <DeliveryPage deliveryId={p.id!} />],
  ['/api-keys', () => <ApiKeysPage />],
];

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

export function App() {
  const location = useLocation();
  const { pathname } = location;

  if (pathname === '/login') return <LoginPage />;

  if (!getApiKey()) {
    const here = pathname + (location.search.toString() ? `?${location.search}` : '');
    return <Redirect to={here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`} />;
  }

  let page: ReactNode = <NotFoundPage />;
  for (const [pattern, render] of ROUTES) {
    const params = matchPath(pattern, pathname);
    if (params) {
      page = render(params);
      break;
    }
  }
  // Keyed by path, so moving from one agent to another starts the screen afresh.
  return <Layout key="layout">{<div key={pathname}>{page}</div>}</Layout>;
}
