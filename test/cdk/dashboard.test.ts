import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../config/api-routes.ts';
import { CORS_ORIGIN_ENV } from '../../lambdas/adapters/http.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

describe('EddyStateless dashboard hosting', () => {
  let fx: EddyFixture;
  const id = (construct: Parameters<typeof logicalIdOf>[0]) => logicalIdOf(construct);
  /** `https://<distribution domain>`, as the template spells it. */
  const dashboardOrigin = () => ({
    'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [id(fx.stateless.dashboard.distribution), 'DomainName'] }]],
  });
  const distributionConfig = () =>
    fx.statelessTemplate.findResources('AWS::CloudFront::Distribution')[id(fx.stateless.dashboard.distribution)]
      ?.Properties.DistributionConfig;

  beforeAll(async () => {
    // GIVEN the default app
    // WHEN it is synthesized
    fx = await buildEddyApp();
  });

  describe('bucket', () => {
    it('blocks every kind of public access', () => {
      // THEN
      const bucket = fx.statelessTemplate.findResources('AWS::S3::Bucket')[id(fx.stateless.dashboard.bucket)];
      expect(bucket?.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    });

    it('encrypts its objects and keeps replaced files 30 days', () => {
      const bucket = fx.statelessTemplate.findResources('AWS::S3::Bucket')[id(fx.stateless.dashboard.bucket)];
      expect(bucket?.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
      expect(bucket?.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket?.Properties.LifecycleConfiguration).toEqual({
        Rules: [{ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }],
      });
    });

    it('refuses requests that do not use TLS', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id(fx.stateless.dashboard.bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('lets only the distribution read it, through origin access control', () => {
      // THEN its one Allow statement is s3:GetObject for CloudFront, from this distribution alone
      const policy = Object.values(
        fx.statelessTemplate.findResources('AWS::S3::BucketPolicy', {
          Properties: { Bucket: { Ref: id(fx.stateless.dashboard.bucket) } },
        }),
      )[0];
      const allows = policy?.Properties.PolicyDocument.Statement.filter(
        (s: { Effect: string }) => s.Effect === 'Allow',
      );
      expect(allows).toEqual([
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(fx.stateless.dashboard.bucket), 'Arn'] }, '/*']] },
          Condition: {
            StringEquals: {
              'AWS:SourceArn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':cloudfront::',
                    { Ref: 'AWS::AccountId' },
                    ':distribution/',
                    { Ref: id(fx.stateless.dashboard.distribution) },
                  ],
                ],
              },
            },
          },
        },
      ]);
      fx.statelessTemplate.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: Match.objectLike({
          OriginAccessControlOriginType: 's3',
          SigningBehavior: 'always',
          SigningProtocol: 'sigv4',
        }),
      });
      expect(distributionConfig().Origins).toEqual([
        expect.objectContaining({
          DomainName: { 'Fn::GetAtt': [id(fx.stateless.dashboard.bucket), 'RegionalDomainName'] },
          OriginAccessControlId: { 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] },
          // No origin access identity: OAC signs the requests instead.
          S3OriginConfig: { OriginAccessIdentity: '' },
        }),
      ]);
    });
  });

  describe('distribution', () => {
    it('serves HTTPS only, redirecting HTTP, and only GET and HEAD', () => {
      expect(distributionConfig().DefaultCacheBehavior).toMatchObject({
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
      });
      expect(distributionConfig().DefaultRootObject).toBe('index.html');
    });

    it('sends security headers with every answer: HSTS, CSP, nosniff, no framing, no referrer', () => {
      const policyId = distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId;
      const policy = fx.statelessTemplate.findResources('AWS::CloudFront::ResponseHeadersPolicy')[policyId.Ref];
      const headers = policy?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      expect(headers.StrictTransportSecurity).toEqual({
        AccessControlMaxAgeSec: 31_536_000,
        IncludeSubdomains: true,
        Override: true,
      });
      expect(headers.ContentTypeOptions).toEqual({ Override: true });
      expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(headers.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
      expect(headers.ContentSecurityPolicy.Override).toBe(true);
    });

    it("lets the page's scripts call its own origin and the API's, nothing else", () => {
      const policyId = distributionConfig().DefaultCacheBehavior.ResponseHeadersPolicyId;
      const policy = fx.statelessTemplate.findResources('AWS::CloudFront::ResponseHeadersPolicy')[policyId.Ref];
      const csp = policy?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy;
      expect(csp.ContentSecurityPolicy).toEqual({
        'Fn::Join': [
          '',
          [
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' https://",
            { Ref: id(fx.stateless.api.restApi) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          ],
        ],
      });
    });

    it('logs requests to the access log bucket', () => {
      expect(distributionConfig().Logging).toEqual({
        Bucket: { 'Fn::GetAtt': [id(fx.stateless.dashboard.logBucket), 'RegionalDomainName'] },
        Prefix: 'cloudfront/',
      });
      const bucket = fx.statelessTemplate.findResources('AWS::S3::Bucket')[id(fx.stateless.dashboard.bucket)];
      expect(bucket?.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: id(fx.stateless.dashboard.logBucket) },
        LogFilePrefix: 'content/',
      });
    });

    it('outputs its URL as DashboardUrl', () => {
      fx.statelessTemplate.hasOutput('DashboardUrl', {
        Value: {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [id(fx.stateless.dashboard.distribution), 'DomainName'] }, '/'],
          ],
        },
      });
    });
  });

  describe('files', () => {
    it('copies dashboard/, uPlot and config.json into the bucket, prunes the rest and invalidates the cache', () => {
      const [deployment] = Object.values(fx.statelessTemplate.findResources('Custom::CDKBucketDeployment'));
      expect(deployment?.Properties).toMatchObject({
        DestinationBucketName: { Ref: id(fx.stateless.dashboard.bucket) },
        Prune: true,
        DistributionId: { Ref: id(fx.stateless.dashboard.distribution) },
        DistributionPaths: ['/*'],
      });
      // dashboard/, uPlot's two files, config.json.
      expect(deployment?.Properties.SourceObjectKeys).toHaveLength(4);
    });

    it("writes the API's URL (its id, region and stage) into config.json", () => {
      const [deployment] = Object.values(fx.statelessTemplate.findResources('Custom::CDKBucketDeployment'));
      const markers = Object.values(deployment?.Properties.SourceMarkers[3]);
      expect(markers).toEqual(
        expect.arrayContaining([
          { Ref: id(fx.stateless.api.restApi) },
          { Ref: id(fx.stateless.api.restApi.deploymentStage) },
        ]),
      );
    });

    it('runs the copy under a role of its own, with no managed policy, logging to an encrypted log group', () => {
      const role = fx.stateless.dashboard.node.findChild('DeployRole');
      const resource = fx.statelessTemplate.findResources('AWS::IAM::Role')[id(role)];
      expect(resource?.Properties.ManagedPolicyArns).toBeUndefined();
      const logGroup = fx.stateless.dashboard.node.findChild('DeployLogs');
      expect(
        fx.statelessTemplate.findResources('AWS::Logs::LogGroup')[id(logGroup)]?.Properties.KmsKeyId,
      ).toBeDefined();
    });
  });

  describe('the API, for the dashboard in a browser', () => {
    const resources = [...new Set(API_ROUTES.map((r) => r.resource))];

    it.each(resources)(
      'answers the CORS preflight of %s for the dashboard origin only, without credentials',
      (path) => {
        const methods = fx.statelessTemplate.findResources('AWS::ApiGateway::Method', {
          Properties: {
            HttpMethod: 'OPTIONS',
            ResourceId: { Ref: logicalIdOf(fx.stateless.api.restApi.root.resourceForPath(path)) },
          },
        });
        const [preflight] = Object.values(methods).map((m) => m.Properties);
        expect(preflight.AuthorizationType).toBe('NONE');
        expect(preflight.Integration.Type).toBe('MOCK');
        const allowed = API_ROUTES.filter((r) => r.resource === path).map((r) => r.method);
        expect(preflight.Integration.IntegrationResponses[0].ResponseParameters).toEqual({
          'method.response.header.Access-Control-Allow-Headers': "'Content-Type,X-Api-Key,Idempotency-Key'",
          'method.response.header.Access-Control-Allow-Origin': {
            'Fn::Join': [
              '',
              ["'https://", { 'Fn::GetAtt': [id(fx.stateless.dashboard.distribution), 'DomainName'] }, "'"],
            ],
          },
          'method.response.header.Vary': "'Origin'",
          'method.response.header.Access-Control-Allow-Methods': `'${allowed.join(',')}'`,
          'method.response.header.Access-Control-Max-Age': "'3600'",
        });
      },
    );

    it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])("adds the dashboard origin to API Gateway's own %s answers", (type) => {
      fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: {
          'gatewayresponse.header.Access-Control-Allow-Origin': {
            'Fn::Join': [
              '',
              ["'https://", { 'Fn::GetAtt': [id(fx.stateless.dashboard.distribution), 'DomainName'] }, "'"],
            ],
          },
        },
      });
    });

    it.each(['ingest', 'query'] as const)('tells %s the dashboard origin, for the header on its answers', (name) => {
      const fn = fx.statelessTemplate.findResources('AWS::Lambda::Function')[logicalIdOf(fx.stateless[name])];
      expect(fn?.Properties.Environment.Variables[CORS_ORIGIN_ENV]).toEqual(dashboardOrigin());
    });
  });
});
