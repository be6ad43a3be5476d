// Figures of a scenario: printed, and appended as a JSON line to RELIABILITY_FIGURES_FILE when set
// (`pnpm reliability` collects them into a table).
import { appendFileSync } from 'node:fs';

export type Figures = Record<string, string | number | boolean>;

export function report(scenario: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.info(`[reliability] ${scenario}: ${line}`);
  const file = process.env.RELIABILITY_FIGURES_FILE;
  if (file) appendFileSync(file, `${JSON.stringify({ scenario, ...figures })}\n`);
}
