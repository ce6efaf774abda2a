import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEddyApp, type EddyFixture } from './eddy-app-fixture.ts';

describe('cdk-nag AwsSolutions', () => {
  let findings: Array<{ rule: string; severity: string; paths: string[] }>;

  beforeAll(async () => {
    // GIVEN the whole app: by default (IAM authorization, on-demand stream), with -c auth=apiKey (API keys and
    // a usage plan) and with -c shards (a provisioned stream)
    const fixtures: EddyFixture[] = [
      await buildEddyApp(),
      await buildEddyApp({ context: { auth: 'apiKey' } }),
      await buildEddyApp({ context: { shards: '2' } }),
    ];
    // WHEN the AwsSolutions pack checks it (the plugin bin/app.ts registers, invoked directly)
    findings = fixtures.flatMap((fx) =>
      new AwsSolutionsChecks().validateScope(fx.app).violations.map((v) => ({
        rule: v.ruleName,
        severity: v.severity ?? 'error',
        paths: v.violatingResources.map((r) => r.constructPath ?? '?'),
      })),
    );
  });

  it('finds no unacknowledged errors', () => {
    expect(findings.filter((f) => f.severity !== 'warning')).toEqual([]);
  });

  it('finds no unacknowledged warnings', () => {
    expect(findings.filter((f) => f.severity === 'warning')).toEqual([]);
  });
});
