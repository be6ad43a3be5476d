import { describeProviderProblems, type WebhookProvider } from '@webhooks/core';

export class ProviderLoadError extends Error {
  override readonly name = 'ProviderLoadError';
}

/**
 * Loads contributed providers by package name (WEBHOOKS_PROVIDERS). Each package's default export
 * must be a WebhookProvider; anything else stops start-up with exactly what is wrong.
 */
export async function loadProviders(packageNames: readonly string[]): Promise<WebhookProvider[]> {
  const providers: WebhookProvider[] = [];
  for (const name of packageNames) {
    let module: { default?: unknown };
    try {
      module = (await import(name)) as { default?: unknown };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new ProviderLoadError(`Provider package '${name}' could not be loaded: ${reason}`);
    }
    // A CJS package imported from ESM may nest its default export once more.
    let candidate = module.default;
    if (candidate && typeof candidate === 'object' && 'default' in candidate && !('verify' in candidate)) {
      candidate = (candidate as { default: unknown }).default;
    }
    if (candidate === undefined) {
      throw new ProviderLoadError(
        `Provider package '${name}' has no default export; export default defineProvider({ ... })`,
      );
    }
    const problems = describeProviderProblems(candidate);
    if (problems.length > 0) {
      throw new ProviderLoadError(
        `Provider package '${name}' does not export a WebhookProvider: ${problems.join('; ')}`,
      );
    }
    providers.push(candidate as WebhookProvider);
  }
  return providers;
}
