import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from '../config/load.ts';
import { addEddyStacks } from '../lib/eddy-app.ts';

// `cdk synth|deploy -c config=FILE` deploys your own views; `-c shards=N` a provisioned stream of N shards;
// `-c auth=apiKey` API keys instead of the default IAM (SigV4) authorization; `-c alertEmail=a@b.c,…`,
// `-c alertUrl=https://…`, `-c alertQueueArn=arn:aws:sqs:…` subscribe to the alerts topic every alarm publishes to.
const app = new App();
const configFile: unknown = app.node.tryGetContext('config');
const config = await loadConfigFile(typeof configFile === 'string' ? configFile : DEFAULT_CONFIG_FILE);

addEddyStacks(app, config);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

app.synth();
