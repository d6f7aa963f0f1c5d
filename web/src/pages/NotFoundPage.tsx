import { Page } from '../components/Page';
import { Link } from '../router';

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        There is no screen at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </Page>
  );
}
