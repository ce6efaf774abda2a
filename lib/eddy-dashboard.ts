import { readFileSync } from 'node:fs';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import {
  DASHBOARD_CONFIG_FILE,
  DASHBOARD_DIR,
  DASHBOARD_VENDOR_FILES,
  type DashboardConfig,
  dashboardContentSecurityPolicy,
} from '../config/dashboard-files.ts';
import { LOG_RETENTION } from './eddy-function.ts';

export interface EddyDashboardProps {
  /** Base URL of the API, ending in `/`: written to `config.json`, so users enter only their API key. */
  readonly apiUrl: string;
  /**
   * Scheme and host of the API (`https://<id>.execute-api.<region>.amazonaws.com`), the one origin besides its
   * own the dashboard may send requests to (Content-Security-Policy `connect-src`).
   */
  readonly apiOrigin: string;
  /** Encrypts the log group of the function that copies the files into the bucket. */
  readonly logKey: kms.IKey;
}

/** How long the access logs of the dashboard (S3 server access logs, CloudFront standard logs) are kept. */
const ACCESS_LOG_DAYS = 90;
/** Files replaced by a deployment stay restorable this long (the bucket is versioned). */
const NONCURRENT_VERSION_DAYS = 30;
/** The id under which BucketDeployment adds its one function per stack (`Custom::CDKBucketDeployment` + uuid). */
const BUCKET_DEPLOYMENT_HANDLER_ID = 'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C';

/**
 * The dashboard, hosted: a private S3 bucket (all public access blocked, S3-managed encryption, TLS only,
 * versioned) read by a CloudFront distribution through origin access control, HTTPS only (HTTP redirects),
 * with security response headers; `dashboard/` and uPlot's browser build copied in at deploy time, with
 * `config.json` naming the API. Access logs of both go to a log bucket.
 *
 * The distribution uses CloudFront's default certificate (`*.cloudfront.net`); a custom domain would bring
 * its own certificate and a minimum TLS version.
 */
export class EddyDashboard extends Construct {
  readonly bucket: s3.Bucket;
  readonly logBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>`: the origin the API answers CORS requests from. */
  readonly origin: string;
  /** The dashboard's address: `origin` + `/`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: EddyDashboardProps) {
    super(scope, id);

    // 1. Access logs. CloudFront's standard logs are delivered with an ACL, so this bucket keeps ACLs
    //    (bucket owner preferred); it is as private as the content bucket otherwise.
    this.logBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(ACCESS_LOG_DAYS) }],
    });

    // 2. The files: private, readable by the distribution alone (origin access control, below).
    this.bucket = new s3.Bucket(this, 'Content', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS) }],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'content/',
    });

    // 3. Security headers on every answer.
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Eddy dashboard: CSP, HSTS, nosniff, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: dashboardContentSecurityPolicy(props.apiOrigin),
          override: true,
        },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    // 4. The distribution: HTTPS only, GET and HEAD only, through origin access control.
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Eddy dashboard',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // North America and Europe edges: the dashboard is an operator's tool, not a public site.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;
    this.acknowledgeDistributionFindings();

    // 5. The files, copied at deploy time by CDK's BucketDeployment (a Lambda-backed custom resource; no
    //    Docker). Its function gets a role of its own (no managed policy) and an encrypted log group.
    const deployLogs = new logs.LogGroup(this, 'DeployLogs', { retention: LOG_RETENTION, encryptionKey: props.logKey });
    const deployRole = new iam.Role(this, 'DeployRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Eddy dashboard: copies the dashboard files into its bucket and invalidates the distribution',
    });
    deployLogs.grantWrite(deployRole);
    const config: DashboardConfig = { apiUrl: props.apiUrl };
    new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      sources: [
        s3deploy.Source.asset(DASHBOARD_DIR),
        ...Object.entries(DASHBOARD_VENDOR_FILES).map(([key, file]) =>
          s3deploy.Source.data(key, readFileSync(file, 'utf8')),
        ),
        s3deploy.Source.jsonData(DASHBOARD_CONFIG_FILE, config),
      ],
      // Files no longer in dashboard/ are removed; each deployment invalidates the cached copies.
      prune: true,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      role: deployRole,
      logGroup: deployLogs,
    });
    this.acknowledgeDeploymentFindings(deployRole);
  }

  private acknowledgeDistributionFindings(): void {
    const distribution = Validations.of(this.distribution);
    distribution.acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction: operators may work from anywhere; the files are static and hold no data or credentials (the API key is entered in the browser and checked by the API).',
    });
    distribution.acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'No WAF web ACL: the distribution serves a handful of static files from a private bucket, GET and HEAD only, and a web ACL would add a fixed monthly cost to a pay-per-use pipeline. The data is behind the API, which authenticates every call.',
    });
    distribution.acknowledge({
      id: 'AwsSolutions-CFR4',
      reason:
        "The distribution uses CloudFront's default *.cloudfront.net certificate, with which CloudFront does not let the minimum viewer TLS version be set; a custom domain with its own ACM certificate would set TLSv1.2_2021.",
    });
  }

  /** The grants BucketDeployment adds to the role it is given, as cdk-nag names them. */
  private acknowledgeDeploymentFindings(role: iam.Role): void {
    const findings: Record<string, string> = {
      'Action::s3:GetObject*':
        'Granted by BucketDeployment: reads the zipped dashboard files from the CDK asset bucket and the objects of the dashboard bucket it syncs.',
      'Action::s3:GetBucket*':
        'Granted by BucketDeployment: reads the location and settings of the CDK asset bucket and the dashboard bucket, those two only.',
      'Action::s3:List*':
        'Granted by BucketDeployment: lists the CDK asset bucket and the dashboard bucket (those two only) to copy and prune.',
      'Action::s3:DeleteObject*':
        'Granted by BucketDeployment on the dashboard bucket only: removes files no longer in dashboard/ (prune).',
      'Action::s3:Abort*':
        'Granted by BucketDeployment on the dashboard bucket only: aborts its own failed multipart uploads.',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*':
        "The objects of CDK's bootstrap asset bucket, where the deployment's source zips are uploaded; read only.",
      'Resource::<DashboardContentD175311E.Arn>/*': 'The objects of the dashboard bucket, which this deployment owns.',
      'Resource::*':
        "cloudfront:CreateInvalidation and cloudfront:GetInvalidation, granted by BucketDeployment without a resource; the function runs only as this stack's custom resource, which names the dashboard distribution.",
    };
    for (const [finding, reason] of Object.entries(findings)) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    }
    // The custom resource's function is a singleton of the stack, not a child of the deployment.
    const handler = Stack.of(this).node.findChild(BUCKET_DEPLOYMENT_HANDLER_ID);
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "CDK's BucketDeployment function: aws-cdk-lib chooses its Python runtime (to match the AWS CLI layer it bundles) and moves it forward with aws-cdk-lib upgrades; this app cannot set it.",
    });
  }
}
