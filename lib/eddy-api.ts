import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_ROUTES, type ApiFunction } from '../config/api-routes.ts';
import { LOG_RETENTION } from './eddy-function.ts';

/** Stage name: the version in every URL. */
export const API_STAGE = 'v1';

/**
 * Requests per second (steady) and burst for the stage as a whole, so the unauthenticated `/health` is capped
 * too, and for the API key's usage plan in `apiKey` mode. Well under the account's default 10,000 rps, and
 * about what one on-demand stream takes in before it has scaled (1,000 records/s per shard, packed many
 * events each).
 */
export const API_THROTTLE = { rateLimit: 1_000, burstLimit: 2_000 } as const;

/**
 * How callers of every route but `/health` prove who they are (`cdk deploy -c auth=...`):
 * - `iam`: requests signed with SigV4 by a principal allowed `execute-api:Invoke` (see `EddyApi.invokePolicy`).
 * - `apiKey`: an API key in the `x-api-key` header, throttled per key by a usage plan. AWS advises against
 *   API keys as authentication (they identify callers for usage plans); use this mode for callers that
 *   cannot sign requests, such as a dashboard in a browser.
 */
export const API_AUTH_MODES = ['iam', 'apiKey'] as const;
export type ApiAuth = (typeof API_AUTH_MODES)[number];

export interface EddyApiProps {
  /** The function behind each `function` named in `API_ROUTES`. */
  readonly functions: Readonly<Record<ApiFunction, lambda.IFunction>>;
  /** How callers of the routes marked `authenticated` in `API_ROUTES` prove who they are. */
  readonly auth: ApiAuth;
  /** Encrypts the access log group; its key policy must let CloudWatch Logs in this region use it. */
  readonly logKey: kms.IKey;
}

/**
 * The REST API built from the route table in config/api-routes.ts: Lambda proxy integrations, IAM (SigV4)
 * authorization or API keys with a usage plan, request validation, encrypted JSON access logs and X-Ray
 * tracing on stage `v1`.
 */
export class EddyApi extends Construct {
  readonly restApi: apigateway.RestApi;
  readonly auth: ApiAuth;
  /** `iam` only: allows `execute-api:Invoke` on every authenticated route; attach it to the callers' roles. */
  readonly invokePolicy?: iam.ManagedPolicy;
  /** `apiKey` only: the key callers send as `x-api-key`. */
  readonly apiKey?: apigateway.IApiKey;
  /** `apiKey` only: throttles each key. */
  readonly usagePlan?: apigateway.UsagePlan;

  constructor(scope: Construct, id: string, props: EddyApiProps) {
    super(scope, id);
    this.auth = props.auth;
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: LOG_RETENTION,
      encryptionKey: props.logKey,
    });

    this.restApi = new apigateway.RestApi(this, 'RestApi', {
      description: 'Eddy: post events, read windowed results',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // API Gateway writes access and execution logs through one account-wide role; without it the stage's
      // logging settings fail to deploy in a fresh account.
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
        // Execution logs for failed requests only; request and response bodies are never logged.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: API_THROTTLE.rateLimit,
        throttlingBurstLimit: API_THROTTLE.burstLimit,
      },
    });

    // Checks that path parameters such as {view} are present. Bodies are validated by the ingest handler,
    // which names the bad record's index, something a JSON schema model here could not do.
    const requestValidator = this.restApi.addRequestValidator('RequestValidator', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });

    const integrations = new Map<ApiFunction, apigateway.LambdaIntegration>();
    const integrationFor = (fn: ApiFunction) => {
      let integration = integrations.get(fn);
      if (!integration) {
        // No extra permission for the console's test button: half the statements in each function's policy.
        integration = new apigateway.LambdaIntegration(props.functions[fn], { allowTestInvoke: false });
        integrations.set(fn, integration);
      }
      return integration;
    };

    const iamAuth = props.auth === 'iam';
    for (const route of API_ROUTES) {
      const pathParameters = [...route.resource.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const method = this.restApi.root
        .resourceForPath(route.resource)
        .addMethod(route.method, integrationFor(route.function), {
          authorizationType:
            route.authenticated && iamAuth ? apigateway.AuthorizationType.IAM : apigateway.AuthorizationType.NONE,
          apiKeyRequired: route.authenticated && !iamAuth,
          requestValidator,
          requestParameters: Object.fromEntries(pathParameters.map((name) => [`method.request.path.${name}`, true])),
        });
      if (!route.authenticated) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Public by design (config/api-routes.ts): load balancers and uptime checks call it without credentials, it reveals nothing but readiness, and the stage throttle caps it.',
        });
      }
    }

    if (iamAuth) {
      this.invokePolicy = this.createInvokePolicy();
    } else {
      this.apiKey = this.restApi.addApiKey('ApiKey', { description: 'Eddy API key (send as x-api-key)' });
      this.usagePlan = this.restApi.addUsagePlan('UsagePlan', {
        description: 'Eddy API throttling per key',
        throttle: API_THROTTLE,
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
      this.usagePlan.addApiKey(this.apiKey);
    }

    this.acknowledgeNagFindings();
  }

  /**
   * Lets pages from `origin` (the hosted dashboard, `https://<distribution>.cloudfront.net`) call the API from a
   * browser: every resource of the route table answers the CORS preflight (an OPTIONS method, which browsers
   * send without credentials), and API Gateway's own error answers (403, 429, 5xx) carry the origin too, so the
   * page sees them instead of an opaque network error. The functions add it to their own answers when given
   * `CORS_ORIGIN_ENV` (lambdas/adapters/http.ts).
   */
  allowBrowserOrigin(origin: string): void {
    for (const path of new Set(API_ROUTES.map((route) => route.resource))) {
      this.restApi.root.resourceForPath(path).addCorsPreflight({
        allowOrigins: [origin],
        allowMethods: API_ROUTES.filter((route) => route.resource === path).map((route) => route.method),
        allowHeaders: ['Content-Type', 'X-Api-Key', 'Idempotency-Key'],
        maxAge: Duration.hours(1),
      });
    }
    for (const [id, type] of [
      ['Default4xx', apigateway.ResponseType.DEFAULT_4XX],
      ['Default5xx', apigateway.ResponseType.DEFAULT_5XX],
    ] as const) {
      this.restApi.addGatewayResponse(id, { type, responseHeaders: { 'Access-Control-Allow-Origin': `'${origin}'` } });
    }
  }

  /**
   * `execute-api:Invoke` on exactly the authenticated routes of stage `v1` (path parameters become `*`, as
   * API Gateway matches them), so attaching it grants nothing on other APIs or stages.
   */
  private createInvokePolicy(): iam.ManagedPolicy {
    const routeArns = API_ROUTES.filter((route) => route.authenticated).map((route) => ({
      route,
      arn: this.restApi.arnForExecuteApi(route.method, route.resource.replace(/\{\w+\}/g, '*'), API_STAGE),
    }));
    const policy = new iam.ManagedPolicy(this, 'InvokePolicy', {
      description: 'Eddy: call the Eddy API (every route but /health) with SigV4-signed requests',
      statements: [
        new iam.PolicyStatement({ actions: ['execute-api:Invoke'], resources: routeArns.map((r) => r.arn) }),
      ],
    });
    // cdk-nag names each wildcard resource as it flattens it: tokens become <LogicalId> or <AWS::Pseudo>.
    const restApiId = Stack.of(this).getLogicalId(this.restApi.node.defaultChild as CfnElement);
    for (const { route } of routeArns.filter((r) => r.route.resource.includes('{'))) {
      const path = route.resource.replace(/\{\w+\}/g, '*');
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${restApiId}>/${API_STAGE}/${route.method}${path}]`,
        reason: `The * stands for the path parameter of ${route.method} ${route.resource}: any value of it, on this API and stage only.`,
      });
    }
    return policy;
  }

  private acknowledgeNagFindings(): void {
    const api = Validations.of(this.restApi);
    api.acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The request validator checks required path parameters. Bodies are not validated here: they are batches of arbitrary user events, checked by the ingest handler, which names each bad record by index; a JSON schema model could only say the whole body was rejected.',
    });
    if (this.auth === 'apiKey') {
      api.acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Deployed with -c auth=apiKey: callers that cannot sign requests (such as a browser dashboard) send an API key, and a usage plan throttles each key; the default, -c auth=iam, authorizes every route but /health with IAM. /health is public by design (config/api-routes.ts).',
      });
    }
    api.acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        this.auth === 'iam'
          ? 'No Cognito user pool: callers are machines (producers, the CLI, services) authorized by IAM with SigV4-signed requests, not signed-in users; /health is public by design.'
          : 'No Cognito user pool: callers are machines and a dashboard identified by API keys with a usage plan, not signed-in users (deployed with -c auth=apiKey; the default is IAM authorization).',
    });
    const gate =
      this.auth === 'iam'
        ? 'requests need the SigV4 signature of an allowed IAM principal and are throttled by the stage'
        : 'requests need an API key and are throttled by the stage and the usage plan';
    api.acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: `No WAF web ACL: ${gate}; a WAF would add a fixed monthly cost to a pay-per-use pipeline. Attach one per deployment if the API is exposed to untrusted traffic.`,
    });
    api.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-wide logging role uses the AWS managed policy made for exactly this purpose; it only creates and writes log groups and streams.",
    });
  }
}
