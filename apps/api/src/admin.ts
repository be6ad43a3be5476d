import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Express, RequestHandler, Response } from 'express';

/**
 * The admin panel (apps/admin) at /admin. Its routes are registered on the app itself, not on a
 * sub-router, so the OpenAPI test that lists the app's routes sees them.
 */

/** No inline script or style anywhere in the panel, so none is allowed. */
export const ADMIN_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const ASSET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/** apps/admin/dist, found through the workspace dependency; null when the package is not installed. */
export function adminDistDir(): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('@webhooks/admin/package.json');
    return join(dirname(manifest), 'dist');
  } catch {
    return null;
  }
}

export function mountAdmin(app: Express, distDir: string | null = adminDistDir()): void {
  const secure: RequestHandler = (_req, res, next) => {
    res.setHeader('content-security-policy', ADMIN_CSP);
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    next();
  };

  app.get('/admin', secure, (req, res) => {
    // Asset URLs are relative (the panel may sit behind a path prefix), so they need the slash.
    const path = req.originalUrl.split('?')[0] ?? '';
    if (!path.endsWith('/')) {
      res.redirect(301, 'admin/');
      return;
    }
    if (!distDir || !existsSync(join(distDir, 'index.html'))) {
      notBuilt(res);
      return;
    }
    res.type('html').sendFile('index.html', { root: distDir, dotfiles: 'deny' });
  });

  app.get('/admin/assets/:file', secure, (req, res, next) => {
    const file = req.params.file;
    if (typeof file !== 'string' || !ASSET.test(file) || !distDir) {
      next();
      return;
    }
    const assets = join(distDir, 'assets');
    if (!existsSync(join(assets, file))) {
      next();
      return;
    }
    // File names carry a content hash: they never change, so browsers may keep them.
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.sendFile(file, { root: assets, dotfiles: 'deny' });
  });
}

function notBuilt(res: Response): void {
  res
    .status(503)
    .type('text/plain')
    .send('The admin panel is not built. Run `pnpm build` (or `pnpm --filter @webhooks/admin build`), then reload.\n');
}
