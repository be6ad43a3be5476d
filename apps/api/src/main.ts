#!/usr/bin/env node
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createRuntime } from './runtime.js';

// Start-up problems are printed as one clear message, never a stack trace.
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  let runtime: Awaited<ReturnType<typeof createRuntime>>;
  try {
    runtime = await createRuntime(config, logger);
  } catch (error) {
    process.stderr.write(`Cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }

  const server = createServer(runtime.listener);
  server.listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  }).catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(`Cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}\n`);
    process.exit(1);
  });

  const lines = [
    `Webhook receiver listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`,
    `  webhook URLs: ${config.publicBaseUrl}/webhooks/<registrationId>`,
    ...runtime.description.map((d) => `  ${d}`),
    '  API docs: /openapi.json   health: /webhooks/health   metrics: /metrics',
  ];
  if (config.apiKeys.length === 0 && !config.jwt) {
    lines.push(
      '  API keys: none configured. Create one with `pnpm api-key create <tenantId>`',
      '            or start with WEBHOOKS_API_KEYS=<tenantId>:<key of 16+ characters>',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    // Stop accepting, let requests in flight finish, then stop background work and connections.
    server.close(async () => {
      await runtime.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => {
      logger.error('shutdown took longer than 30 s; exiting');
      process.exit(1);
    }, 30_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
