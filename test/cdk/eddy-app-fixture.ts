import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { loadConfigFile } from '../../config/load.ts';
import { addEddyStacks, type EddyStacks } from '../../lib/eddy-app.ts';

export interface FixtureOptions {
  /** CDK context, as `-c key=value` would give it. */
  readonly context?: Record<string, string>;
  /**
   * Bundle the handlers with esbuild. Off by default: templates do not depend on bundle contents, and
   * skipping it (as `cdk deploy --exclusively` does for other stacks) keeps template tests fast.
   */
  readonly bundle?: boolean;
}

export interface EddyFixture extends EddyStacks {
  readonly app: App;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
}

/** Builds the real app (config/views.ts, both stacks) the way bin/app.ts does. */
export async function buildEddyApp(options: FixtureOptions = {}): Promise<EddyFixture> {
  const config = await loadConfigFile();
  const app = new App({
    context: { ...options.context, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
    // CloudFormation schema validation runs on `npm run synth`; here it would add seconds to every file.
    builtinCloudFormationValidation: false,
  });
  const stacks = addEddyStacks(app, config);
  return {
    app,
    ...stacks,
    statefulTemplate: Template.fromStack(stacks.stateful),
    statelessTemplate: Template.fromStack(stacks.stateless),
  };
}

/** Every action the inline policies attached to `role` allow. */
export function policyActions(template: Template, role: iam.IRole): string[] {
  const roleRef = JSON.stringify({ Ref: logicalIdOf(role) });
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
    Properties: {
      Roles: unknown[];
      PolicyDocument: { Statement: Array<{ Effect: string; Action: string | string[] }> };
    };
  }>;
  return policies
    .filter((policy) => policy.Properties.Roles.some((r) => JSON.stringify(r) === roleRef))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .filter((statement) => statement.Effect === 'Allow')
    .flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
}

interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** Every Allow statement of the inline policies attached to `role`. */
export function policyStatements(template: Template, role: iam.IRole): PolicyStatementJson[] {
  const roleRef = JSON.stringify({ Ref: logicalIdOf(role) });
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as Array<{
    Properties: { Roles: unknown[]; PolicyDocument: { Statement: PolicyStatementJson[] } };
  }>;
  return policies
    .filter((policy) => policy.Properties.Roles.some((r) => JSON.stringify(r) === roleRef))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .filter((statement) => statement.Effect === 'Allow');
}

/** The statements of `role` on the state table's items (not its stream), with their `dynamodb:LeadingKeys`. */
export function tableStatements(
  template: Template,
  role: iam.IRole,
): Array<{ actions: string[]; leadingKeys: string[] }> {
  return policyStatements(template, role)
    .filter(
      (s) => /StateTable[^"]*Arn/.test(JSON.stringify(s.Resource)) && !/StreamArn/.test(JSON.stringify(s.Resource)),
    )
    .map((s) => {
      const keys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? [];
      return {
        actions: Array.isArray(s.Action) ? s.Action : [s.Action],
        leadingKeys: Array.isArray(keys) ? keys : [keys],
      };
    });
}

/** The logical id of `construct`'s CloudFormation resource (its `Ref`), e.g. to find the function a role belongs to. */
export function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!CfnElement.isCfnElement(resource)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(resource);
}
