import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../config/api-routes.ts';
import { API_STAGE, API_THROTTLE } from '../../lib/eddy-api.ts';
import { apiAuthFromContext } from '../../lib/eddy-app.ts';
import { buildEddyApp, type EddyFixture, logicalIdOf } from './eddy-app-fixture.ts';

const AUTHENTICATED = API_ROUTES.filter((r) => r.authenticated).map((r) => [r.method, r.resource] as const);
const resourceRefIn = (fx: EddyFixture, path: string) => ({
  Ref: logicalIdOf(fx.stateless.api.restApi.root.resourceForPath(path)),
});

describe('EddyStateless REST API', () => {
  let fx: EddyFixture;
  const resourceRef = (path: string) => resourceRefIn(fx, path);

  beforeAll(async () => {
    // GIVEN the routes in config/api-routes.ts and no auth context
    // WHEN the app is synthesized
    fx = await buildEddyApp();
  });

  it('authenticates callers everywhere except GET /health', () => {
    const open = API_ROUTES.filter((r) => !r.authenticated).map((r) => `${r.method} ${r.resource}`);
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

  it('throttles the whole stage, so the unauthenticated /health is capped', () => {
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

  it('outputs the API URL', () => {
    fx.statelessTemplate.hasOutput('ApiUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['https://', { Ref: logicalIdOf(fx.stateless.api.restApi) }])] },
    });
  });

  describe('with the default auth (no -c auth): IAM', () => {
    it.each(AUTHENTICATED)('%s %s needs a SigV4-signed request and no API key', (method, resource) => {
      fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: method,
        ResourceId: resourceRef(resource),
        AuthorizationType: 'AWS_IAM',
        ApiKeyRequired: false,
      });
    });

    it('leaves GET /health open', () => {
      fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'GET',
        ResourceId: resourceRef('/health'),
        AuthorizationType: 'NONE',
        ApiKeyRequired: false,
      });
    });

    it.each([['AWS::ApiGateway::ApiKey'], ['AWS::ApiGateway::UsagePlan'], ['AWS::ApiGateway::UsagePlanKey']])(
      'creates no %s',
      (type) => {
        fx.statelessTemplate.resourceCountIs(type, 0);
      },
    );

    it('offers a managed policy that allows execute-api:Invoke on exactly the authenticated routes of stage v1', () => {
      const arnOf = (method: string, resource: string) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':execute-api:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            ':',
            { Ref: logicalIdOf(fx.stateless.api.restApi) },
            `/${API_STAGE}/${method}${resource.replace('{view}', '*')}`,
          ],
        ],
      });
      fx.statelessTemplate.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'execute-api:Invoke',
              Resource: AUTHENTICATED.map(([method, resource]) => arnOf(method, resource)),
            },
          ],
        },
      });
    });

    it('outputs the invoke policy ARN', () => {
      fx.statelessTemplate.hasOutput('ApiInvokePolicyArn', {
        Value: { Ref: logicalIdOf(fx.stateless.api.invokePolicy!) },
      });
    });

    it('outputs a curl command that signs a GET /status with SigV4 for execute-api in the stack region', () => {
      fx.statelessTemplate.hasOutput('ApiCallExample', {
        Value: {
          'Fn::Join': [
            '',
            Match.arrayWith([
              'curl --aws-sigv4 "aws:amz:',
              { Ref: 'AWS::Region' },
              ':execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN" https://',
              { Ref: logicalIdOf(fx.stateless.api.restApi) },
              '/status',
            ]),
          ],
        },
      });
    });

    it.each(['ApiKeyId', 'ApiKeyCommand'])('outputs no %s', (name) => {
      expect(Object.keys(fx.statelessTemplate.findOutputs(name))).toEqual([]);
    });
  });
});

describe('EddyStateless REST API with -c auth=apiKey', () => {
  let fx: EddyFixture;
  const resourceRef = (path: string) => resourceRefIn(fx, path);

  beforeAll(async () => {
    // GIVEN -c auth=apiKey
    // WHEN the app is synthesized
    fx = await buildEddyApp({ context: { auth: 'apiKey' } });
  });

  it.each(AUTHENTICATED)('%s %s needs an API key and no signature', (method, resource) => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: method,
      ResourceId: resourceRef(resource),
      AuthorizationType: 'NONE',
      ApiKeyRequired: true,
    });
  });

  it('leaves GET /health open', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      ResourceId: resourceRef('/health'),
      AuthorizationType: 'NONE',
      ApiKeyRequired: false,
    });
  });

  it('throttles the API key through a usage plan on the v1 stage', () => {
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: API_THROTTLE.rateLimit, BurstLimit: API_THROTTLE.burstLimit },
      ApiStages: [{ ApiId: { Ref: logicalIdOf(fx.stateless.api.restApi) }, Stage: { Ref: Match.anyValue() } }],
    });
    fx.statelessTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: logicalIdOf(fx.stateless.api.apiKey!) },
      KeyType: 'API_KEY',
      UsagePlanId: { Ref: logicalIdOf(fx.stateless.api.usagePlan!) },
    });
  });

  it('creates no invoke policy', () => {
    fx.statelessTemplate.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  it('outputs the key id and the command that prints the key', () => {
    const keyRef = { Ref: logicalIdOf(fx.stateless.api.apiKey!) };
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

  it.each(['ApiInvokePolicyArn', 'ApiCallExample'])('outputs no %s', (name) => {
    expect(Object.keys(fx.statelessTemplate.findOutputs(name))).toEqual([]);
  });
});

describe('-c auth', () => {
  const authOf = (auth: string) => apiAuthFromContext(new App({ context: { auth } }));

  it('defaults to iam', () => {
    expect(apiAuthFromContext(new App())).toBe('iam');
  });

  it.each(['iam', 'apiKey'] as const)('accepts auth=%s', (auth) => {
    expect(authOf(auth)).toBe(auth);
  });

  it.each(['IAM', 'apikey', 'none', ''])('refuses auth=%j, naming the value and the accepted ones', (auth) => {
    expect(() => authOf(auth)).toThrow(`context 'auth' must be one of "iam", "apiKey" (given ${JSON.stringify(auth)})`);
  });
});
