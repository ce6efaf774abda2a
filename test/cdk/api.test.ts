import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../config/api-routes.ts';
import { API_STAGE, API_THROTTLE } from '../../lib/eddy-api.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

describe('EddyStateless REST API', () => {
  let fx: EddyFixture;
  const resourceRef = (path: string) => ({ Ref: logicalIdOf(fx.stateless.api.restApi.root.resourceForPath(path)) });

  beforeAll(async () => {
    // GIVEN the routes in config/api-routes.ts
    // WHEN the app is synthesized
    fx = await buildEddyApp();
  });

  it.each(API_ROUTES.map((r) => [r.method, r.resource, r.apiKeyRequired] as const))(
    '%s %s requires an API key: %s',
    (method, resource, apiKeyRequired) => {
      fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: method,
        ResourceId: resourceRef(resource),
        ApiKeyRequired: apiKeyRequired,
      });
    },
  );

  it('requires an API key everywhere except GET /health', () => {
    const open = API_ROUTES.filter((r) => !r.apiKeyRequired).map((r) => `${r.method} ${r.resource}`);
    expect(open).toEqual(['GET /health']);
  });

  it.each(API_ROUTES.map((r) => [r.method, r.resource, r.function] as const))(
    '%s %s is a Lambda proxy integration to %s',
    (method, resource, fn) => {
      const methods = fx.statelessTemplate.findResources('AWS::ApiGateway::Method', {
        Properties: { HttpMethod: method, ResourceId: resourceRef(resource) },
      });
      const [integration] = Object.values(methods).map((m) => m.Properties.Integration);
      expect(integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(JSON.stringify(integration.Uri)).toContain(logicalIdOf(fx.stateless[fn]));
    },
  );

  it('validates the {view} path parameter of GET /views/{view}/results', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
      ResourceId: resourceRef('/views/{view}/results'),
      RequestParameters: { 'method.request.path.view': true },
      RequestValidatorId: { Ref: Match.stringLikeRegexp('RequestValidator') },
    });
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestParameters: true,
    });
  });

  it('throttles API keys through a usage plan on the v1 stage', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: API_THROTTLE.rateLimit, BurstLimit: API_THROTTLE.burstLimit },
      ApiStages: [{ ApiId: { Ref: logicalIdOf(fx.stateless.api.restApi) }, Stage: { Ref: Match.anyValue() } }],
    });
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: logicalIdOf(fx.stateless.api.apiKey) },
      KeyType: 'API_KEY',
      UsagePlanId: { Ref: logicalIdOf(fx.stateless.api.usagePlan) },
    });
  });

  it('throttles the whole stage too, so the unauthenticated /health is capped', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: API_THROTTLE.rateLimit,
          ThrottlingBurstLimit: API_THROTTLE.burstLimit,
        }),
      ]),
    });
  });

  it('writes JSON access logs of stage v1 to its own log group', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: API_STAGE,
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('^\\{"requestId":"\\$context.requestId",.*"status":"\\$context.status"'),
      },
    });
  });

  it('traces stage v1 with X-Ray and logs errors without bodies', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: API_STAGE,
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({ LoggingLevel: 'ERROR', DataTraceEnabled: false, HttpMethod: '*', ResourcePath: '/*' }),
      ]),
    });
  });

  it('outputs the API URL, the key id and the command that prints the key', () => {
    const keyRef = { Ref: logicalIdOf(fx.stateless.api.apiKey) };
    fx.statelessTemplate.hasOutput('ApiUrl', {});
    fx.statelessTemplate.hasOutput('ApiKeyId', { Value: keyRef });
    fx.statelessTemplate.hasOutput('ApiKeyCommand', {
      Value: {
        'Fn::Join': [
          '',
          ['aws apigateway get-api-key --api-key ', keyRef, ' --include-value --query value --output text'],
        ],
      },
    });
  });
});
