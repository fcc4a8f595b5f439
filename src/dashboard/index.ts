import type { HttpRoute } from '../metrics/http.ts';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.ts';
import { gridSnapshot } from './data.ts';
import type { SnapshotSources } from './data.ts';

export type { GridSnapshot, SnapshotSources } from './data.ts';

/** Only our own files: no inline script, nothing loaded from elsewhere. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:";

/**
 * The read-only dashboard of --http-listen: the page (/), its stylesheet
 * and script, and the JSON it draws (/api/grid).
 */
export function dashboardRoutes(src: SnapshotSources): Record<string, HttpRoute> {
  const page: HttpRoute = () => ({
    type: 'text/html; charset=utf-8',
    body: PAGE_HTML,
    headers: { 'content-security-policy': CSP, 'x-frame-options': 'DENY' },
  });
  return {
    '/': page,
    '/index.html': page,
    '/dashboard.css': () => ({ type: 'text/css; charset=utf-8', body: PAGE_CSS }),
    '/dashboard.js': () => ({ type: 'text/javascript; charset=utf-8', body: PAGE_JS }),
    '/api/grid': async () => ({
      type: 'application/json',
      body: JSON.stringify(await gridSnapshot(src)) + '\n',
    }),
  };
}
