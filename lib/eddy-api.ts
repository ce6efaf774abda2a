import { Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_ROUTES, type ApiFunction } from '../config/api-routes.ts';
import { LOG_RETENTION } from './eddy-function.ts';

/** Stage name: the version in every URL. */
export const API_STAGE = 'v1';

/**
 * Requests per second (steady) and burst for the API key's usage plan and for the stage as a whole, so
 * the unauthenticated `/health` is capped too. Well under the account's default 10,000 rps, and about what
 * one on-demand stream takes in before it has scaled (1,000 records/s per shard, packed many events each).
 */
export const API_THROTTLE = { rateLimit: 1_000, burstLimit: 2_000 } as const;

export interface EddyApiProps {
  /** The function behind each `function` named in `API_ROUTES`. */
  readonly functions: Readonly<Record<ApiFunction, lambda.IFunction>>;
}

/**
 * The REST API built from the route table in config/api-routes.ts: Lambda proxy integrations, API keys,
 * a usage plan, request validation, JSON access logs and X-Ray tracing on stage `v1`.
 */
export class EddyApi extends Construct {
  readonly restApi: apigateway.RestApi;
  readonly apiKey: apigateway.IApiKey;
  readonly usagePlan: apigateway.UsagePlan;

  constructor(scope: Construct, id: string, props: EddyApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: LOG_RETENTION });

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

    for (const route of API_ROUTES) {
      const pathParameters = [...route.resource.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      this.restApi.root.resourceForPath(route.resource).addMethod(route.method, integrationFor(route.function), {
        apiKeyRequired: route.apiKeyRequired,
        requestValidator,
        requestParameters: Object.fromEntries(pathParameters.map((name) => [`method.request.path.${name}`, true])),
      });
    }

    this.apiKey = this.restApi.addApiKey('ApiKey', { description: 'Eddy API key (send as x-api-key)' });
    this.usagePlan = this.restApi.addUsagePlan('UsagePlan', {
      description: 'Eddy API throttling per key',
      throttle: API_THROTTLE,
      apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);

    this.acknowledgeNagFindings();
  }

  private acknowledgeNagFindings(): void {
    const api = Validations.of(this.restApi);
    api.acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The request validator checks required path parameters. Bodies are not validated here: they are batches of arbitrary user events, checked by the ingest handler, which names each bad record by index; a JSON schema model could only say the whole body was rejected.',
    });
    api.acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Callers are machines (producers, the CLI, the dashboard) identified by API keys with a usage plan; there are no end users to authorize. /health is public by design (config/api-routes.ts).',
    });
    api.acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'No Cognito user pool: the API is called by machines with API keys, not by signed-in users (see AwsSolutions-APIG4).',
    });
    api.acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF web ACL: requests need an API key and are throttled by the stage and the usage plan; a WAF would add a fixed monthly cost to a pay-per-use pipeline. Attach one per deployment if the API is exposed to untrusted traffic.',
    });
    api.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "API Gateway's account-wide logging role uses the AWS managed policy made for exactly this purpose; it only creates and writes log groups and streams.",
    });
  }
}
