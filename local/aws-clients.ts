import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The emulators accept any credentials; the SDK only needs some to sign with. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';
/** kinesis-local namespaces streams under this account unless the access key id is a 12-digit account id. */
export const LOCAL_ACCOUNT_ID = '000000000000';

function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    // The SDK's default handler negotiates HTTP/2 for Kinesis, which kinesis-local does not speak.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout: 30_000 }),
    // Against a local emulator a failure is a bug or a shutdown, not a throttle: fail fast and let callers decide.
    maxAttempts: 2,
  };
}

export function localKinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient(clientConfig(endpoint));
}

export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient(clientConfig(endpoint));
}
