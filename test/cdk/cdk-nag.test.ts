import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildEddyApp, type EddyFixture } from './eddy-app-fixture.ts';

describe('cdk-nag AwsSolutions', () => {
  let findings: Array<{ rule: string; severity: string; paths: string[] }>;

  beforeAll(async () => {
    // GIVEN the whole app: by default (IAM authorization, on-demand stream), with -c auth=apiKey (API keys and
    // a usage plan), with -c shards (a provisioned stream) and with a subscription of each kind to the alerts
    const fixtures: EddyFixture[] = [
      await buildEddyApp(),
      await buildEddyApp({ context: { auth: 'apiKey' } }),
      await buildEddyApp({ context: { shards: '2' } }),
      await buildEddyApp({
        context: {
          alertEmail: 'ops@example.com',
          alertUrl: 'https://hooks.example.com/eddy',
          alertQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:eddy-alerts',
        },
      }),
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
